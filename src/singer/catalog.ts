/**
 * The survey_responses stream as a Singer catalog entry (discover), and the reading of the catalog a
 * Singer runner hands back (--catalog, or the legacy --properties): is the stream selected, and how.
 */
import { ConfigError } from '../errors.js';
import type { JsonObject } from '../protocol/messages.js';
import { CURSOR_FIELD } from '../stream/cursor.js';
import { PRIMARY_KEY, STREAM_NAME, streamSchema } from '../stream/schema.js';

export const KEY_PROPERTIES: string[] = PRIMARY_KEY.map((path) => path.join('.'));
export const REPLICATION_KEY = CURSOR_FIELD;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stream's JSON schema for Singer: the discovered schema without `$schema` (targets validate with Draft 4). */
export function singerSchema(): JsonObject {
  const schema = streamSchema(); // a fresh copy on each call
  delete schema['$schema'];
  return schema;
}

export function singerCatalog(): { streams: JsonObject[] } {
  const schema = singerSchema();
  const automatic = new Set([...KEY_PROPERTIES, REPLICATION_KEY]);
  const properties = Object.keys((schema['properties'] ?? {}) as Obj);
  return {
    streams: [
      {
        tap_stream_id: STREAM_NAME,
        stream: STREAM_NAME,
        schema,
        key_properties: KEY_PROPERTIES,
        replication_key: REPLICATION_KEY,
        replication_method: 'INCREMENTAL',
        metadata: [
          {
            breadcrumb: [],
            metadata: {
              inclusion: 'available',
              'selected-by-default': true,
              'table-key-properties': KEY_PROPERTIES,
              'valid-replication-keys': [REPLICATION_KEY],
              'forced-replication-method': 'INCREMENTAL',
            },
          },
          ...properties.map((name) => ({
            breadcrumb: ['properties', name],
            metadata: { inclusion: automatic.has(name) ? 'automatic' : 'available' },
          })),
        ],
      },
    ],
  };
}

export interface StreamSelection {
  selected: boolean;
  incremental: boolean;
}

/** Without a catalog the stream is synced incrementally, as most taps do (and `tap-hotjar --config c` is useful alone). */
export const NO_CATALOG: StreamSelection = { selected: true, incremental: true };

const FIX =
  'Pass the catalog printed by `tap-hotjar --config CONFIG --discover`, with "selected": true in the metadata of breadcrumb [] of survey_responses.';

/** Reads a Singer catalog: whether survey_responses is selected and whether it is read incrementally. */
export function parseSingerCatalog(raw: unknown, path = 'catalog'): StreamSelection {
  if (!isObj(raw) || !Array.isArray(raw['streams'])) throw new ConfigError(`The catalog file ${path} has no "streams" array. ${FIX}`);
  let found: Obj | undefined;
  raw['streams'].forEach((entry: unknown, i: number) => {
    const id = isObj(entry) ? (entry['tap_stream_id'] ?? entry['stream']) : undefined;
    if (!isObj(entry) || typeof id !== 'string') throw new ConfigError(`The catalog file ${path}: streams[${i}] has no "tap_stream_id". ${FIX}`);
    if (id === STREAM_NAME) {
      if (found) throw new ConfigError(`The catalog file ${path} lists the stream "${id}" twice.`);
      found = entry;
    } else if (isSelected(entry, path)) {
      throw new ConfigError(
        `The catalog file ${path} selects the stream "${id}", which this tap does not have. Available: ${STREAM_NAME}. Run --discover and use its streams.`,
      );
    }
  });
  if (!found) return { selected: false, incremental: true };
  return { selected: isSelected(found, path), incremental: replicationMethod(found, path) === 'INCREMENTAL' };
}

/** The metadata of breadcrumb [] (the stream itself), or {}. */
function streamMetadata(entry: Obj, path: string): Obj {
  const list = entry['metadata'] ?? [];
  if (!Array.isArray(list)) throw new ConfigError(`The catalog file ${path}: "metadata" must be an array of {breadcrumb, metadata}. ${FIX}`);
  const root: unknown = list.find((m) => isObj(m) && Array.isArray(m['breadcrumb']) && m['breadcrumb'].length === 0);
  return isObj(root) && isObj(root['metadata']) ? root['metadata'] : {};
}

/** `selected` in the breadcrumb [] metadata, else the legacy stream-level `selected`; absent means not selected. */
function isSelected(entry: Obj, path: string): boolean {
  const selected = streamMetadata(entry, path)['selected'] ?? entry['selected'];
  return selected === true;
}

/** The runner's choice (`replication-method` metadata, else `replication_method`); INCREMENTAL by default. */
function replicationMethod(entry: Obj, path: string): 'INCREMENTAL' | 'FULL_TABLE' {
  const method = streamMetadata(entry, path)['replication-method'] ?? entry['replication_method'] ?? 'INCREMENTAL';
  if (method === 'INCREMENTAL' || method === 'FULL_TABLE') return method;
  throw new ConfigError(
    `The catalog file ${path}: the replication method of ${STREAM_NAME} is ${JSON.stringify(method)}; this tap supports "INCREMENTAL" and "FULL_TABLE".`,
  );
}
