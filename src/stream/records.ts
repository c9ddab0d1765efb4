/**
 * CSV rows → records. The header row is checked (required columns, no duplicates); each row keeps
 * every column under its exact header text, `Number` becomes an integer, `Date Submitted` the cursor
 * form, empty cells null, and `site_id`/`survey_id` are added. Pure apart from the counters it keeps.
 */
import { DataError } from '../errors.js';
import { CURSOR_FIELD, fileDateToCursor } from './cursor.js';

export const NUMBER_FIELD = 'Number';

export type Row = Record<string, string | number | null>;

/** Validates the header row and returns the column names (csv-parse's `columns` option). */
export function checkHeader(header: string[], label: string): string[] {
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (seen.has(name)) {
      throw new DataError(`The export of ${label} has the column "${name}" twice (columns ${i + 1} and ${header.indexOf(name) + 1}); it cannot be mapped to records.`);
    }
    seen.add(name);
  });
  for (const required of [NUMBER_FIELD, CURSOR_FIELD]) {
    if (!seen.has(required)) {
      throw new DataError(`The export of ${label} has no "${required}" column (line 1); Hotjar's file format may have changed.`);
    }
  }
  return header;
}

/**
 * Turns one parsed row (an object keyed by header, strings) into a record in place. `line` is the row's
 * first line in the file, for errors.
 */
export function toRecord(row: Record<string, unknown>, line: number, siteId: string, surveyId: string, label: string): Row {
  const out = row as Row;
  for (const key in out) {
    if (out[key] === '') out[key] = null;
  }
  const num = out[NUMBER_FIELD];
  if (typeof num !== 'string' || !/^\d{1,15}$/.test(num)) {
    throw new DataError(`The export of ${label} has a bad value at line ${line}, column "${NUMBER_FIELD}": ${JSON.stringify(num)} is not a whole number.`);
  }
  out[NUMBER_FIELD] = Number(num);
  const date = out[CURSOR_FIELD];
  const cursor = typeof date === 'string' ? fileDateToCursor(date) : undefined;
  if (cursor === undefined) {
    throw new DataError(
      `The export of ${label} has a bad value at line ${line}, column "${CURSOR_FIELD}": ${JSON.stringify(date)} is not a date-time like 2023-09-27 23:27:33.`,
    );
  }
  out[CURSOR_FIELD] = cursor;
  out['site_id'] = siteId;
  out['survey_id'] = surveyId;
  return out;
}
