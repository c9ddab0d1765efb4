/**
 * The streams as a Singer catalog (discover), and the reading of the catalog a Singer runner hands back
 * (--catalog, or the legacy --properties): which streams are selected, and how.
 */
import { ConfigError } from '../core/errors.js';
import { isObject, preview, type JsonObject } from '../core/json.js';
import { supportsIncremental, type StreamDefinition } from '../streams/stream.js';

/** A stream's JSON schema for Singer targets (Draft 4 validators): without `$schema`. */
export function singerSchema(definition: StreamDefinition, columns?: readonly string[]): JsonObject {
  const schema = definition.schema(columns);
  delete schema['$schema'];
  return schema;
}

export function keyProperties(definition: StreamDefinition): string[] {
  return definition.primaryKey.map((path) => path.join('.'));
}

export function singerCatalogEntry(definition: StreamDefinition, columns?: readonly string[]): JsonObject {
  const schema = singerSchema(definition, columns);
  const keys = keyProperties(definition);
  const properties = Object.keys(isObject(schema['properties']) ? schema['properties'] : {});
  const propertyMetadata = (automatic: Set<string>): JsonObject[] =>
    properties.map((name) => ({
      breadcrumb: ['properties', name],
      metadata: { inclusion: automatic.has(name) ? 'automatic' : 'available' },
    }));
  if (!supportsIncremental(definition)) {
    // The surveys stream: a full table, no replication key.
    return {
      tap_stream_id: definition.name,
      stream: definition.name,
      schema,
      key_properties: keys,
      replication_method: 'FULL_TABLE',
      metadata: [
        {
          breadcrumb: [],
          metadata: {
            inclusion: 'available',
            'selected-by-default': definition.selectedByDefault,
            'table-key-properties': keys,
            'forced-replication-method': 'FULL_TABLE',
          },
        },
        ...propertyMetadata(new Set(keys)),
      ],
    };
  }
  const replicationKey = definition.cursorField.join('.');
  return {
    tap_stream_id: definition.name,
    stream: definition.name,
    schema,
    key_properties: keys,
    replication_key: replicationKey,
    replication_method: 'INCREMENTAL',
    metadata: [
      {
        breadcrumb: [],
        metadata: {
          inclusion: 'available',
          'selected-by-default': definition.selectedByDefault,
          'table-key-properties': keys,
          'valid-replication-keys': [replicationKey],
        },
      },
      ...propertyMetadata(new Set([...keys, replicationKey])),
    ],
  };
}

export interface StreamSelection {
  name: string;
  incremental: boolean;
  declared: ReadonlySet<string> | undefined;
  /**
   * Properties the catalog deselects ("selected": false in their ["properties", name] metadata): left out
   * of SCHEMA and RECORDs. A stream's key properties and replication key are always synced.
   */
  deselected: ReadonlySet<string>;
}

const FIX =
  'Pass the catalog printed by `tap-hotjar --config CONFIG --discover`, with "selected": true in the metadata of breadcrumb [] of each stream to sync.';

/** The selected streams of a Singer catalog. */
export function parseSingerCatalog(raw: unknown, known: readonly string[], path = 'catalog'): StreamSelection[] {
  if (!isObject(raw) || !Array.isArray(raw['streams'])) throw new ConfigError(`The catalog file ${path} has no "streams" array. ${FIX}`);
  const seen = new Set<string>();
  const selected: StreamSelection[] = [];
  raw['streams'].forEach((entry: unknown, i: number) => {
    const id = isObject(entry) ? (entry['tap_stream_id'] ?? entry['stream']) : undefined;
    if (!isObject(entry) || typeof id !== 'string')
      throw new ConfigError(`The catalog file ${path}: streams[${i}] has no "tap_stream_id". ${FIX}`);
    if (seen.has(id)) throw new ConfigError(`The catalog file ${path} lists the stream "${id}" twice.`);
    seen.add(id);
    if (!isSelected(entry, path)) return;
    if (!known.includes(id)) {
      throw new ConfigError(
        `The catalog file ${path} selects the stream "${id.slice(0, 100)}", which this tap does not have. Available: ${known.join(', ')}. Run --discover and use its streams.`,
      );
    }
    const schema = entry['schema'];
    const props = isObject(schema) && isObject(schema['properties']) ? Object.keys(schema['properties']) : [];
    selected.push({
      name: id,
      incremental: replicationMethod(entry, id, path) === 'INCREMENTAL',
      declared: props.length ? new Set(props) : undefined,
      deselected: deselectedProperties(entry, path),
    });
  });
  return selected;
}

/** The metadata of breadcrumb [] (the stream itself), or {}. */
function streamMetadata(entry: JsonObject, path: string): JsonObject {
  const list = entry['metadata'] ?? [];
  if (!Array.isArray(list))
    throw new ConfigError(`The catalog file ${path}: "metadata" must be an array of {breadcrumb, metadata}. ${FIX}`);
  const root: unknown = list.find((m) => isObject(m) && Array.isArray(m['breadcrumb']) && m['breadcrumb'].length === 0);
  return isObject(root) && isObject(root['metadata']) ? root['metadata'] : {};
}

/** The top-level properties whose metadata says "selected": false (breadcrumb ["properties", name]). */
function deselectedProperties(entry: JsonObject, path: string): Set<string> {
  const list = entry['metadata'] ?? [];
  if (!Array.isArray(list))
    throw new ConfigError(`The catalog file ${path}: "metadata" must be an array of {breadcrumb, metadata}. ${FIX}`);
  const out = new Set<string>();
  for (const m of list) {
    if (!isObject(m) || !Array.isArray(m['breadcrumb']) || !isObject(m['metadata'])) continue;
    const [kind, name, ...rest] = m['breadcrumb'] as unknown[];
    if (kind === 'properties' && typeof name === 'string' && rest.length === 0 && m['metadata']['selected'] === false) out.add(name);
  }
  return out;
}

/** A schema without the given top-level properties (nor them in `required`). */
export function withoutProperties(schema: JsonObject, names: ReadonlySet<string>): JsonObject {
  if (names.size === 0) return schema;
  const properties = isObject(schema['properties']) ? { ...schema['properties'] } : {};
  for (const name of names) delete properties[name];
  const required = Array.isArray(schema['required']) ? schema['required'].filter((r) => typeof r !== 'string' || !names.has(r)) : undefined;
  return { ...schema, properties, ...(required ? { required } : {}) };
}

/** `selected` in the breadcrumb [] metadata, else the legacy stream-level `selected`; absent means not selected. */
function isSelected(entry: JsonObject, path: string): boolean {
  return (streamMetadata(entry, path)['selected'] ?? entry['selected']) === true;
}

function replicationMethod(entry: JsonObject, id: string, path: string): 'INCREMENTAL' | 'FULL_TABLE' {
  const method = streamMetadata(entry, path)['replication-method'] ?? entry['replication_method'] ?? 'INCREMENTAL';
  if (method === 'INCREMENTAL' || method === 'FULL_TABLE') return method;
  throw new ConfigError(
    `The catalog file ${path}: the replication method of ${id} is ${preview(method, 40)}; this tap supports "INCREMENTAL" and "FULL_TABLE".`,
  );
}
