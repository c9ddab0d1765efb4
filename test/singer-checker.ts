/**
 * What a real Singer target enforces on a tap's stdout, as one function (throws on the first breach):
 * - every line is a JSON object with a known "type" (SCHEMA, RECORD, STATE; ACTIVATE_VERSION is passed over);
 * - SCHEMA has stream, schema, key_properties; the schema is a Draft 4 schema (targets validate with
 *   Draft4Validator, which silently ignores Draft 6+ keywords, so relying on one is an error here);
 *   key and bookmark properties are among its properties;
 * - a stream's SCHEMA comes before its first RECORD; each RECORD is valid against the stream's latest
 *   SCHEMA (format date-time: ISO 8601, zone optional) and carries every key property (not null);
 * - time_extracted, when present, is an RFC 3339 date-time with a zone;
 * - every STATE has value.bookmarks, and the last message is a STATE (what the runner saves).
 */
import { Ajv, type ValidateFunction } from 'ajv';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface SchemaMessage {
  type: 'SCHEMA';
  stream: string;
  schema: Obj;
  key_properties: string[];
  bookmark_properties?: string[];
}

export interface RecordMessage {
  type: 'RECORD';
  stream: string;
  record: Obj;
  time_extracted?: string;
}

export interface CheckedOutput {
  /** RECORD payloads, in order. */
  records: Obj[];
  /** RECORD messages (stream, time_extracted…), in order. */
  recordMessages: RecordMessage[];
  /** STATE values, in order. */
  states: { bookmarks: Obj; [key: string]: unknown }[];
  schemas: SchemaMessage[];
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/** ISO 8601 date-time, zone optional (Hotjar's timestamps have none), with a real calendar date. */
export function isDateTime(value: string, zoneRequired = false): boolean {
  const m = DATE_TIME.exec(value);
  if (!m || (zoneRequired && m[8] === undefined)) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59;
}

const DRAFT4_TYPES = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']);
const LATER_KEYWORDS = [
  'const',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
  '$defs',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'unevaluatedItems',
  'prefixItems',
  'minContains',
  'maxContains',
];

/**
 * Checks `schema` uses Draft 4 only, and returns a copy ajv (Draft 7 engine) evaluates as Draft 4 would:
 * no $schema, and Draft 4's boolean exclusiveMinimum/Maximum rewritten to the numeric form.
 */
export function draft4(schema: unknown, where = '#'): unknown {
  if (!isObj(schema)) throw new Error(`${where}: a Draft 4 schema must be an object (boolean schemas are Draft 6+)`);
  const out: Obj = { ...schema };
  delete out['$schema'];
  for (const k of LATER_KEYWORDS) if (k in schema) throw new Error(`${where}: "${k}" is not Draft 4; a Singer target would ignore it`);
  for (const [k, base] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (!(k in schema)) continue;
    if (typeof schema[k] !== 'boolean') throw new Error(`${where}: numeric "${k}" is Draft 6+; Draft 4 takes a boolean next to "${base}"`);
    delete out[k];
    if (schema[k] === true) {
      out[k] = schema[base];
      delete out[base];
    }
  }
  const types = schema['type'] === undefined ? [] : Array.isArray(schema['type']) ? schema['type'] : [schema['type']];
  for (const t of types) if (!DRAFT4_TYPES.has(t as string)) throw new Error(`${where}: type ${JSON.stringify(t)} is not a Draft 4 type`);
  if (Array.isArray(schema['required']) && schema['required'].length === 0)
    throw new Error(`${where}: Draft 4 "required" must not be empty`);
  for (const k of ['properties', 'patternProperties', 'definitions', 'dependencies']) {
    const map = schema[k];
    if (!isObj(map)) continue;
    out[k] = Object.fromEntries(
      Object.entries(map).map(([name, sub]) => [
        name,
        k === 'dependencies' && Array.isArray(sub) ? sub : draft4(sub, `${where}/${k}/${name}`),
      ]),
    );
  }
  for (const k of ['additionalProperties', 'additionalItems', 'items', 'not']) {
    if (isObj(schema[k])) out[k] = draft4(schema[k], `${where}/${k}`);
  }
  for (const k of ['items', 'allOf', 'anyOf', 'oneOf']) {
    const list = schema[k];
    if (Array.isArray(list)) out[k] = list.map((sub, i) => draft4(sub, `${where}/${k}/${i}`));
  }
  return out;
}

function compile(schema: Obj): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, formats: { 'date-time': (s: string) => isDateTime(s) } });
  return ajv.compile(draft4(schema) as Obj);
}

export function checkSingerOutput(stdout: string): CheckedOutput {
  const result: CheckedOutput = { records: [], recordMessages: [], states: [], schemas: [] };
  const streams = new Map<string, { message: SchemaMessage; validate: ValidateFunction }>();
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  else if (lines.length) throw new Error('stdout does not end with a newline: the last line is partial');
  let last: string | undefined;
  lines.forEach((line, i) => {
    const at = `line ${i + 1}`;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      throw new Error(`${at} is not JSON: ${line.slice(0, 200)}`);
    }
    if (!isObj(message)) throw new Error(`${at} is not a JSON object`);
    const type = message['type'];
    last = type as string;
    if (type === 'SCHEMA') {
      const { stream, schema, key_properties: keys, bookmark_properties: bookmarks } = message;
      if (typeof stream !== 'string') throw new Error(`${at}: SCHEMA without "stream"`);
      if (!isObj(schema)) throw new Error(`${at}: SCHEMA of ${stream} without a "schema" object`);
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
        throw new Error(`${at}: SCHEMA of ${stream} without a "key_properties" array of names`);
      if (bookmarks !== undefined && (!Array.isArray(bookmarks) || !bookmarks.every((k) => typeof k === 'string'))) {
        throw new Error(`${at}: SCHEMA of ${stream}: "bookmark_properties" must be an array of names`);
      }
      const props = isObj(schema['properties']) ? schema['properties'] : {};
      for (const k of [...keys, ...(bookmarks ?? [])]) {
        if (!(k in props))
          throw new Error(`${at}: SCHEMA of ${stream}: "${k}" is a key or bookmark property but not in the schema's properties`);
      }
      let validate: ValidateFunction;
      try {
        validate = compile(schema);
      } catch (err) {
        throw new Error(`${at}: SCHEMA of ${stream}: ${(err as Error).message}`);
      }
      const msg = message as unknown as SchemaMessage;
      streams.set(stream, { message: msg, validate });
      result.schemas.push(msg);
    } else if (type === 'RECORD') {
      const { stream, record, time_extracted: extracted } = message;
      if (typeof stream !== 'string') throw new Error(`${at}: RECORD without "stream"`);
      if (!isObj(record)) throw new Error(`${at}: RECORD of ${stream} without a "record" object`);
      const known = streams.get(stream);
      if (!known) throw new Error(`${at}: RECORD of ${stream} before any SCHEMA of it`);
      if (!known.validate(record)) {
        throw new Error(
          `${at}: RECORD of ${stream} does not match its SCHEMA: ${JSON.stringify(known.validate.errors)} in ${JSON.stringify(record).slice(0, 300)}`,
        );
      }
      for (const k of known.message.key_properties) {
        if (record[k] === undefined || record[k] === null)
          throw new Error(`${at}: RECORD of ${stream} has no value for key property "${k}"`);
      }
      if (extracted !== undefined && (typeof extracted !== 'string' || !isDateTime(extracted, true))) {
        throw new Error(`${at}: RECORD of ${stream}: time_extracted ${JSON.stringify(extracted)} is not an RFC 3339 date-time with a zone`);
      }
      result.records.push(record);
      result.recordMessages.push(message as unknown as RecordMessage);
    } else if (type === 'STATE') {
      const value = message['value'];
      if (!isObj(value)) throw new Error(`${at}: STATE without a "value" object`);
      if (!isObj(value['bookmarks'])) throw new Error(`${at}: STATE without value.bookmarks`);
      result.states.push(value as CheckedOutput['states'][number]);
    } else if (type !== 'ACTIVATE_VERSION') {
      throw new Error(`${at}: unknown message type ${JSON.stringify(type)}`);
    }
  });
  if (last !== 'STATE')
    throw new Error(`the last message is ${last === undefined ? 'missing' : last}, not a STATE: the runner would save no bookmark`);
  return result;
}
