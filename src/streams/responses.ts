/**
 * CSV rows → record JSON. The header row is checked (required columns, no duplicates). Each row keeps
 * every column under its exact header text, `Number` becomes an integer, `Date Submitted` the cursor
 * form, empty cells null, and `site_id`/`survey_id` are added.
 *
 * The hot path: rows arrive as arrays of strings and the record's `data` object is written straight to
 * JSON text with pre-encoded keys, which is faster than building an object per row and stringifying
 * it, and lets filtered rows skip encoding altogether. `inspect` reads what the stream decides on (Number,
 * date, the row's first line); `encode` writes the JSON. Lines are counted as rows go by (headers and
 * answers hold line breaks), so errors name the line where the bad row starts.
 */
import { DataError } from '../errors.js';
import { CURSOR_FIELD, fileDateToCursor } from './cursor.js';

export const NUMBER_FIELD = 'Number';
const ADDED_FIELDS = ['site_id', 'survey_id'];

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export class RecordEncoder {
  /** After `inspect`: the row's Number, `Date Submitted` in cursor form, and the line it starts on. */
  number = 0;
  date = '';
  line = 0;
  private nextLine = 1;
  private keys: string[] = [];
  private numberIndex = -1;
  private dateIndex = -1;
  private readonly suffix: string;

  constructor(
    siteId: string,
    surveyId: string,
    private readonly label: string,
  ) {
    this.suffix = `,"site_id":${JSON.stringify(siteId)},"survey_id":${JSON.stringify(surveyId)}}`;
  }

  get hasHeader(): boolean {
    return this.keys.length > 0;
  }

  /** Validates the header row. */
  header(header: string[]): void {
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
    // A CSV column named like a field the connector adds (a user attribute "site_id", say) keeps its
    // data under "<name> (export)", so no key appears twice.
    this.keys = header.map((name, i) => {
      const key = ADDED_FIELDS.includes(name) ? `${name} (export)` : name;
      return `${i ? ',' : '{'}${JSON.stringify(key)}:`;
    });
    this.numberIndex = header.indexOf(NUMBER_FIELD);
    this.dateIndex = header.indexOf(CURSOR_FIELD);
    this.nextLine = 1 + header.reduce((n, h) => n + newlines(h), 1);
  }

  /** Reads Number and date of a row and counts its lines; throws DataError naming line and column. */
  inspect(row: string[]): void {
    const line = this.nextLine;
    let breaks = 0;
    for (let i = 0; i < row.length; i++) {
      if (row[i]!.indexOf('\n') !== -1) breaks += newlines(row[i]!);
    }
    this.nextLine += 1 + breaks;
    this.line = line;
    const num = row[this.numberIndex]!;
    if (!/^\d{1,15}$/.test(num)) {
      throw new DataError(
        `The export of ${this.label} has a bad value at line ${line}, column "${NUMBER_FIELD}": ${JSON.stringify(num)} is not a whole number.`,
      );
    }
    this.number = Number(num);
    const date = row[this.dateIndex]!;
    const cursor = fileDateToCursor(date);
    if (cursor === undefined) {
      throw new DataError(
        `The export of ${this.label} has a bad value at line ${line}, column "${CURSOR_FIELD}": ${JSON.stringify(date)} is not a date-time like 2023-09-27 23:27:33.`,
      );
    }
    this.date = cursor;
  }

  /** The record's `data` as JSON text, for the row last inspected. */
  encode(row: string[]): string {
    const keys = this.keys;
    let json = '';
    for (let i = 0; i < row.length; i++) {
      const value = row[i]!;
      json += keys[i];
      if (i === this.numberIndex) json += this.number;
      else if (i === this.dateIndex) json += `"${this.date}"`;
      else json += value === '' ? 'null' : JSON.stringify(value);
    }
    return json + this.suffix;
  }
}
