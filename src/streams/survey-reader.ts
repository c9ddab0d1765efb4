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
 *
 * Two ways through password mode's rows, one set of rules (row-rules.ts, state.ts, the stream encoders):
 * - row by row, on this thread, from the pass's `rows` (any source);
 * - in blocks, when the pass is a verified CSV file on local disk and the adapter frames records as
 *   bytes: block workers (block-pool.ts) parse, check, filter and encode record-aligned blocks side by
 *   side, and this thread applies what depends on order (early stop, duplicates, first-record statuses,
 *   counts) and writes the bytes. A row that fails a check, or bytes that are not valid CSV, hand over
 *   to the row-by-row path at that row, which reads the file again from the start, skipping what was
 *   taken, so every error names the same line with the same words.
 */
import { readSync, openSync, closeSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { csvParseOptions } from '../core/csv.js';
import { FileDateParser } from '../core/dates.js';
import { CancelledError, DataError } from '../core/errors.js';
import type { RecordFraming } from '../core/framing.js';
import type { CsvFile, SurveyPass, SurveySource } from '../hotjar/source.js';
import { BlockWorkerError, PIECES_PER_BLOCK, type BlockPool, type BlockResult } from './block-pool.js';
import { layout, type HeaderLayout } from './columns.js';
import { PassProgress, RowChecker, badValue, latestDate, lineSpan } from './row-rules.js';
import { CURSOR_FIELD, NUMBER_FIELD, RESPONSE_ID_FIELD, canStopByDate, dateBound, isNew, isNewById, type Position } from './state.js';
import type { Emit, ResponseStreamDefinition, RowEncoder } from './stream.js';

export { FUTURE_TOLERANCE_MS } from './row-rules.js';

export interface StreamTarget {
  definition: ResponseStreamDefinition;
  /** Where this stream starts for this survey ({} for a full read). */
  position: Position;
  emit: Emit;
  /** Called before the stream's first record. */
  onFirstRecord: () => Promise<void> | undefined;
  /** Record keys the configured catalog declares (drift check), if it declares any. */
  declared?: ReadonlySet<string> | undefined;
  /** Declares keys `declared` lacks to the destination, before the survey's first record (StreamSink.announce). */
  announce?: ((keys: readonly string[]) => Promise<void> | undefined) | undefined;
  /** How the adapter frames this stream's records as lines, when it takes them as bytes (the block path). */
  framing?: RecordFraming | undefined;
  /** The block path: told how many of this stream's records are in the bytes about to go to the writer (`emit` is one each). */
  counted?: ((records: number) => void) | undefined;
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

/** Writes framed record lines; calls `written` once the bytes are no longer needed. */
export type BytesWriter = (bytes: Uint8Array, written: () => void) => Promise<void> | undefined;

export interface SurveyReaderOptions {
  siteId: string;
  surveyId: string;
  startDate: string | undefined;
  log: (level: 'WARN' | 'INFO', message: string) => void;
  now?: number;
  /** The block path: a pool of block workers and where the framed bytes go. Without it, rows only. */
  blocks?: { pool: BlockPool; write: BytesWriter } | undefined;
  /** Checked between batches and blocks: the pass ends with CancelledError once it is aborted. */
  signal?: AbortSignal | undefined;
  /** Called the moment the pass has read all it will (right after its last record), before its files are released. */
  ended?: ((outcome: SurveyOutcome) => void) | undefined;
  /**
   * Told how many responses the export holds, estimated from its size and the rows of the blocks read so
   * far (after the first block, then every 16th): for progress estimates.
   */
  estimated?: ((rows: number) => void) | undefined;
}

export class SurveyReader {
  /** Filled as the pass goes, so a failure part way still says what was emitted. */
  readonly outcome: SurveyOutcome;
  private readonly label: string;
  private readonly latest: string;
  private progress: PassProgress;
  private layout: HeaderLayout | undefined;
  private checker: RowChecker | undefined;
  private encoders: RowEncoder[] = [];
  private line = 1;
  /** API-key mode (no Number column): the response_id and date columns, and what its early stop needs. */
  private idIndex = -1;
  private dateIndex = -1;
  private readonly dates = new FileDateParser();
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
    this.latest = latestDate(options.now ?? Date.now());
    this.progress = new PassProgress(this.floor);
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
    try {
      let skip = 0;
      let done = false;
      const blocks = this.options.blocks;
      if (pass.csvFile && blocks && this.targets.every((t) => t.framing !== undefined)) {
        const taken = await this.readBlocks(pass.csvFile, blocks.pool, blocks.write);
        if (taken === 'all') done = true;
        else skip = taken;
      }
      if (!done) await this.readRows(pass, skip);
      this.checkSignal(); // records written after a stop may have been dropped: no end, no STATE
      const outcome = this.finish();
      this.options.ended?.(outcome);
      return outcome;
    } finally {
      await pass.close();
    }
  }

  private finish(): SurveyOutcome {
    const { duplicates } = this.progress;
    if (duplicates.length) {
      const list = duplicates.slice(0, 20).join(', ');
      this.options.log(
        'WARN',
        `Survey ${this.options.surveyId}: ${duplicates.length} response Number${duplicates.length > 1 ? 's' : ''} appear more than once in the export (${list}${duplicates.length > 20 ? ', …' : ''}); every row was emitted, and destinations that dedupe on the primary key keep one of each.`,
      );
    }
    return this.outcome;
  }

  private checkSignal(): void {
    const signal = this.options.signal;
    if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
  }

  // --- row by row

  /** Reads the rows; the first `skip` data rows were taken by the block path (only their lines are counted). */
  private async readRows(pass: SurveyPass, skip: number): Promise<void> {
    const dateFloor = this.dateFloor;
    const questionIdOf = pass.questionIdOf?.bind(pass);
    let headerSeen = false;
    for await (const batch of pass.rows) {
      this.checkSignal();
      for (const row of batch) {
        if (!headerSeen || pass.isHeader?.(row)) {
          // The first header (unless the block path laid it out already), or a grown one (API-key mode).
          if (headerSeen || !this.layout) this.header(row, questionIdOf);
          if (!headerSeen) this.line = 1 + lineSpan(row);
          headerSeen = true;
          continue;
        }
        if (skip > 0) {
          skip--;
          this.line += lineSpan(row);
          continue;
        }
        if (this.idIndex >= 0 ? await this.rowById(row, dateFloor) : await this.row(row)) {
          this.outcome.stoppedEarly = true;
          return;
        }
      }
    }
    if (!headerSeen) throw new DataError(`The export of ${this.label} is empty: it has no header row.`);
  }

  private header(header: string[], questionIdOf?: (column: number) => string | undefined): void {
    const byId = !header.includes(NUMBER_FIELD) && header.includes(RESPONSE_ID_FIELD);
    for (const required of [byId ? RESPONSE_ID_FIELD : NUMBER_FIELD, CURSOR_FIELD]) {
      if (!header.includes(required)) {
        throw new DataError(`The export of ${this.label} has no "${required}" column (line 1); Hotjar's file format may have changed.`);
      }
    }
    this.idIndex = byId ? header.indexOf(RESPONSE_ID_FIELD) : -1;
    this.dateIndex = header.indexOf(CURSOR_FIELD);
    this.checker = byId ? undefined : new RowChecker(header.indexOf(NUMBER_FIELD), this.dateIndex, this.latest);
    this.layout = layout(header);
    const { keys } = this.layout;
    const duplicates = this.layout.duplicates.filter((d) => this.once(`duplicate ${d}`));
    if (duplicates.length) {
      this.options.log(
        'WARN',
        `Survey ${this.options.surveyId}: the header repeats ${duplicates.map((d) => JSON.stringify(d)).join(', ')}; the repeats are keyed "<text> (2)", "<text> (3)".`,
      );
    }
    for (const [i, t] of this.targets.entries()) {
      if (!t.declared) continue;
      const undeclared = keys.filter((k) => !t.declared?.has(k));
      // Written before any record of this survey: the writer keeps the order.
      if (undeclared.length && t.announce) void t.announce(undeclared);
      const extra = undeclared.filter((k) => this.once(`drift ${i} ${k}`));
      if (extra.length) {
        const one = extra.length === 1;
        this.options.log(
          'WARN',
          `Survey ${this.options.surveyId} has ${one ? 'a column' : 'columns'} the configured catalog of ${t.definition.name} does not declare: ${extra.map((e) => JSON.stringify(e)).join(', ')}. ` +
            (t.announce
              ? `${one ? 'It is' : 'They are'} emitted, and declared to the destination in an updated schema before the first record that has ${one ? 'it' : 'them'}; run discover to add ${one ? 'it' : 'them'} to the catalog.`
              : `${one ? 'It is' : 'They are'} still emitted; refresh the source schema (run discover) so destinations keep ${one ? 'it' : 'them'}.`),
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

  /** Handles one response row; resolves to true when the pass can stop here. */
  private async row(row: string[]): Promise<boolean> {
    const line = this.line;
    this.line += lineSpan(row);
    const checker = this.checker!;
    const problem = checker.check(row);
    if (problem) throw badValue(this.label, line, problem);
    const { number, date } = checker;
    if (!this.progress.admit(number)) return true;
    this.outcome.rows = this.progress.rows;
    this.outcome.maxNumber = this.progress.maxNumber;
    await this.emitRow(row, number, date, (position) => isNew(position, number, date, this.options.startDate));
    return false;
  }

  /** Hands one checked row to every stream whose position says it is new (both row paths). */
  private async emitRow(row: string[], number: number | undefined, date: string, isNewFor: (position: Position) => boolean): Promise<void> {
    let wait: Promise<void> | undefined;
    for (let i = 0; i < this.targets.length; i++) {
      const target = this.targets[i];
      const encoder = this.encoders[i];
      const stats = this.outcome.streams[i];
      if (!target || !encoder || !stats || !isNewFor(target.position)) continue;
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
    // Rows in one second prove no order: only a strictly older row counts (ties keep the count, a newer
    // row rules the stop out for the pass).
    this.descendingRows =
      date < this.previousDate ? this.descendingRows + 1 : date === this.previousDate ? this.descendingRows : Number.NEGATIVE_INFINITY;
    this.previousDate = date;
    if (canStopByDate(floor, date, this.descendingRows)) return true;
    this.outcome.rows++;
    const newest = this.outcome.newest;
    if (newest === undefined || date > newest.date) this.outcome.newest = { date, ids: [id] };
    else if (date === newest.date) newest.ids.push(id);
    await this.emitRow(row, undefined, date, (position) => isNewById(position, id, date, this.options.startDate));
    return false;
  }

  private badResponse(index: number, id: string, column: string, what: string): DataError {
    const which = id === '' ? `response ${index} of the pass` : `response ${JSON.stringify(id)}`;
    return new DataError(`The responses of ${this.label} have a bad value in ${which}, column "${column}": ${what}.`);
  }

  // --- in blocks

  /** Reads the file in blocks: 'all' when the pass is over, else how many data rows were taken before the row path must go on. */
  private async readBlocks(file: CsvFile, pool: BlockPool, write: BytesWriter): Promise<'all' | number> {
    const header = readHeader(file);
    // Not valid CSV, no header, or not an export's header: the row path says what is wrong.
    if (!header || !header.includes(NUMBER_FIELD)) return 0;
    this.header(header);
    const run = pool.run(
      {
        path: file.path,
        bomBytes: file.layout.bomBytes,
        headerEnd: file.layout.headerEnd,
        utf8: file.layout.utf8,
        maxRecordBytes: file.maxRecordBytes,
        header,
        siteId: this.options.siteId,
        surveyId: this.options.surveyId,
        startDate: this.options.startDate,
        latest: this.latest,
        streams: this.targets.map((t) => ({ name: t.definition.name, position: t.position, framing: t.framing! })),
      },
      file.layout.boundaries,
    );
    try {
      for (;;) {
        this.checkSignal();
        let block: BlockResult | undefined;
        try {
          block = await run.next();
        } catch (err) {
          if (err instanceof BlockWorkerError) return this.progress.rows; // the row path reads on from here
          throw err;
        }
        if (!block) return 'all';
        if (await this.block(block, write, () => run.recycle(block))) {
          this.outcome.stoppedEarly = true;
          return 'all';
        }
        if (this.options.estimated && block.index % 16 === 0) {
          const dataBytes = file.layout.bytes - file.layout.headerEnd;
          // boundaries are the pieces' (PIECES_PER_BLOCK to a block): where this block ends.
          const seenBytes = (file.layout.boundaries[(block.index + 1) * PIECES_PER_BLOCK] ?? file.layout.bytes) - file.layout.headerEnd;
          if (seenBytes > 0) this.options.estimated(Math.round((dataBytes * this.progress.rows) / seenBytes));
        }
        if (block.halt) return this.progress.rows;
      }
    } finally {
      run.close();
    }
  }

  /** Takes one block's rows in order; resolves to true when the pass stops in it. `done`: its bytes are written. */
  private async block(block: BlockResult, write: BytesWriter, done: () => void): Promise<boolean> {
    let cut = block.rows;
    let stopped = false;
    for (let i = 0; i < block.rows; i++) {
      if (!this.progress.admit(block.numbers[i]!)) {
        cut = i;
        stopped = true;
        break;
      }
    }
    this.outcome.rows = this.progress.rows;
    this.outcome.maxNumber = this.progress.maxNumber;
    const end = cut === 0 ? 0 : block.ends[cut - 1]!;
    // A stream's first-record hook runs right before its first new row's lines, as on the row path.
    const firsts = block.streams
      .map((st, i) => ({ st, i }))
      .filter(({ st, i }) => st.firstRow >= 0 && st.firstRow < cut && this.outcome.streams[i]!.emitted === 0)
      .sort((a, b) => a.st.firstOffset - b.st.firstOffset);
    let from = 0;
    let parts = 1; // released by the last `written`, or below when nothing was written
    const written = (): void => {
      if (--parts === 0) done();
    };
    // Each part's records are counted for its streams right as it goes to the writer (the STATE of
    // another survey may come between two parts). A part may end inside a row, where stream `split`'s
    // lines begin: a row's lines are its streams' in stream order, so the row's records of the streams
    // before `split` are in this part.
    const counted = block.streams.map(() => 0);
    const part = (to: number, split = block.streams.length): Promise<void> | undefined => {
      const whole = rowsWithin(block.ends, cut, to);
      const partial = whole < cut && (whole === 0 ? 0 : block.ends[whole - 1]!) < to;
      for (let j = 0; j < block.streams.length; j++) {
        const counts = block.streams[j]!.counts;
        const upTo = counts[whole]! + (partial && j < split ? counts[whole + 1]! - counts[whole]! : 0);
        const n = upTo - counted[j]!;
        counted[j] = upTo;
        if (n > 0) this.targets[j]!.counted?.(n);
      }
      parts++;
      return write(block.bytes.subarray(from, to), written);
    };
    for (const { st, i } of firsts) {
      if (st.firstOffset > from) await part(st.firstOffset, i);
      from = Math.max(from, st.firstOffset);
      await this.targets[i]!.onFirstRecord();
    }
    if (end > from) await part(end);
    for (let i = 0; i < block.streams.length; i++) {
      const st = block.streams[i]!;
      const stats = this.outcome.streams[i]!;
      stats.emitted += st.counts[cut]!;
      let newest: string | undefined;
      for (const [row, date] of st.newest) if (row < cut) newest = date;
      if (newest !== undefined && (stats.newestEmitted === undefined || newest > stats.newestEmitted)) stats.newestEmitted = newest;
    }
    written(); // last: the counts are views on the same buffer, which goes back to its worker once written
    return stopped;
  }
}

/** How many of a block's first `rows` rows have all their lines before `offset` (a row boundary): ends are ascending. */
export function rowsWithin(ends: Uint32Array, rows: number, offset: number): number {
  let lo = 0;
  let hi = rows;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The header record, parsed from the file's first bytes exactly as the row path parses it; undefined when that fails. */
function readHeader(file: CsvFile): string[] | undefined {
  const bytes = Buffer.allocUnsafe(file.layout.headerEnd);
  const fd = openSync(file.path, 'r');
  try {
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) return undefined;
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  try {
    const records = parse(bytes, csvParseOptions(file.maxRecordBytes));
    return records.length === 1 ? records[0] : undefined;
  } catch {
    return undefined;
  }
}
