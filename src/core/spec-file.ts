/** The one place that reads spec.json (the config's JSON schema). No validation library: `spec` must start fast. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from './json.js';
import { packageRoot } from './package-root.js';

let cache: string | undefined;

/** A fresh copy of spec.json's schema on each call. */
export function loadSpec(): JsonObject {
  cache ??= readFileSync(join(packageRoot, 'spec.json'), 'utf8');
  return JSON.parse(cache) as JsonObject;
}
