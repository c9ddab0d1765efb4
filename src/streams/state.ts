/**
 * State of the survey_responses stream, as pure functions.
 *
 * Stream state: {"surveys": {"<survey_id>": {"Date Submitted": "YYYY-MM-DDTHH:MM:SS"}}}. Incoming state
 * may be the Airbyte array of state messages (STREAM or GLOBAL), an empty file or [], a legacy object
 * ({"survey_responses": {...}} or the stream state itself), or a hand-written {"Date Submitted": "…"}
 * that applies to every survey without a cursor of its own.
 */
import { ConfigError } from '../errors.js';
import { CURSOR_FIELD, maxCursor, toCursor } from './cursor.js';

export interface Cursors {
  /** Per-survey cursor. */
  surveys: Record<string, string>;
  /** A cursor for every survey that has none of its own (hand-written state). */
  fallback?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const HELP =
  'Pass the state the connector emitted (an array of STATE messages), [] or an empty file, or {"Date Submitted": "YYYY-MM-DDTHH:MM:SS"}.';

/** Reads any accepted state shape into cursors for `stream`. */
export function parseState(raw: unknown, stream: string, where = 'state'): Cursors {
  if (raw === undefined || raw === null) return { surveys: {} };
  if (Array.isArray(raw)) {
    let found: Cursors = { surveys: {} };
    raw.forEach((item, i) => {
      const msg = isObj(item) && item['type'] === 'STATE' && isObj(item['state']) ? item['state'] : item;
      if (!isObj(msg)) throw new ConfigError(`The ${where} file: item ${i} is not a state message. ${HELP}`);
      for (const [name, blob] of streamStatesOf(msg, i, where)) {
        if (name === stream) found = parseStreamState(blob, where);
      }
    });
    return found;
  }
  if (!isObj(raw)) throw new ConfigError(`The ${where} file must hold a JSON array or object. ${HELP}`);
  if ('type' in raw && ('stream' in raw || 'global' in raw || 'data' in raw)) {
    return parseState([raw], stream, where);
  }
  if (isObj(raw[stream])) return parseStreamState(raw[stream], where);
  return parseStreamState(raw, where);
}

function streamStatesOf(msg: Obj, i: number, where: string): [string, unknown][] {
  const type = msg['type'];
  if (type === 'STREAM' || (type === undefined && isObj(msg['stream']))) {
    const s = msg['stream'];
    const desc = isObj(s) ? s['stream_descriptor'] : undefined;
    const name = isObj(desc) ? desc['name'] : undefined;
    if (typeof name !== 'string') throw new ConfigError(`The ${where} file: item ${i} has no stream.stream_descriptor.name. ${HELP}`);
    return [[name, (s as Obj)['stream_state']]];
  }
  if (type === 'GLOBAL') {
    const g = msg['global'];
    const list = isObj(g) && Array.isArray(g['stream_states']) ? g['stream_states'] : [];
    return list.filter(isObj).map((s) => {
      const desc = s['stream_descriptor'];
      return [isObj(desc) && typeof desc['name'] === 'string' ? desc['name'] : '', s['stream_state']] as [string, unknown];
    });
  }
  if (type === 'LEGACY' || (type === undefined && isObj(msg['data']))) {
    const data = msg['data'];
    return isObj(data) ? Object.entries(data) : [];
  }
  throw new ConfigError(`The ${where} file: item ${i} has an unknown state type ${JSON.stringify(type)}. ${HELP}`);
}

function cursorOrThrow(value: unknown, what: string, where: string): string {
  const cursor = toCursor(value);
  if (cursor === undefined) {
    throw new ConfigError(`The ${where} file: ${what} is ${JSON.stringify(value)}, not a date-time. Use "YYYY-MM-DDTHH:MM:SS".`);
  }
  return cursor;
}

/** Reads one stream_state blob. */
export function parseStreamState(blob: unknown, where = 'state'): Cursors {
  if (blob === undefined || blob === null) return { surveys: {} };
  if (!isObj(blob)) throw new ConfigError(`The ${where} file: the stream state must be an object. ${HELP}`);
  const result: Cursors = { surveys: {} };
  if (blob[CURSOR_FIELD] !== undefined && blob[CURSOR_FIELD] !== null) {
    result.fallback = cursorOrThrow(blob[CURSOR_FIELD], `"${CURSOR_FIELD}"`, where);
  }
  const surveys = blob['surveys'];
  if (surveys !== undefined && surveys !== null) {
    if (!isObj(surveys)) throw new ConfigError(`The ${where} file: "surveys" must be an object keyed by survey id. ${HELP}`);
    for (const [id, value] of Object.entries(surveys)) {
      const v = isObj(value) ? value[CURSOR_FIELD] : value;
      if (v === undefined || v === null) continue;
      result.surveys[id] = cursorOrThrow(v, `the cursor of survey ${id}`, where);
    }
  }
  return result;
}

/** Gives every configured survey without a cursor the fallback cursor, so it is kept in emitted state. */
export function materialise(cursors: Cursors, surveyIds: readonly string[]): Cursors {
  const surveys = { ...cursors.surveys };
  if (cursors.fallback !== undefined) {
    for (const id of surveyIds) surveys[id] ??= cursors.fallback;
  }
  return { surveys };
}

/** Where reading a survey starts: its cursor or the start date, whichever is later (inclusive). */
export function startingCursor(cursors: Cursors, surveyId: string, startDate: string | undefined): string | undefined {
  return maxCursor(cursors.surveys[surveyId] ?? cursors.fallback, startDate);
}

/** A survey's cursor after its whole export was read; never moves backwards. */
export function advance(cursors: Cursors, surveyId: string, newest: string | undefined): Cursors {
  const next = maxCursor(cursors.surveys[surveyId], newest);
  if (next === undefined || next === cursors.surveys[surveyId]) return cursors;
  return { ...cursors, surveys: { ...cursors.surveys, [surveyId]: next } };
}

/** The stream_state blob for a STATE message. */
export function toStreamState(cursors: Cursors): { surveys: Record<string, Record<string, string>> } {
  const surveys: Record<string, Record<string, string>> = {};
  for (const id of Object.keys(cursors.surveys).sort()) surveys[id] = { [CURSOR_FIELD]: cursors.surveys[id]! };
  return { surveys };
}
