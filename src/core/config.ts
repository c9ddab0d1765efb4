/**
 * The connector's config: validated against spec.json (ajv, defaults filled), then the rules a schema
 * cannot say (which credentials were given, real dates, plain http only to loopback, numeric survey ids
 * for the internal API). Every problem is a ConfigError naming the field and the fix. Secrets (every
 * `airbyte_secret` of spec.json, nested ones inside `credentials` too) are registered for masking before
 * anything else happens.
 *
 * Two ways in, one shape after parsing: `credentials` is `{"auth_type": "api_key", client_id,
 * client_secret}` or `{"auth_type": "password", email, password}`. Configs written before `credentials`
 * existed, with top-level `email` and `password`, are normalised into the second form. When both are
 * given, `credentials` wins (a platform may keep the old hidden keys after the user picks a way in).
 * The spec cannot say "credentials, or email and password" (Airbyte's acceptance tests forbid anyOf), so
 * that rule is checked here, with a message naming what is missing.
 */
import type { ErrorObject } from 'ajv';
import { validate as validateGenerated } from './config-validator.generated.js';
import { toCursor } from './dates.js';
import { ConfigError } from './errors.js';
import { isObject, readJsonFile, type JsonObject } from './json.js';
import { addSecret } from './secrets.js';
import { loadSpec } from './spec-file.js';

export interface ApiKeyCredentials {
  auth_type: 'api_key';
  client_id: string;
  client_secret: string;
}

export interface PasswordCredentials {
  auth_type: 'password';
  email: string;
  password: string;
}

export type Credentials = ApiKeyCredentials | PasswordCredentials;
export type AuthType = Credentials['auth_type'];

export interface Config {
  credentials: Credentials;
  site_id: string;
  /** Empty: every survey of the site (auto-discovery). */
  survey_ids: string[];
  /** Cursor form (UTC), when given. */
  start_date?: string;
  base_url: string;
  /** Hotjar's official API (API-key mode). */
  api_base_url: string;
  max_attempts: number;
  max_retry_wait_seconds: number;
  request_timeout_seconds: number;
  request_deadline_seconds: number;
  max_export_bytes: number;
  max_export_ratio: number;
  max_field_bytes: number;
  heartbeat_seconds: number;
  max_concurrent_surveys: number;
  /** API-key mode's request-rate cap (api/rate-limit.ts). */
  max_requests_per_second: number;
}

/** Reads and validates the config file; `warn` hears of keys the connector does not know (ignored). */
export function loadConfig(path: string, warn?: (message: string) => void): Config {
  const raw = readJsonFile(path, 'config', { secret: true });
  const config = parseConfig(raw, path);
  const unknown = isObject(raw) ? unknownConfigKeys(raw) : [];
  if (unknown.length && warn) {
    const named = unknown.map(({ key, like }) => `${JSON.stringify(key)}${like ? ` (did you mean ${JSON.stringify(like)}?)` : ''}`);
    warn(`The config file ${path} has key${unknown.length > 1 ? 's' : ''} this connector does not know, ignored: ${named.join(', ')}.`);
  }
  return config;
}

/** Top-level keys spec.json does not declare, each with the declared key it most likely meant. */
export function unknownConfigKeys(raw: JsonObject): { key: string; like: string | undefined }[] {
  const properties = loadSpec()['properties'];
  const known = isObject(properties) ? Object.keys(properties) : [];
  const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return Object.keys(raw)
    .filter((key) => !known.includes(key))
    .slice(0, 10)
    .map((key) => {
      let like: string | undefined;
      let best = 3; // at most 2 edits away, once case and separators are set aside
      for (const k of known) {
        const d = editDistance(squash(key), squash(k));
        if (d < best) [best, like] = [d, k];
      }
      return { key: key.slice(0, 60), like };
    });
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * spec.json's validator, compiled ahead of time by ajv (devtools/config-validator.ts; all errors,
 * defaults filled, no formats), so that ajv's compiler is neither loaded nor run at start-up.
 */
const validator = validateGenerated as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export function parseConfig(raw: unknown, path = 'config'): Config {
  if (!isObject(raw)) throw new ConfigError(`The config file ${path} must hold a JSON object.`);
  const spec = loadSpec();
  for (const secretPath of secretPaths(spec)) addSecret(valueAt(raw, secretPath));
  const config: JsonObject = { ...raw };
  // A JSON number is accepted for ids: Hotjar shows them as numbers, people paste them as numbers.
  if (isWholeNumber(config['site_id'])) config['site_id'] = String(config['site_id']);
  if (Array.isArray(config['survey_ids'])) {
    config['survey_ids'] = config['survey_ids'].map((id: unknown) => (isWholeNumber(id) ? String(id) : id));
  }
  const valid = validator(config);
  const authType = isObject(config['credentials']) ? config['credentials']['auth_type'] : undefined;
  // ajv's oneOf errors list every branch; the credentials check below says what is wrong in plain words.
  const problems = (valid ? [] : (validator.errors ?? [])).filter((e) => !isCredentialsError(e) || isBranchError(e, authType));
  const lines = [...credentialProblems(config), ...describeErrors(problems), ...surveyIdProblems(config)];
  if (lines.length) {
    throw new ConfigError(
      `The config file ${path} is invalid: ${[...new Set(lines)].join('; ')}. Fix these fields (\`source-hotjar spec\` or \`tap-hotjar --about\` says what each one takes).`,
    );
  }
  normaliseCredentials(config);
  config['survey_ids'] ??= [];
  // ajv checked every field's type against spec.json, whose properties are this interface's, and
  // normaliseCredentials built `credentials` from whichever form was given.
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
  result.api_base_url = checkBaseUrl(result.api_base_url, 'api_base_url');
  return result;
}

const CREDENTIAL_FIELDS: Record<AuthType, readonly [string, string]> = {
  api_key: ['client_id', 'client_secret'],
  password: ['email', 'password'],
};

/** What is wrong with the credentials given (either form), as "field" sentences; empty when fine. */
function credentialProblems(config: JsonObject): string[] {
  const creds = config['credentials'];
  if (creds === undefined || creds === null) {
    const hasEmail = config['email'] !== undefined;
    const hasPassword = config['password'] !== undefined;
    if (!hasEmail && !hasPassword) {
      return [
        '"credentials" is required but missing (an API key, {"auth_type": "api_key", "client_id": …, "client_secret": …}, or {"auth_type": "password", "email": …, "password": …})',
      ];
    }
    const lines: string[] = [];
    if (!hasEmail) lines.push('"email" is required but missing (or give "credentials" instead)');
    if (!hasPassword) lines.push('"password" is required but missing (or give "credentials" instead)');
    return lines;
  }
  if (!isObject(creds)) return ['"credentials" must be an object with "auth_type" "api_key" or "password"'];
  const type = creds['auth_type'];
  if (type !== 'api_key' && type !== 'password') {
    return [`"credentials.auth_type" must be "api_key" (client_id and client_secret) or "password" (email and password)`];
  }
  const lines: string[] = [];
  for (const field of CREDENTIAL_FIELDS[type]) {
    const value = creds[field];
    if (value === undefined) lines.push(`"credentials.${field}" is required but missing`);
    else if (typeof value !== 'string' || value === '') lines.push(`"credentials.${field}" must be a non-empty string`);
  }
  return lines;
}

function isCredentialsError(e: ErrorObject): boolean {
  return e.instancePath === '/credentials' || e.instancePath.startsWith('/credentials/');
}

/** An ajv error inside the oneOf branch the config chose (e.g. a too long client_id): worth showing. */
function isBranchError(e: ErrorObject, authType: unknown): boolean {
  const branch = authType === 'api_key' ? 0 : authType === 'password' ? 1 : -1;
  return e.instancePath.startsWith('/credentials/') && e.schemaPath.startsWith(`#/properties/credentials/oneOf/${branch}/`);
}

/** spec.json's pattern for survey ids: safe in a URL path whatever the API (no "/", no leading "."). */
const SURVEY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The internal API's survey ids are numbers (known); the official API's are opaque strings ([unknown]). */
function surveyIdProblems(config: JsonObject): string[] {
  const creds = config['credentials'];
  const passwordMode = !isObject(creds) || creds['auth_type'] === 'password';
  const ids = Array.isArray(config['survey_ids']) ? config['survey_ids'] : [];
  if (!passwordMode) return [];
  // Ids the spec's pattern refused were reported by ajv already.
  return ids.flatMap((id, i) =>
    typeof id !== 'string' || !SURVEY_ID.test(id) || /^[1-9][0-9]{0,19}$/.test(id)
      ? []
      : [`"survey_ids.${i}" must be a numeric ID (digits only, no leading zeros) when logging in with email and password`],
  );
}

/** Moves top-level email/password into `credentials` (unless credentials were given); drops the flat keys. */
function normaliseCredentials(config: JsonObject): void {
  const creds = config['credentials'];
  if (!isObject(creds)) {
    config['credentials'] = { auth_type: 'password', email: config['email'], password: config['password'] };
  } else {
    const type = creds['auth_type'] as AuthType;
    const [a, b] = CREDENTIAL_FIELDS[type];
    config['credentials'] = { auth_type: type, [a]: creds[a], [b]: creds[b] };
  }
  delete config['email'];
  delete config['password'];
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
    const usual = field === 'api_base_url' ? 'https://api.hotjar.io' : 'https://insights.hotjar.com/api';
    throw new ConfigError(`The config field "${field}" (${value}) is not a URL. Use ${usual} or leave it out.`);
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

/** The paths of every `airbyte_secret` property of a schema, inside objects and oneOf branches too. */
export function secretPaths(schema: JsonObject, prefix: readonly string[] = []): string[][] {
  const paths: string[][] = [];
  const props = isObject(schema['properties']) ? schema['properties'] : {};
  for (const [key, prop] of Object.entries(props)) {
    if (!isObject(prop)) continue;
    if (prop['airbyte_secret'] === true) paths.push([...prefix, key]);
    paths.push(...secretPaths(prop, [...prefix, key]));
  }
  const variants = Array.isArray(schema['oneOf']) ? schema['oneOf'] : [];
  for (const variant of variants) if (isObject(variant)) paths.push(...secretPaths(variant, prefix));
  return paths;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/** ajv's errors as one sentence per field. */
function describeErrors(errors: ErrorObject[]): string[] {
  const lines = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'required') {
      lines.add(`"${String(e.params['missingProperty'])}" is required but missing`);
      continue;
    }
    const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
    let what = e.message ?? 'is invalid';
    if (e.keyword === 'pattern') {
      if (field === 'site_id') what = 'must be a numeric ID (digits only, no leading zeros)';
      else if (field.startsWith('survey_ids'))
        what = 'must be an ID of letters, digits and . _ : - (it goes into a URL path), at most 128 characters';
      else if (field === 'base_url' || field === 'api_base_url') what = 'must be an https:// URL';
      else if (field === 'start_date') what = 'must be YYYY-MM-DD or an ISO 8601 date-time such as 2024-01-31T12:00:00Z';
    }
    lines.add(`"${field}" ${what}`);
  }
  return [...lines];
}
