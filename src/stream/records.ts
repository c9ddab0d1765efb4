/**
 * CSV rows → records. The header row is checked (required columns, no duplicates); each row keeps
 * every column under its exact header text, `Number` becomes an integer, `Date Submitted` the cursor
 * form, empty cells null, and `site_id`/`survey_id` are added. The mapper counts lines as it goes
 * (answers and headers hold line breaks), so errors name the line where the bad row starts.
 */
import { DataError } from '../errors.js';
import { CURSOR_FIELD, fileDateToCursor } from './cursor.js';

export const NUMBER_FIELD = 'Number';

export type Row = Record<string, string | number | null>;

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export class RowMapper {
  /** The line the next row starts on. */
  private line = 1;

  constructor(
    private readonly siteId: string,
    private readonly surveyId: string,
    private readonly label: string,
  ) {}

  /** Validates the header row and returns the column names (csv-parse's `columns` option). */
  header(header: string[]): string[] {
    const seen = new Set<string>();
    header.forEach((name, i) => {
      if (seen.has(name)) {
        throw new DataError(
          `The export of ${this.label} has the column "${name}" twice (columns ${header.indexOf(name) + 1} and ${i + 1}, line 1); it cannot be mapped to records.`,
        );
      }
      seen.add(name);
    });
    for (const required of [NUMBER_FIELD, CURSOR_FIELD]) {
      if (!seen.has(required)) {
        throw new DataError(`The export of ${this.label} has no "${required}" column (line 1); Hotjar's file format may have changed.`);
      }
    }
    this.line = 1 + header.reduce((n, h) => n + newlines(h), 1);
    return header;
  }

  /** Turns one parsed row (an object keyed by header, strings) into a record, in place. */
  map(row: Record<string, unknown>): Row {
    const line = this.line;
    const out = row as Row;
    let breaks = 0;
    for (const key in out) {
      const value = out[key] as string;
      if (value === '') out[key] = null;
      else if (value.indexOf('\n') !== -1) breaks += newlines(value);
    }
    this.line += 1 + breaks;
    const num = out[NUMBER_FIELD];
    if (typeof num !== 'string' || !/^\d{1,15}$/.test(num)) {
      throw new DataError(
        `The export of ${this.label} has a bad value at line ${line}, column "${NUMBER_FIELD}": ${JSON.stringify(num)} is not a whole number.`,
      );
    }
    out[NUMBER_FIELD] = Number(num);
    const date = out[CURSOR_FIELD];
    const cursor = typeof date === 'string' ? fileDateToCursor(date) : undefined;
    if (cursor === undefined) {
      throw new DataError(
        `The export of ${this.label} has a bad value at line ${line}, column "${CURSOR_FIELD}": ${JSON.stringify(date)} is not a date-time like 2023-09-27 23:27:33.`,
      );
    }
    out[CURSOR_FIELD] = cursor;
    out['site_id'] = this.siteId;
    out['survey_id'] = this.surveyId;
    return out;
  }
}
