/**
 * One verified pass over one survey's export, feeding every selected stream at once: the header is
 * checked and laid out, each row's Number and date are read and checked, and each stream's encoder gets
 * the rows its position says are new. Stops early once no later row can be new (state.ts: canStop).
 * Says nothing about statuses or state: the driver does.
 *
 * API-key mode's passes (a header with response_id and no Number) are keyed by (date, response_id)
 * instead: isNewById and canStopByDate, and the outcome carries the newest second and its ids. Their
 * header may grow part way (pass.isHeader: a user attribute first seen on a later page); the reader then
 * lays the longer header out again, keeping every earlier column where it was.
 */
import { FileDateParser, fromMs } from '../core/dates.js';
import { DataError } from '../core/errors.js';
import type { SurveySource } from '../hotjar/source.js';
import { layout, type HeaderLayout } from './columns.js';
import { SeenNumbers } from './seen-numbers.js';
import { CURSOR_FIELD, NUMBER_FIELD, RESPONSE_ID_FIELD, canStop, canStopByDate, dateBound, isNew, isNewById, type Position } from './state.js';
import type { Emit, ResponseStreamDefinition, RowEncoder } from './stream.js';

/** A Date Submitted later than this after now is a data error, never a cursor. */
export const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;
const CANONICAL_NUMBER = /^(0|[1-9]\d{0,14})$/;

export interface StreamTarget {
  definition: ResponseStreamDefinition;
  /** Where this stream starts for this survey ({} for a full read). */
  position: Position;
  emit: Emit;
  /** Called before the stream's first record. */
  onFirstRecord: () => Promise<void> | undefined;
  /** Record keys the configured catalog declares (drift check), if it declares any. */
  declared?: ReadonlySet<string> | undefined;
}

export interface StreamOutcome {
  emitted: number;
  newestEmitted: string | undefined;
}

export interface SurveyOutcome {
  rows: number;
  maxNumber: number | undefined;
  /** API-key mode: the newest creation second in the pass and the ids of its rows. */
  newest: { date: string; ids: string[] } | undefined;
  stoppedEarly: boolean;
  streams: StreamOutcome[];
}

export interface SurveyReaderOptions {
  siteId: string;
  surveyId: string;
  startDate: string | undefined;
  log: (level: 'WARN' | 'INFO', message: string) => void;
  now?: number;
}

export class SurveyReader {
  /** Filled as the pass goes, so a failure part way still says what was emitted. */
  readonly outcome: SurveyOutcome;
  private readonly label: string;
  private readonly dates = new FileDateParser();
  private readonly seen = new SeenNumbers();
  private readonly duplicates: number[] = [];
  private readonly latest: string;
  private layout: HeaderLayout | undefined;
  private encoders: RowEncoder[] = [];
  private numberIndex = -1;
  /** API-key mode (no Number column): the response_id column. */
  private idIndex = -1;
  private dateIndex = -1;
  private line = 1;
  private previous = Number.POSITIVE_INFINITY;
  private previousDate = '9999-12-31T23:59:59';
  private descendingRows = 0;
  /** Drift and duplicate warnings already given (a grown header must not repeat them). */
  private readonly warned = new Set<string>();

  constructor(
    private readonly source: SurveySource,
    private readonly targets: readonly StreamTarget[],
    private readonly options: SurveyReaderOptions,
  ) {
    this.label = `survey ${options.surveyId}`;
    this.outcome = {
      rows: 0,
      maxNumber: undefined,
      newest: undefined,
      stoppedEarly: false,
      streams: targets.map(() => ({ emitted: 0, newestEmitted: undefined })),
    };
    this.latest = fromMs((options.now ?? Date.now()) + FUTURE_TOLERANCE_MS) ?? '9999-12-31T23:59:59';
  }

  /** The lowest saved Number over the streams, or undefined when any stream has none (no early stop). */
  private get floor(): number | undefined {
    let floor: number | undefined = Number.POSITIVE_INFINITY;
    for (const t of this.targets) {
      if (t.position.number === undefined) return undefined;
      floor = Math.min(floor, t.position.number);
    }
    return floor;
  }

  /** API-key mode: the lowest date bound over the streams, or undefined when any has none (no early stop). */
  private get dateFloor(): string | undefined {
    let floor: string | undefined;
    for (const t of this.targets) {
      const bound = dateBound(t.position, this.options.startDate);
      if (bound === undefined) return undefined;
      if (floor === undefined || bound < floor) floor = bound;
    }
    return floor;
  }

  async read(): Promise<SurveyOutcome> {
    const pass = await this.source.open(this.options.surveyId);
    const floor = this.floor;
    const dateFloor = this.dateFloor;
    try {
      for await (const batch of pass.rows) {
        for (const row of batch) {
          if (!this.layout || pass.isHeader?.(row)) {
            this.header(row, pass.questionIdOf?.bind(pass));
            continue;
          }
          const stop = this.idIndex >= 0 ? await this.rowById(row, dateFloor) : await this.row(row, floor);
          if (stop) {
            this.outcome.stoppedEarly = true;
            return this.finish();
          }
        }
      }
      if (!this.layout) throw new DataError(`The export of ${this.label} is empty: it has no header row.`);
      return this.finish();
    } finally {
      await pass.close();
    }
  }

  private finish(): SurveyOutcome {
    if (this.duplicates.length) {
      const list = this.duplicates.slice(0, 20).join(', ');
      this.options.log(
        'WARN',
        `Survey ${this.options.surveyId}: ${this.duplicates.length} response Number${this.duplicates.length > 1 ? 's' : ''} appear more than once in the export (${list}${this.duplicates.length > 20 ? ', …' : ''}); every row was emitted, and destinations that dedupe on the primary key keep one of each.`,
      );
    }
    return this.outcome;
  }

  private header(header: string[], questionIdOf?: (column: number) => string | undefined): void {
    const grown = this.layout !== undefined;
    const byId = !header.includes(NUMBER_FIELD) && header.includes(RESPONSE_ID_FIELD);
    for (const required of [byId ? RESPONSE_ID_FIELD : NUMBER_FIELD, CURSOR_FIELD]) {
      if (!header.includes(required)) {
        throw new DataError(`The export of ${this.label} has no "${required}" column (line 1); Hotjar's file format may have changed.`);
      }
    }
    this.layout = layout(header);
    this.numberIndex = header.indexOf(NUMBER_FIELD);
    this.idIndex = byId ? header.indexOf(RESPONSE_ID_FIELD) : -1;
    this.dateIndex = header.indexOf(CURSOR_FIELD);
    if (!grown) this.line = 1 + header.reduce((n, h) => n + newlines(h), 1);
    const { keys } = this.layout;
    const duplicates = this.layout.duplicates.filter((d) => this.once(`duplicate ${d}`));
    if (duplicates.length) {
      this.options.log('WARN', `Survey ${this.options.surveyId}: the header repeats ${duplicates.map((d) => JSON.stringify(d)).join(', ')}; the repeats are keyed "<text> (2)", "<text> (3)".`);
    }
    for (const [i, t] of this.targets.entries()) {
      if (!t.declared) continue;
      const extra = keys.filter((k) => !t.declared?.has(k) && this.once(`drift ${i} ${k}`));
      if (extra.length) {
        this.options.log(
          'WARN',
          `Survey ${this.options.surveyId} has column${extra.length > 1 ? 's' : ''} the configured catalog of ${t.definition.name} does not declare: ${extra.map((e) => JSON.stringify(e)).join(', ')}. They are still emitted; refresh the source schema (run discover) so destinations keep them.`,
        );
      }
    }
    const ctx = { siteId: this.options.siteId, surveyId: this.options.surveyId, layout: this.layout, questionIdOf };
    this.encoders = this.targets.map((t) => t.definition.encoder(ctx));
  }

  /** True the first time a warning key is seen. */
  private once(key: string): boolean {
    if (this.warned.has(key)) return false;
    this.warned.add(key);
    return true;
  }

  /**
   * API-key mode's row: keyed by (Date Submitted, response_id), filtered by isNewById; resolves to true
   * when the pass can stop here (canStopByDate).
   */
  private async rowById(row: string[], floor: string | undefined): Promise<boolean> {
    const index = this.outcome.rows + 1;
    const id = row[this.idIndex] ?? '';
    if (id === '') throw this.badResponse(index, id, RESPONSE_ID_FIELD, 'it is empty');
    const dateText = row[this.dateIndex] ?? '';
    const date = this.dates.parse(dateText);
    if (date === undefined) {
      throw this.badResponse(index, id, CURSOR_FIELD, `${JSON.stringify(dateText)} is not a date-time like 2023-09-27T23:27:33Z`);
    }
    if (date > this.latest) {
      throw this.badResponse(index, id, CURSOR_FIELD, `${dateText} is more than a day in the future, so it cannot be a submission time`);
    }
    this.descendingRows = date <= this.previousDate ? this.descendingRows + 1 : Number.NEGATIVE_INFINITY;
    this.previousDate = date;
    if (canStopByDate(floor, date, this.descendingRows)) return true;
    this.outcome.rows++;
    const newest = this.outcome.newest;
    if (newest === undefined || date > newest.date) this.outcome.newest = { date, ids: [id] };
    else if (date === newest.date) newest.ids.push(id);
    let wait: Promise<void> | undefined;
    for (let i = 0; i < this.targets.length; i++) {
      const target = this.targets[i];
      const encoder = this.encoders[i];
      const stats = this.outcome.streams[i];
      if (!target || !encoder || !stats || !isNewById(target.position, id, date, this.options.startDate)) continue;
      if (stats.emitted === 0) await target.onFirstRecord();
      const before = stats.emitted;
      wait =
        encoder.encode(row, undefined, date, (data) => {
          stats.emitted++;
          return target.emit(data);
        }) ?? wait;
      if (stats.emitted > before && (stats.newestEmitted === undefined || date > stats.newestEmitted)) stats.newestEmitted = date;
    }
    if (wait) await wait;
    return false;
  }

  private badResponse(index: number, id: string, column: string, what: string): DataError {
    const which = id === '' ? `response ${index} of the pass` : `response ${JSON.stringify(id)}`;
    return new DataError(`The responses of ${this.label} have a bad value in ${which}, column "${column}": ${what}.`);
  }

  /** Handles one response row; resolves to true when the pass can stop here. */
  private async row(row: string[], floor: number | undefined): Promise<boolean> {
    const line = this.line;
    for (const value of row) if (value.indexOf('\n') !== -1) this.line += newlines(value);
    this.line++;
    const numberText = row[this.numberIndex] ?? '';
    if (!CANONICAL_NUMBER.test(numberText)) {
      throw this.bad(line, NUMBER_FIELD, `${JSON.stringify(numberText)} is not a whole number in canonical form`);
    }
    const number = Number(numberText);
    const dateText = row[this.dateIndex] ?? '';
    const date = this.dates.parse(dateText);
    if (date === undefined) {
      throw this.bad(line, CURSOR_FIELD, `${JSON.stringify(dateText)} is not a date-time like 2023-09-27 23:27:33`);
    }
    if (date > this.latest) {
      throw this.bad(line, CURSOR_FIELD, `${dateText} is more than a day in the future, so it cannot be a submission time`);
    }
    this.descendingRows = number < this.previous ? this.descendingRows + 1 : Number.NEGATIVE_INFINITY;
    this.previous = number;
    if (canStop(floor, number, this.descendingRows)) return true;
    this.outcome.rows++;
    if (this.outcome.maxNumber === undefined || number > this.outcome.maxNumber) this.outcome.maxNumber = number;
    if (this.seen.has(number)) this.duplicates.push(number);
    else this.seen.add(number);
    let wait: Promise<void> | undefined;
    for (let i = 0; i < this.targets.length; i++) {
      const target = this.targets[i];
      const encoder = this.encoders[i];
      const stats = this.outcome.streams[i];
      if (!target || !encoder || !stats || !isNew(target.position, number, date, this.options.startDate)) continue;
      if (stats.emitted === 0) await target.onFirstRecord();
      const before = stats.emitted;
      wait =
        encoder.encode(row, number, date, (data) => {
          stats.emitted++;
          return target.emit(data);
        }) ?? wait;
      if (stats.emitted > before && (stats.newestEmitted === undefined || date > stats.newestEmitted)) stats.newestEmitted = date;
    }
    if (wait) await wait;
    return false;
  }

  private bad(line: number, column: string, what: string): DataError {
    return new DataError(`The export of ${this.label} has a bad value at line ${line}, column "${column}": ${what}.`);
  }
}

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
