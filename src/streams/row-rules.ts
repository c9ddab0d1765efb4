/**
 * The rules every response row goes through, as pure functions and small state machines, shared by the
 * two ways a survey is read (survey-reader.ts): row by row on the main thread, and in record-aligned
 * blocks by the block workers (block-worker.ts). Neither path has its own copy of a rule.
 *
 * - RowChecker: a row's `Number` (canonical whole number) and `Date Submitted` (a real date-time, not
 *   more than a day ahead), or what is wrong with it. Depends on the row alone.
 * - lineSpan: how many lines of the file a row takes (its cells' line feeds), for error messages.
 * - PassProgress: what depends on the rows before: the early stop (state.ts: canStop), the row count,
 *   the highest Number, and Numbers seen twice. Runs on the main thread, in file order, for both paths.
 */
import { FileDateParser, fromMs } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import { CURSOR_FIELD, NUMBER_FIELD, canStop } from './state.js';
import { SeenNumbers } from './seen-numbers.js';

/** A Date Submitted later than this after now is a data error, never a cursor. */
export const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;
const CANONICAL_NUMBER = /^(0|[1-9]\d{0,14})$/;

/** The latest acceptable Date Submitted (cursor form) for a pass started at `now`. */
export function latestDate(now: number): string {
  return fromMs(now + FUTURE_TOLERANCE_MS) ?? '9999-12-31T23:59:59';
}

/** What is wrong with a row: the column, and what (the message says where). */
export interface RowProblem {
  column: string;
  what: string;
}

/** Checks rows of one export; after a `check` that returns undefined, `number` and `date` hold the row's values. */
export class RowChecker {
  number = 0;
  /** Cursor form. */
  date = '';
  private readonly dates = new FileDateParser();

  constructor(
    private readonly numberIndex: number,
    private readonly dateIndex: number,
    /** latestDate(now) of the pass. */
    private readonly latest: string,
  ) {}

  /** The header's column positions, or the problem (a missing column). */
  static columns(header: readonly string[]): { numberIndex: number; dateIndex: number } | RowProblem {
    for (const column of [NUMBER_FIELD, CURSOR_FIELD]) {
      if (!header.includes(column)) return { column, what: 'missing' };
    }
    return { numberIndex: header.indexOf(NUMBER_FIELD), dateIndex: header.indexOf(CURSOR_FIELD) };
  }

  check(row: readonly string[]): RowProblem | undefined {
    const numberText = row[this.numberIndex] ?? '';
    if (!CANONICAL_NUMBER.test(numberText))
      return { column: NUMBER_FIELD, what: `${JSON.stringify(numberText)} is not a whole number in canonical form` };
    const dateText = row[this.dateIndex] ?? '';
    const date = this.dates.parse(dateText);
    if (date === undefined)
      return { column: CURSOR_FIELD, what: `${JSON.stringify(dateText)} is not a date-time like 2023-09-27 23:27:33` };
    if (date > this.latest)
      return { column: CURSOR_FIELD, what: `${dateText} is more than a day in the future, so it cannot be a submission time` };
    this.number = Number(numberText);
    this.date = date;
    return undefined;
  }
}

/** The error for a bad value, naming survey, line and column. */
export function badValue(label: string, line: number, problem: RowProblem): DataError {
  return new DataError(`The export of ${label} has a bad value at line ${line}, column "${problem.column}": ${problem.what}.`);
}

/** Lines of the file a record takes: one, plus the line feeds inside its cells. */
export function lineSpan(row: readonly string[]): number {
  let n = 1;
  for (const value of row) {
    for (let i = value.indexOf('\n'); i !== -1; i = value.indexOf('\n', i + 1)) n++;
  }
  return n;
}

/** The order-dependent part of a pass, fed one checked row at a time in file order. */
export class PassProgress {
  rows = 0;
  maxNumber: number | undefined;
  readonly duplicates: number[] = [];
  private readonly seen = new SeenNumbers();
  private previous = Number.POSITIVE_INFINITY;
  private descendingRows = 0;

  /** `floor`: the lowest saved Number over the streams read, or undefined (no early stop). */
  constructor(private readonly floor: number | undefined) {}

  /** Takes a row into the pass; false when the pass stops before it (nothing from it or after it is new). */
  admit(number: number): boolean {
    this.descendingRows = number < this.previous ? this.descendingRows + 1 : Number.NEGATIVE_INFINITY;
    this.previous = number;
    if (canStop(this.floor, number, this.descendingRows)) return false;
    this.rows++;
    if (this.maxNumber === undefined || number > this.maxNumber) this.maxNumber = number;
    if (this.seen.has(number)) this.duplicates.push(number);
    else this.seen.add(number);
    return true;
  }
}
