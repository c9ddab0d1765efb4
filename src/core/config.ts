/**
 * The connector's config: validated against spec.json (ajv, defaults filled), then the rules a schema
 * cannot say (real dates, plain http only to loopback). Every problem is a ConfigError naming the field
 * and the fix. Secrets are registered for masking before anything else happens.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { toCursor } from './dates.js';
import { ConfigError } from './errors.js';
import { isObject, readJsonFile, type JsonObject } from './json.js';
import { addSecret } from './secrets.js';
import { loadSpec } from './spec-file.js';

export interface Config {
  email: string;
  password: string;
  site_id: string;
  survey_ids: string[];
  /** Cursor form (UTC), when given. */
  start_date?: string;
  base_url: string;
  max_attempts: number;
  max_retry_wait_seconds: number;
  request_timeout_seconds: number;
  request_deadline_seconds: number;
  max_export_bytes: number;
  max_export_ratio: number;
  max_field_bytes: number;
  heartbeat_seconds: number;
}

/** Reads and validates the config file. */
export function loadConfig(path: string): Config {
  return parseConfig(readJsonFile(path, 'config', { secret: true }), path);
}

let validator: ValidateFunction | undefined;

export function parseConfig(raw: unknown, path = 'config'): Config {
  if (!isObject(raw)) throw new ConfigError(`The config file ${path} must hold a JSON object.`);
  const spec = loadSpec();
  for (const key of secretKeys(spec)) addSecret(raw[key]);
  const config: JsonObject = { ...raw };
  // A JSON number is accepted for ids: Hotjar shows them as numbers, people paste them as numbers.
  if (isWholeNumber(config['site_id'])) config['site_id'] = String(config['site_id']);
  if (Array.isArray(config['survey_ids'])) {
    config['survey_ids'] = config['survey_ids'].map((id: unknown) => (isWholeNumber(id) ? String(id) : id));
  }
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false, validateFormats: false }).compile(spec);
  if (!validator(config)) {
    throw new ConfigError(
      `The config file ${path} is invalid: ${describeErrors(validator.errors ?? [])}. Fix these fields (see \`spec\` for what each one takes).`,
    );
  }
  // ajv checked every field's type against spec.json, whose properties are this interface's.
  const result = config as unknown as Config;
  if (result.start_date !== undefined) {
    const cursor = toCursor(result.start_date);
    if (cursor === undefined) {
      throw new ConfigError(
        `The config field "start_date" (${result.start_date}) is not a real date of years 1970–9999. Use YYYY-MM-DD or an ISO 8601 date-time such as 2024-01-31T12:00:00Z.`,
      );
    }
    result.start_date = cursor;
  }
  result.base_url = checkBaseUrl(result.base_url);
  return result;
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Plain http only to a loopback host (a local stand-in); a password must never travel in clear text. */
export function checkBaseUrl(value: string, field = 'base_url'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`The config field "${field}" (${value}) is not a URL. Use https://insights.hotjar.com/api or leave it out.`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `The config field "${field}" uses plain http:// for ${url.hostname}: credentials would travel unencrypted. Use https:// (plain http is allowed only for a loopback stand-in such as 127.0.0.1).`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`The config field "${field}" must be an https:// URL.`);
  }
  return value.replace(/\/+$/, '');
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function secretKeys(spec: JsonObject): string[] {
  const props = isObject(spec['properties']) ? spec['properties'] : {};
  return Object.keys(props).filter((key) => {
    const prop = props[key];
    return isObject(prop) && prop['airbyte_secret'] === true;
  });
}

/** ajv's errors as one sentence per field. */
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
      if (field.startsWith('survey_ids') || field === 'site_id') what = 'must be a numeric ID (digits only, no leading zeros)';
      else if (field === 'base_url') what = 'must be an https:// URL';
      else if (field === 'start_date') what = 'must be YYYY-MM-DD or an ISO 8601 date-time such as 2024-01-31T12:00:00Z';
    }
    lines.add(`"${field}" ${what}`);
  }
  return [...lines].join('; ');
}
