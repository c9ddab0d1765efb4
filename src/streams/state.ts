/**
 * Per-stream state and the rules that use it, as pure functions.
 *
 * A stream's state: {"surveys": {"<survey_id>": {"Date Submitted": "YYYY-MM-DDTHH:MM:SS", "Number": 123}}}.
 * `Number` is the highest response Number a verified pass has gone past; `Date Submitted` the newest
 * date emitted (kept for people and for the declared cursor field). A hand-written {"Date Submitted": …}
 * at the top applies to every survey without a position of its own.
 *
 * Which rows are new:
 * - with a Number: exactly the rows whose Number is above it, whatever their date (late arrivals are
 *   caught; the boundary second is not re-emitted);
 * - with a date only (state written before Numbers were saved, or by hand): rows dated at or after it
 *   (inclusive), until the next STATE adds the Number;
 * - `start_date` always bounds by date as well.
 *
 * API-key mode has no Number (Hotjar's official API gives a response id and a creation time, newest
 * first, with no date filter). There a row's position is (creation time, response id), and the saved
 * position is the highest creation time a pass went past plus the ids of the responses created in that
 * very second: {"Date Submitted": "…", "response_ids": ["…"]}. New is then exactly: created in a later
 * second, or in that second with an id not in the list (isNewById). A position without the id list
 * (hand-written, or saved by password mode before a switch of mode) is read inclusively by date.
 * Switching mode therefore never skips a response; it may repeat the responses of the boundary second.
 */
import { maxCursor, toCursor } from '../core/dates.js';
import { ConfigError } from '../core/errors.js';
import { isObject, preview, type JsonObject } from '../core/json.js';

export const CURSOR_FIELD = 'Date Submitted';
export const NUMBER_FIELD = 'Number';
/** API-key mode's row key (the official API's response id). */
export const RESPONSE_ID_FIELD = 'response_id';
/** API-key mode's state key: the response ids created in the saved position's second. */
export const RESPONSE_IDS_FIELD = 'response_ids';

export interface Position {
  /** Highest Number a verified pass went past. */
  number?: number;
  /** Newest `Date Submitted` emitted (cursor form); in API-key mode the newest a pass went past. */
  date?: string;
  /** API-key mode: the response ids created in `date`'s second that a pass went past. */
  ids?: string[];
}

export interface StreamState {
  surveys: Record<string, Position>;
  /** Hand-written cursor for every survey without a position. */
  fallback?: string;
}

export const EMPTY_STATE: StreamState = { surveys: {} };

const HELP = 'Pass the state the connector emitted, [] or an empty file, or {"Date Submitted": "YYYY-MM-DDTHH:MM:SS"}.';

/** Reads one stream's state blob; `where` names the file in errors. */
export function parseStreamState(blob: unknown, where = 'state'): StreamState {
  if (blob === undefined || blob === null) return { surveys: {} };
  if (!isObject(blob)) throw new ConfigError(`The ${where} file: the stream state must be an object. ${HELP}`);
  // A state this connector cannot read must not pass for an empty one (a silent full re-sync): an
  // object with keys, none of them known, is a mistake (a typo, another tool's state).
  unknownKeys(blob, [CURSOR_FIELD, 'surveys'], 'the stream state', where);
  const result: StreamState = { surveys: {} };
  const top = blob[CURSOR_FIELD];
  if (top !== undefined && top !== null) result.fallback = dateOrThrow(top, `"${CURSOR_FIELD}"`, where);
  const surveys = blob['surveys'];
  if (surveys === undefined || surveys === null) return result;
  if (!isObject(surveys)) throw new ConfigError(`The ${where} file: "surveys" must be an object keyed by survey id. ${HELP}`);
  for (const [id, value] of Object.entries(surveys)) {
    const position: Position = {};
    if (isObject(value)) unknownKeys(value, [CURSOR_FIELD, NUMBER_FIELD, RESPONSE_IDS_FIELD], `the state of survey ${id}`, where);
    const date = isObject(value) ? value[CURSOR_FIELD] : value;
    if (date !== undefined && date !== null) position.date = dateOrThrow(date, `the cursor of survey ${id}`, where);
    const number = isObject(value) ? value[NUMBER_FIELD] : undefined;
    if (number !== undefined && number !== null) {
      if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
        throw new ConfigError(`The ${where} file: the Number of survey ${id} must be a whole number, not ${short(number)}. ${HELP}`);
      }
      position.number = number;
    }
    const ids = isObject(value) ? value[RESPONSE_IDS_FIELD] : undefined;
    if (ids !== undefined && ids !== null) {
      if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string') || position.date === undefined) {
        throw new ConfigError(
          `The ${where} file: the ${RESPONSE_IDS_FIELD} of survey ${id} must be a list of response ids next to its "${CURSOR_FIELD}". ${HELP}`,
        );
      }
      position.ids = [...ids];
    }
    if (position.date !== undefined || position.number !== undefined) result.surveys[id] = position;
  }
  return result;
}

const short = (value: unknown): string => preview(value, 60);

/** Throws when an object has keys and none of them is one of `known`. */
function unknownKeys(value: JsonObject, known: readonly string[], what: string, where: string): void {
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((k) => known.includes(k))) return;
  throw new ConfigError(
    `The ${where} file: ${what} has ${keys
      .slice(0, 5)
      .map((k) => short(k))
      .join(
        ', ',
      )}${keys.length > 5 ? ', …' : ''} and none of ${known.map((k) => JSON.stringify(k)).join(', ')}: it is not a state this connector wrote (a typo, or another tool's state?). ${HELP}`,
  );
}

function dateOrThrow(value: unknown, what: string, where: string): string {
  const cursor = toCursor(value);
  if (cursor === undefined) {
    throw new ConfigError(`The ${where} file: ${what} is ${short(value)}, not a date-time of years 1970–9999. Use "YYYY-MM-DDTHH:MM:SS".`);
  }
  return cursor;
}

/** A survey's position: its own, else the hand-written fallback date. */
export function positionOf(state: StreamState, surveyId: string): Position {
  return state.surveys[surveyId] ?? (state.fallback !== undefined ? { date: state.fallback } : {});
}

/** The row filter of one stream for one survey (see the module comment). */
export function isNew(position: Position, number: number, date: string, startDate: string | undefined): boolean {
  if (startDate !== undefined && date < startDate) return false;
  if (position.number !== undefined) return number > position.number;
  if (position.date !== undefined) return date >= position.date;
  return true;
}

/**
 * API-key mode's row filter: with a saved id list, exactly the rows created after the saved second or
 * in it with an id not in the list; with a date only, rows at or after it; `start_date` always.
 */
export function isNewById(position: Position, id: string, date: string, startDate: string | undefined): boolean {
  if (startDate !== undefined && date < startDate) return false;
  if (position.date === undefined) return true;
  if (position.ids === undefined) return date >= position.date;
  return date > position.date || (date === position.date && !position.ids.includes(id));
}

/**
 * The date below which no row can be new for this stream (API-key mode's early stop): the later of its
 * saved date and start_date, or undefined when it has neither (then every row may be new).
 */
export function dateBound(position: Position, startDate: string | undefined): string | undefined {
  return maxCursor(position.date, startDate);
}

/**
 * API-key mode's early stop: responses come newest first. Once that order was seen (two rows or more in
 * strictly older seconds, creation times never going up) and a row is older than every stream's bound,
 * no later row can be new.
 * `floor` is the lowest bound over the streams, or undefined when any has none.
 */
export function canStopByDate(floor: string | undefined, date: string, descendingRows: number): boolean {
  return floor !== undefined && descendingRows >= 2 && date < floor;
}

/**
 * The early stop: rows come sorted by Number, descending. Once that order was seen (two rows or more)
 * and a row's Number is at or below every incremental stream's saved Number, no later row can be new.
 * `floor` is the lowest saved Number over the streams read, or undefined when any has none.
 */
export function canStop(floor: number | undefined, number: number, descendingRows: number): boolean {
  return floor !== undefined && descendingRows >= 2 && number <= floor;
}

/** What a verified pass saw of a survey. */
export interface PassResult {
  /** Highest Number in the pass. */
  maxNumber: number | undefined;
  /** Newest date among the rows this stream emitted. */
  newestEmitted: string | undefined;
  /** API-key mode: the newest creation time in the pass, and the ids of every row created in that second. */
  newest?: { date: string; ids: readonly string[] } | undefined;
}

/** A survey's position after a verified pass; never moves backwards. */
export function advance(position: Position, pass: PassResult): Position {
  if (pass.newest !== undefined) return advanceById(position, pass.newest);
  const number =
    position.number === undefined
      ? pass.maxNumber
      : pass.maxNumber === undefined
        ? position.number
        : Math.max(position.number, pass.maxNumber);
  const date = maxCursor(position.date, pass.newestEmitted);
  // API-key mode's ids stay with a pass that saw no row (nothing moved); a Number pass replaces them.
  const ids = pass.maxNumber === undefined && date === position.date ? position.ids : undefined;
  return { ...(number !== undefined ? { number } : {}), ...(date !== undefined ? { date } : {}), ...(ids !== undefined ? { ids } : {}) };
}

/**
 * API-key mode: the later of the saved second and the pass's newest, with the ids seen in it (the union
 * when they are the same second). A Number saved by password mode is dropped once an API-key pass moved
 * the position: it no longer says where the position is, and password mode then reads from the date.
 */
function advanceById(position: Position, newest: { date: string; ids: readonly string[] }): Position {
  const saved = position.date;
  if (saved !== undefined && saved > newest.date) return position;
  if (saved === newest.date) {
    const ids = [...new Set([...(position.ids ?? []), ...newest.ids])];
    return { date: saved, ids };
  }
  return { date: newest.date, ids: [...new Set(newest.ids)] };
}

export function withPosition(state: StreamState, surveyId: string, position: Position): StreamState {
  return { ...state, surveys: { ...state.surveys, [surveyId]: position } };
}

/**
 * The state blob to emit: every survey's position, sorted by id. A hand-written fallback is kept for
 * the configured surveys that have no position yet, so it survives until each is read, and at the top
 * level, so that it also applies to a survey configured later.
 */
export function toStateBlob(state: StreamState, surveyIds: readonly string[]): Record<string, unknown> {
  const surveys: Record<string, Record<string, string | number | string[]>> = {};
  const ids = new Set([...Object.keys(state.surveys), ...(state.fallback !== undefined ? surveyIds : [])]);
  for (const id of [...ids].sort()) {
    const p = positionOf(state, id);
    const entry: Record<string, string | number | string[]> = {};
    if (p.date !== undefined) entry[CURSOR_FIELD] = p.date;
    if (p.number !== undefined) entry[NUMBER_FIELD] = p.number;
    if (p.ids !== undefined) entry[RESPONSE_IDS_FIELD] = [...p.ids].sort();
    surveys[id] = entry;
  }
  return state.fallback !== undefined ? { [CURSOR_FIELD]: state.fallback, surveys } : { surveys };
}
