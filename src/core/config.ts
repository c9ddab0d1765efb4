/**
 * Loading and validating the files a user hands us: config (against spec.json), configured catalog and
 * state. Every problem becomes a ConfigError that names the file, the field and the fix.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { addSecret } from './secrets.js';
import type { JsonObject } from './messages.js';

/** Config, catalog and state files are small; anything larger is a mistake (or hostile). */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;

export interface Config {
  email: string;
  password: string;
  site_id: string;
  survey_ids: string[];
  start_date?: string;
  base_url: string;
  max_attempts: number;
  max_retry_wait_seconds: number;
  request_timeout_seconds: number;
}

export type SyncMode = 'full_refresh' | 'incremental';

export interface ConfiguredStream {
  name: string;
  syncMode: SyncMode;
}

let specCache: JsonObject | undefined;
export function loadSpec(): JsonObject {
  specCache ??= JSON.parse(readFileSync(join(packageRoot, 'spec.json'), 'utf8')) as JsonObject;
  return specCache;
}

/**
 * Reads a JSON file. `allowEmpty` turns an empty (or whitespace-only) file into `undefined`.
 */
export function readJsonFile(path: string, what: string, allowEmpty = false): unknown {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ConfigError(`The ${what} file ${path} is not a regular file. Pass the path of a JSON file.`);
    size = stat.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(`The ${what} file ${path} ${why}. Check the path and the file's permissions.`, { cause: err });
  }
  if (size > MAX_INPUT_BYTES) {
    throw new ConfigError(
      `The ${what} file ${path} is ${size} bytes, more than the ${MAX_INPUT_BYTES} bytes allowed. Pass the right file.`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`The ${what} file ${path} cannot be read (${code ?? 'error'}). Check its permissions.`, { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    if (allowEmpty) return undefined;
    throw new ConfigError(`The ${what} file ${path} is empty. It must hold a JSON object.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message quotes the text around the error; a config file holds the password, so for it
    // only the line and column are given.
    const detail = what === 'config' ? jsonErrorPlace(text) : err instanceof Error ? err.message : String(err);
    throw new ConfigError(`The ${what} file ${path} is not valid JSON (${detail}). Fix the file's syntax.`);
  }
}

/** Where JSON.parse gives up, as "line L, column C", found without quoting the text. */
function jsonErrorPlace(text: string): string {
  // Shrink the prefix that still parses as "incomplete" vs "invalid": the first offset at which no
  // completion could make the text valid is found by trying to parse each prefix closed off.
  let lo = 0;
  let hi = text.length;
  const fails = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      return !/end of (JSON )?input|Unterminated|Expected .* after|Unexpected end/i.test(String(e));
    }
  };
  if (!fails(hi)) return 'unexpected end of file';
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(mid + 1)) hi = mid;
    else lo = mid + 1;
  }
  const before = text.slice(0, lo);
  const line = before.split('\n').length;
  const column = lo - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function secretKeys(spec: JsonObject): string[] {
  const props = (spec['properties'] ?? {}) as Record<string, JsonObject>;
  return Object.keys(props).filter((key) => props[key]?.['airbyte_secret'] === true);
}

/** Turns ajv's errors into one sentence per field. */
function describeErrors(errors: ErrorObject[]): string {
  const lines = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'required') {
      lines.add(`"${String(e.params['missingProperty'])}" is required but missing`);
      continue;
    }
    const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
    let what = e.message ?? 'is invalid';
    if (e.keyword === 'pattern') {
      what = field.startsWith('survey_ids') || field === 'site_id'
        ? 'must be a numeric ID (digits only)'
        : field === 'base_url'
          ? 'must be an http:// or https:// URL'
          : field === 'start_date'
            ? 'must be YYYY-MM-DD or an ISO 8601 date-time such as 2024-01-31T12:00:00Z'
            : what;
    }
    lines.add(`"${field}" ${what}`);
  }
  return [...lines].join('; ');
}

let configValidator: ReturnType<Ajv['compile']> | undefined;

/** Validates the config against spec.json, fills defaults and normalises ids. */
export function parseConfig(raw: unknown, path = 'config'): Config {
  if (!isObject(raw)) throw new ConfigError(`The config file ${path} must hold a JSON object.`);
  const spec = loadSpec();
  for (const key of secretKeys(spec)) addSecret(raw[key]);
  const config: JsonObject = { ...raw };
  // A JSON number is accepted for ids: Hotjar shows them as numbers, people paste them as numbers.
  if (typeof config['site_id'] === 'number' && Number.isSafeInteger(config['site_id']) && config['site_id'] >= 0) {
    config['site_id'] = String(config['site_id']);
  }
  if (Array.isArray(config['survey_ids'])) {
    config['survey_ids'] = config['survey_ids'].map((id: unknown) =>
      typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? String(id) : id,
    );
  }
  if (!configValidator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    configValidator = ajv.compile(spec);
  }
  if (!configValidator(config)) {
    throw new ConfigError(
      `The config file ${path} is invalid: ${describeErrors(configValidator.errors ?? [])}. Fix these fields (see \`spec\` for what each one takes).`,
    );
  }
  const result = config as unknown as Config;
  if (result.start_date !== undefined) result.start_date = normaliseStartDate(result.start_date);
  result.base_url = result.base_url.replace(/\/+$/, '');
  return result;
}

/**
 * A start date or date-time becomes the cursor form of the file's `Date Submitted`, `YYYY-MM-DDTHH:MM:SS`,
 * in UTC (Hotjar's timestamps carry no zone and are taken as UTC).
 */
export function normaliseStartDate(value: string): string {
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  const iso = dateOnly ? `${value}T00:00:00Z` : withZone ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  const check = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  const d = new Date(ms);
  if (
    Number.isNaN(ms) ||
    (!withZone && check && (d.getUTCFullYear() !== Number(check[1]) || d.getUTCMonth() + 1 !== Number(check[2]) || d.getUTCDate() !== Number(check[3])))
  ) {
    throw new ConfigError(`The config field "start_date" (${value}) is not a real date. Use YYYY-MM-DD or an ISO 8601 date-time.`);
  }
  return d.toISOString().slice(0, 19);
}

/** Reads and validates a ConfiguredAirbyteCatalog; returns the streams it selects. */
export function parseCatalog(raw: unknown, knownStreams: readonly string[], path = 'catalog'): ConfiguredStream[] {
  const fix = 'Pass a ConfiguredAirbyteCatalog: {"streams": [{"stream": {"name": "survey_responses", ...}, "sync_mode": "incremental", "destination_sync_mode": "append"}]}.';
  if (!isObject(raw) || !Array.isArray(raw['streams'])) {
    throw new ConfigError(`The catalog file ${path} has no "streams" array. ${fix}`);
  }
  const result: ConfiguredStream[] = [];
  raw['streams'].forEach((entry: unknown, i: number) => {
    const stream = isObject(entry) ? entry['stream'] : undefined;
    const name = isObject(stream) ? stream['name'] : undefined;
    if (typeof name !== 'string') throw new ConfigError(`The catalog file ${path}: streams[${i}].stream.name is missing. ${fix}`);
    if (!knownStreams.includes(name)) {
      throw new ConfigError(
        `The catalog file ${path} selects the stream "${name}", which this source does not have. Available: ${knownStreams.join(', ')}. Run discover and use its stream names.`,
      );
    }
    const syncMode = (entry as JsonObject)['sync_mode'] ?? 'full_refresh';
    if (syncMode !== 'full_refresh' && syncMode !== 'incremental') {
      throw new ConfigError(`The catalog file ${path}: streams[${i}].sync_mode must be "full_refresh" or "incremental", not ${JSON.stringify(syncMode)}.`);
    }
    if (result.some((s) => s.name === name)) throw new ConfigError(`The catalog file ${path} lists the stream "${name}" twice.`);
    result.push({ name, syncMode });
  });
  return result;
}
