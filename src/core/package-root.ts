import { fileURLToPath } from 'node:url';

/** The package root (holds spec.json and catalog/), both from src/ under vitest and from dist/src/ when built. */
const here = fileURLToPath(new URL('.', import.meta.url));
export const packageRoot = here.includes('/dist/src/') || here.endsWith('/dist/src/')
  ? fileURLToPath(new URL('../../', import.meta.url))
  : fileURLToPath(new URL('../', import.meta.url));
