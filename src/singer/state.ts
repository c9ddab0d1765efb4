/**
 * Singer state in and out. In: {"bookmarks": {"<stream>": <stream state>}}, the same wrapped as a STATE
 * message ({"value": {...}}), an empty file or {}; anything without "bookmarks" is read like the Airbyte
 * source's state (so a hand-written {"Date Submitted": "…"} works here too). Out: each bookmark is the
 * stream state exactly as the Airbyte source emits it.
 */
import { ConfigError } from '../core/errors.js';
import { isObject, preview } from '../core/json.js';
import { parseStreamState, type StreamState } from '../streams/state.js';
import { parseStateFile } from '../streams/state-file.js';

/** Streams whose bookmark the tap writes but does not read back (the surveys stream: `{}`). */
const OTHER_STREAMS = ['surveys'];

export function parseSingerState(raw: unknown, streams: readonly string[]): Map<string, StreamState> {
  const value = isObject(raw) && isObject(raw['value']) ? raw['value'] : raw;
  if (isObject(value) && 'bookmarks' in value) {
    const bookmarks = value['bookmarks'];
    if (!isObject(bookmarks)) {
      throw new ConfigError(
        'The state file: "bookmarks" must be an object keyed by stream, e.g. {"bookmarks": {"survey_responses": {...}}}. Pass the value of the last STATE message the tap printed.',
      );
    }
    // A stream name the tap does not have (a typo) must not pass for a stream without a bookmark: that
    // stream would be read again from the start, silently.
    const unknown = Object.keys(bookmarks).filter((k) => !streams.includes(k) && !OTHER_STREAMS.includes(k));
    if (unknown.length) {
      throw new ConfigError(
        `The state file: "bookmarks" names ${unknown
          .slice(0, 5)
          .map((k) => preview(k, 40))
          .join(
            ', ',
          )}, which this tap does not have (its streams: ${[...streams, ...OTHER_STREAMS].join(', ')}). Pass the value of the last STATE message the tap printed.`,
      );
    }
    const found = new Map<string, StreamState>();
    for (const name of streams) if (bookmarks[name] !== undefined) found.set(name, parseStreamState(bookmarks[name]));
    return found;
  }
  return parseStateFile(value, streams);
}
