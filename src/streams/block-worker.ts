/**
 * Block worker: parses record-aligned blocks of a verified CSV file on local disk with csv-parse,
 * checks each row (row-rules.ts), filters it per stream (state.ts: isNew) and encodes the new ones
 * with the streams' own encoders, framed as the protocol's RECORD lines (core/framing.ts), straight
 * into bytes. The main thread gets those bytes (transferred, not copied) with a few numbers per row,
 * and only decides what depends on order: the early stop, duplicates, statuses, state. See
 * block-pool.ts for the protocol.
 *
 * Cells as bytes: when the file is valid UTF-8 (the scan that found the blocks says so), cells are
 * decoded as latin1 — one character per byte, no UTF-8 decoding — and the output is written back the
 * same way. JSON escaping touches only ASCII characters, so the bytes out are exactly those that
 * decoding, escaping and encoding as UTF-8 would give; the header's keys and the framing are turned
 * into the same byte form. A file that is not valid UTF-8 is handled as text (replacement characters,
 * as the row-by-row path does).
 *
 * A block is parsed in its record-aligned pieces (about 128 KiB each), each after the header record's
 * bytes, so the parser sees the header first (the column count every row must match) and starts the
 * piece exactly as a parser of the whole file would; a piece's rows are few, so they die young.
 * A row that fails a check, or a block that is not valid CSV, ends the block at that row with `halt`:
 * the reader then goes on row by row from there, so every error reads exactly as it always did.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { parse } from 'csv-parse/sync';
import { csvParseOptions } from '../core/csv.js';
import { framer } from '../core/framing.js';
import type { BlockJob, BlockSurveySetup, FromBlockWorker, StreamBlockStats, ToBlockWorker } from './block-pool.js';
import { streamByName } from './catalog.js';
import { layout } from './columns.js';
import { RowChecker } from './row-rules.js';
import { isNew, type Position } from './state.js';
import type { RowEncoder } from './stream.js';

const port = parentPort;
if (!port) throw new Error('block-worker.js runs only as a worker thread');
void workerData;

/** A string's UTF-8 bytes as a latin1 string (one character per byte). */
const asBytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
const FLUSH_CHARS = 16 * 1024;

let input = Buffer.allocUnsafe(0);
/** Output buffers given back by the main thread once written, reused for later blocks. */
const spare: ArrayBuffer[] = [];
const MAX_SPARE = 2;

interface StreamState {
  position: Position;
  encoder: RowEncoder;
  frame: (data: string) => string;
}

class Survey {
  private readonly fd: number;
  private readonly headerBytes: Buffer;
  private readonly checker: RowChecker;
  private readonly streams: StreamState[];
  private readonly latin1: boolean;
  private readonly startDate: string | undefined;
  private readonly options: ReturnType<typeof csvParseOptions>;
  private readonly unchecked: ReturnType<typeof csvParseOptions>;
  private readonly maxRecordBytes: number;
  /** Output bytes per CSV byte of the largest ratio seen so far (a first guess before any block). */
  private outputRatio = 2;

  constructor(setup: BlockSurveySetup) {
    this.latin1 = setup.utf8;
    const text = this.latin1 ? asBytes : (s: string): string => s;
    this.fd = openSync(setup.path, 'r');
    this.headerBytes = Buffer.allocUnsafe(setup.headerEnd - setup.bomBytes);
    readFully(this.fd, this.headerBytes, 0, this.headerBytes.length, setup.bomBytes);
    const header = setup.header.map(text);
    const columns = RowChecker.columns(header);
    if ('column' in columns) throw new Error(`block worker: the header has no ${columns.column} column`);
    this.checker = new RowChecker(columns.numberIndex, columns.dateIndex, setup.latest);
    const ctx = { siteId: text(setup.siteId), surveyId: text(setup.surveyId), layout: layout(header) };
    this.streams = setup.streams.map((s) => {
      const definition = streamByName(s.name, 'password'); // block passes are password mode's exports
      if (definition?.kind !== 'responses') throw new Error(`block worker: no stream of responses named ${s.name}`);
      const f = s.framing;
      return {
        position: s.position,
        encoder: definition.encoder(ctx),
        frame: framer({ before: text(f.before), between: text(f.between), time: f.time, after: text(f.after) }),
      };
    });
    this.startDate = setup.startDate;
    // The file's byte order mark is not in headerBytes: nothing is left for `bom` to skip.
    this.options = { ...csvParseOptions(setup.maxRecordBytes), bom: false, encoding: this.latin1 ? 'latin1' : 'utf8' };
    // csv-parse checks the record size at every byte. A record cannot be longer than the bytes it is
    // parsed from (the size counts cells' characters, at most one per byte), so for a piece shorter than
    // the limit the check can never fire and is skipped: the same outcome, less work per byte.
    this.unchecked = { ...this.options, max_record_size: 0 };
    this.maxRecordBytes = setup.maxRecordBytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  block(job: BlockJob): { message: FromBlockWorker; transfer: ArrayBuffer[] } {
    const headerLength = this.headerBytes.length;
    // Sized from what earlier blocks of this survey gave per CSV byte (records repeat their keys, so
    // the lines are often twice the CSV), with room to spare, and rounded up so that a buffer given
    // back by the main thread fits the next block of about the same size: no growing, no new buffers.
    const out = new Output(roundUp(Math.ceil((job.end - job.start) * this.outputRatio * 1.1) + 65536, OUTPUT_GRAIN), this.latin1);
    const capacity = Math.ceil((job.end - job.start) / 256) + 16;
    let numbers = new Float64Array(capacity);
    let ends = new Uint32Array(capacity);
    const stats: StreamBlockStats[] = this.streams.map(() => ({
      counts: new Uint32Array(capacity + 1),
      firstRow: -1,
      firstOffset: 0,
      newest: [],
    }));
    const emitted = this.streams.map(() => 0);
    const newest: (string | undefined)[] = this.streams.map(() => undefined);
    const checker = this.checker;
    let rows = 0;
    let halt = false;
    // A job is parsed in its pieces (record-aligned too), each after the header's bytes: a piece's rows
    // are few, so they die young and the worker's heap stays small.
    for (let p = 0; p + 1 < job.cuts.length && !halt; p++) {
      const from = job.cuts[p]!;
      const to = job.cuts[p + 1]!;
      const length = headerLength + to - from;
      if (input.length < length) input = Buffer.allocUnsafe(Math.max(length, input.length * 2));
      this.headerBytes.copy(input, 0);
      readFully(this.fd, input, headerLength, to - from, from);
      let records: string[][];
      try {
        records = parse(input.subarray(0, length), length < this.maxRecordBytes ? this.unchecked : this.options);
      } catch {
        halt = true; // not valid CSV from here: the row path reads on for the exact error
        break;
      }
      for (let r = 1; r < records.length; r++) {
        const row = records[r]!;
        if (checker.check(row) !== undefined) {
          halt = true; // the row path goes on from this row
          break;
        }
        if (rows === numbers.length) {
          numbers = grow(numbers, new Float64Array(rows * 2));
          ends = grow(ends, new Uint32Array(rows * 2));
          for (const st of stats) st.counts = grow(st.counts, new Uint32Array(rows * 2 + 1));
        }
        const number = checker.number;
        const date = checker.date;
        numbers[rows] = number;
        for (let s = 0; s < this.streams.length; s++) {
          const stream = this.streams[s]!;
          const st = stats[s]!;
          if (isNew(stream.position, number, date, this.startDate)) {
            if (st.firstRow < 0) {
              st.firstRow = rows;
              st.firstOffset = out.offset;
            }
            const before = emitted[s]!;
            const frame = stream.frame;
            void stream.encoder.encode(row, number, date, (data) => {
              emitted[s]!++;
              out.add(frame(data));
              return undefined;
            });
            if (emitted[s]! > before && (newest[s] === undefined || date > newest[s]!)) {
              newest[s] = date;
              st.newest.push([rows, date]);
            }
          }
          st.counts[rows + 1] = emitted[s]!;
        }
        ends[rows] = out.offset;
        rows++;
      }
    }
    // The per-row numbers go after the lines, in the same buffer: one transfer each way, and the main
    // thread gives the whole buffer back for reuse (a typed array transferred on its own would be freed
    // only by the main isolate's next full GC, and those pile up as external memory).
    if (job.end > job.start) this.outputRatio = Math.max(this.outputRatio, out.offset / (job.end - job.start));
    const packed = out.finish([numbers.subarray(0, rows), ends.subarray(0, rows), ...stats.map((st) => st.counts.subarray(0, rows + 1))]);
    const message: FromBlockWorker = {
      type: 'block',
      survey: job.survey,
      index: job.index,
      rows,
      halt,
      buffer: packed.buffer,
      length: packed.length,
      streams: stats.map(({ firstRow, firstOffset, newest }) => ({ firstRow, firstOffset, newest })),
    };
    return { message, transfer: [packed.buffer] };
  }
}

/** The block's RECORD lines, gathered in a string and written out in pieces into one growing buffer. */
class Output {
  private buf: Buffer;
  private written = 0;
  private pending = '';

  constructor(
    size: number,
    private readonly latin1: boolean,
  ) {
    const reused = spare.pop();
    this.buf = Buffer.from(reused && reused.byteLength >= size ? reused : new ArrayBuffer(size));
  }

  /** Bytes so far (in latin1 form a character is a byte; text is written out at once). */
  get offset(): number {
    if (!this.latin1) this.flush();
    return this.written + this.pending.length;
  }

  add(line: string): void {
    this.pending += line;
    this.pending += '\n';
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  /** The buffer: the lines (`length` bytes), then each of `tail`'s arrays at the next 8-byte boundary. */
  finish(tail: (Float64Array | Uint32Array)[]): { buffer: ArrayBuffer; length: number } {
    this.flush();
    const length = this.written;
    let end = align8(length);
    for (const a of tail) end = align8(end + a.byteLength);
    if (end > this.buf.length) {
      const grown = Buffer.from(new ArrayBuffer(end));
      this.buf.copy(grown, 0, 0, length);
      this.buf = grown;
    }
    const buffer = this.buf.buffer as ArrayBuffer;
    let at = align8(length);
    for (const a of tail) {
      new Uint8Array(buffer, this.buf.byteOffset + at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      at = align8(at + a.byteLength);
    }
    return { buffer, length };
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const most = this.latin1 ? this.pending.length : Buffer.byteLength(this.pending);
    if (this.written + most > this.buf.length) {
      const grown = Buffer.from(new ArrayBuffer(Math.max(this.written + most, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.written);
      this.buf = grown;
    }
    this.written += this.buf.write(this.pending, this.written, this.latin1 ? 'latin1' : 'utf8');
    this.pending = '';
  }
}

const align8 = (n: number): number => (n + 7) & ~7;
const roundUp = (n: number, grain: number): number => Math.ceil(n / grain) * grain;
/** Output buffers are sized in steps of this: blocks differ by a record or so, buffers are reused across them. */
const OUTPUT_GRAIN = 256 * 1024;

function grow<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) throw new Error(`block worker: the file ends ${length - done} bytes early`);
    done += n;
  }
}

const surveys = new Map<number, Survey>();
const post = (message: FromBlockWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

port.on('message', (msg: ToBlockWorker) => {
  try {
    switch (msg.type) {
      case 'survey':
        surveys.set(msg.survey, new Survey(msg.setup));
        return;
      case 'forget':
        surveys.get(msg.survey)?.close();
        surveys.delete(msg.survey);
        return;
      case 'buffer':
        if (spare.length < MAX_SPARE) spare.push(msg.buffer);
        return;
      case 'block': {
        const survey = surveys.get(msg.job.survey);
        if (!survey) throw new Error(`block worker: no survey ${msg.job.survey}`);
        const { message, transfer } = survey.block(msg.job);
        post(message, transfer);
        return;
      }
    }
  } catch (err) {
    if (msg.type === 'buffer') return;
    const survey = msg.type === 'block' ? msg.job.survey : msg.survey;
    post({ type: 'failed', survey, message: err instanceof Error ? err.message : String(err) });
  }
});
