/** Streams as Airbyte's CATALOG declares them, and the configured catalog a platform hands to `read`. */
import { ConfigError } from '../core/errors.js';
import { isObject } from '../core/json.js';
import { supportsIncremental, type StreamDefinition } from '../streams/stream.js';
import type { AirbyteStream } from './messages.js';

export function airbyteStream(definition: StreamDefinition, columns?: readonly string[]): AirbyteStream {
  const incremental = supportsIncremental(definition);
  const stream: AirbyteStream = {
    name: definition.name,
    description: definition.description,
    json_schema: definition.schema(columns),
    supported_sync_modes: incremental ? ['full_refresh', 'incremental'] : ['full_refresh'],
    source_defined_cursor: incremental,
    source_defined_primary_key: definition.primaryKey,
    // Full refresh ignores incoming state, so the platform must not resume one from a previous attempt.
    is_resumable: false,
  };
  if (definition.cursorField.length) stream.default_cursor_field = definition.cursorField;
  return stream;
}

export interface ConfiguredStream {
  name: string;
  incremental: boolean;
  /** Property names of the configured json_schema, when it lists any (for the drift check). */
  declared: ReadonlySet<string> | undefined;
}

/** Reads a ConfiguredAirbyteCatalog; returns the streams it selects, in its order. */
export function parseConfiguredCatalog(raw: unknown, known: readonly string[], path = 'catalog'): ConfiguredStream[] {
  const fix =
    'Pass a ConfiguredAirbyteCatalog: {"streams": [{"stream": {"name": "survey_responses", "json_schema": {...}, ...}, "sync_mode": "incremental", "destination_sync_mode": "append"}]}.';
  if (!isObject(raw) || !Array.isArray(raw['streams'])) throw new ConfigError(`The catalog file ${path} has no "streams" array. ${fix}`);
  const result: ConfiguredStream[] = [];
  raw['streams'].forEach((entry: unknown, i: number) => {
    const stream = isObject(entry) ? entry['stream'] : undefined;
    const name = isObject(stream) ? stream['name'] : undefined;
    if (!isObject(entry) || !isObject(stream) || typeof name !== 'string') {
      throw new ConfigError(`The catalog file ${path}: streams[${i}].stream.name is missing. ${fix}`);
    }
    if (!known.includes(name)) {
      throw new ConfigError(
        `The catalog file ${path} selects the stream "${name.slice(0, 100)}", which this source does not have. Available: ${known.join(', ')}. Run discover and use its stream names.`,
      );
    }
    const syncMode = entry['sync_mode'] ?? 'full_refresh';
    if (syncMode !== 'full_refresh' && syncMode !== 'incremental') {
      throw new ConfigError(`The catalog file ${path}: streams[${i}].sync_mode must be "full_refresh" or "incremental".`);
    }
    if (result.some((s) => s.name === name)) throw new ConfigError(`The catalog file ${path} lists the stream "${name}" twice.`);
    const schema = stream['json_schema'];
    const props = isObject(schema) && isObject(schema['properties']) ? Object.keys(schema['properties']) : [];
    result.push({ name, incremental: syncMode === 'incremental', declared: props.length ? new Set(props) : undefined });
  });
  return result;
}
