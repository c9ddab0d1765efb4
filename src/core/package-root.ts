import { fileURLToPath } from 'node:url';

/**
 * The package root (holds spec.json and catalog/). Source files live in src/<layer>/ and build output
 * mirrors them in dist/<layer>/, so the root is two levels up from either.
 */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
