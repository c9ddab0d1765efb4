/**
 * Singer state in and out. In: {"bookmarks": {"survey_responses": <stream state>}}, the same wrapped
 * as a STATE message ({"value": {...}}), an empty file or {}; anything without "bookmarks" is read
 * like the Airbyte source's state (so a hand-written {"Date Submitted": "…"} works here too).
 * Out: the bookmark is the stream state exactly as the Airbyte source emits it.
 */
import { ConfigError } from '../errors.js';
import { STREAM_NAME } from '../stream/schema.js';
import { parseState, parseStreamState, toStreamState, type Cursors } from '../stream/state.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseSingerState(raw: unknown): Cursors {
  const value = isObj(raw) && isObj(raw['value']) ? raw['value'] : raw;
  if (isObj(value) && 'bookmarks' in value) {
    const bookmarks = value['bookmarks'];
    if (!isObj(bookmarks)) {
      throw new ConfigError('The state file: "bookmarks" must be an object keyed by stream, e.g. {"bookmarks": {"survey_responses": {...}}}. Pass the value of the last STATE message the tap printed.');
    }
    return parseStreamState(bookmarks[STREAM_NAME]);
  }
  return parseState(value, STREAM_NAME);
}

export function singerStateValue(cursors: Cursors): { bookmarks: Record<string, unknown> } {
  return { bookmarks: { [STREAM_NAME]: toStreamState(cursors) } };
}
