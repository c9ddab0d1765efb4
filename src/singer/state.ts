/**
 * Singer state in and out. In: {"bookmarks": {"<stream>": <stream state>}}, the same wrapped as a STATE
 * message ({"value": {...}}), an empty file or {}; anything without "bookmarks" is read like the Airbyte
 * source's state (so a hand-written {"Date Submitted": "…"} works here too). Out: each bookmark is the
 * stream state exactly as the Airbyte source emits it.
 */
import { ConfigError } from '../core/errors.js';
import { isObject } from '../core/json.js';
import { parseStreamState, type StreamState } from '../streams/state.js';
import { parseStateFile } from '../streams/state-file.js';

export function parseSingerState(raw: unknown, streams: readonly string[]): Map<string, StreamState> {
  const value = isObject(raw) && isObject(raw['value']) ? raw['value'] : raw;
  if (isObject(value) && 'bookmarks' in value) {
    const bookmarks = value['bookmarks'];
    if (!isObject(bookmarks)) {
      throw new ConfigError(
        'The state file: "bookmarks" must be an object keyed by stream, e.g. {"bookmarks": {"survey_responses": {...}}}. Pass the value of the last STATE message the tap printed.',
      );
    }
    const found = new Map<string, StreamState>();
    for (const name of streams) if (bookmarks[name] !== undefined) found.set(name, parseStreamState(bookmarks[name]));
    return found;
  }
  return parseStateFile(value, streams);
}
