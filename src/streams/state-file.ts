/**
 * Incoming state files, in every shape either adapter accepts: Airbyte's array of STATE messages (STREAM, GLOBAL or
 * LEGACY), an empty file or [], a legacy object ({"survey_responses": {...}} or a stream state itself),
 * or a hand-written {"Date Submitted": "…"} that applies to every survey of every stream.
 */
import { ConfigError } from '../core/errors.js';
import { isObject, preview, type JsonObject } from '../core/json.js';
import { parseStreamState, type StreamState } from './state.js';

const HELP =
  'Pass the state the connector emitted (an array of STATE messages), [] or an empty file, or {"Date Submitted": "YYYY-MM-DDTHH:MM:SS"}.';

/** Each known stream's state (streams without one are absent). */
export function parseStateFile(raw: unknown, streams: readonly string[], where = 'state'): Map<string, StreamState> {
  const found = new Map<string, StreamState>();
  if (raw === undefined || raw === null) return found;
  if (Array.isArray(raw)) {
    raw.forEach((item: unknown, i) => {
      const msg = isObject(item) && item['type'] === 'STATE' && isObject(item['state']) ? item['state'] : item;
      if (!isObject(msg)) throw new ConfigError(`The ${where} file: item ${i} is not a state message. ${HELP}`);
      for (const [name, blob] of streamStatesOf(msg, i, where)) {
        if (streams.includes(name)) found.set(name, parseStreamState(blob, where));
      }
    });
    return found;
  }
  if (!isObject(raw)) throw new ConfigError(`The ${where} file must hold a JSON array or object. ${HELP}`);
  if ('type' in raw && ('stream' in raw || 'global' in raw || 'data' in raw)) return parseStateFile([raw], streams, where);
  const named = streams.filter((s) => isObject(raw[s]));
  if (named.length) {
    for (const name of named) found.set(name, parseStreamState(raw[name], where));
    return found;
  }
  const state = parseStreamState(raw, where);
  for (const name of streams) found.set(name, state);
  return found;
}

function streamStatesOf(msg: JsonObject, i: number, where: string): [string, unknown][] {
  const type = msg['type'];
  if (type === 'STREAM' || (type === undefined && isObject(msg['stream']))) {
    const s = msg['stream'];
    const desc = isObject(s) ? s['stream_descriptor'] : undefined;
    const name = isObject(desc) ? desc['name'] : undefined;
    if (typeof name !== 'string' || !isObject(s))
      throw new ConfigError(`The ${where} file: item ${i} has no stream.stream_descriptor.name. ${HELP}`);
    return [[name, s['stream_state']]];
  }
  if (type === 'GLOBAL') {
    const g = msg['global'];
    const list = isObject(g) && Array.isArray(g['stream_states']) ? g['stream_states'] : [];
    return list.filter(isObject).map((s): [string, unknown] => {
      const desc = s['stream_descriptor'];
      return [isObject(desc) && typeof desc['name'] === 'string' ? desc['name'] : '', s['stream_state']];
    });
  }
  if (type === 'LEGACY' || (type === undefined && isObject(msg['data']))) {
    const data = msg['data'];
    return isObject(data) ? Object.entries(data) : [];
  }
  throw new ConfigError(`The ${where} file: item ${i} has an unknown state type ${preview(type, 40)}. ${HELP}`);
}
