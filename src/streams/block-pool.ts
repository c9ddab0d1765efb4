/**
 * A small pool of block workers (block-worker.ts), shared by every survey read at the same time. A
 * survey whose pass is a verified CSV file on local disk (SurveyPass.csvFile) is parsed in
 * record-aligned blocks (core/csv.ts), several at once; results come back in file order.
 *
 * Protocol: the main thread sends a worker a survey's setup (header, streams with their positions and
 * framing, file) once, before that worker's first block of it; then blocks (byte ranges); then `forget`.
 * The worker answers each block with its RECORD lines as bytes (transferred, not copied) and, per row,
 * the Number and where its lines end, and per stream the running record count, where its first new
 * row's lines start, and the rows where its newest emitted date rose.
 *
 * Memory: each worker has at most WORKER_QUEUE blocks outstanding (one parsing, one waiting), and a
 * survey at most `ahead` blocks submitted but not yet consumed, so what is held is a few blocks per
 * survey, whatever the file's size; a slow stdout slows the consumer, which stops submitting. A block's
 * bytes buffer goes back to its worker once written, for a later block (no garbage per block).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RecordFraming } from '../core/framing.js';
import type { Position } from './state.js';
import type { StreamName } from './stream.js';

/**
 * Pieces of the file's layout (core/csv.ts: DEFAULT_BLOCK_BYTES each) per block sent to a worker: ~512 KiB
 * of CSV, ~1.25 MiB of lines. 8 held ~5 MB more at the same speed; 2 was no better (README "Performance").
 */
export const PIECES_PER_BLOCK = 4;
/** Blocks sent to one worker and not yet answered. */
const WORKER_QUEUE = 2;
/** A worker's young generation (MB): small, since a piece's rows die young; 4 costs 10–15% more CPU, 16 saves ~3% for 10 MB more (see README "Performance"). */
const WORKER_YOUNG_MB = 8;

/** A worker's old generation (MB): room for a few copies of the largest record csv-parse lets through, little more. */
export function workerOldGenerationMb(maxRecordBytes: number): number {
  return 32 + 4 * Math.ceil(maxRecordBytes / (1024 * 1024));
}

export interface BlockSurveySetup {
  path: string;
  bomBytes: number;
  headerEnd: number;
  /** The file is valid UTF-8 (cells are handled as bytes). */
  utf8: boolean;
  maxRecordBytes: number;
  /** The header row as the reader parsed it. */
  header: string[];
  siteId: string;
  surveyId: string;
  startDate: string | undefined;
  /** row-rules.ts: latestDate of the pass. */
  latest: string;
  streams: { name: StreamName; position: Position; framing: RecordFraming }[];
}

export interface BlockJob {
  survey: number;
  index: number;
  start: number;
  end: number;
  /** Record-aligned cuts [start, …, end]: the worker parses the pieces between them one by one. */
  cuts: number[];
}

export type ToBlockWorker =
  | { type: 'survey'; survey: number; setup: BlockSurveySetup }
  | { type: 'block'; job: BlockJob }
  | { type: 'forget'; survey: number }
  /** A block's bytes buffer, written out: the worker reuses it for a later block's output. */
  | { type: 'buffer'; buffer: ArrayBuffer };

export interface StreamBlockStats {
  /** counts[i]: records of this stream in rows [0, i). */
  counts: Uint32Array;
  /** The block's first row that is new for this stream (-1: none), and where its lines start. */
  firstRow: number;
  firstOffset: number;
  /** [row, date]: the rows where the newest date among rows with records rose. */
  newest: [number, string][];
}

export interface BlockResult {
  type: 'block';
  survey: number;
  index: number;
  /** Rows that passed their checks (the block's first `rows` data rows). */
  rows: number;
  /** Row `rows` failed a check, or the block is not valid CSV: read on row by row from there. */
  halt: boolean;
  /** The RECORD lines of rows [0, rows), in order. */
  bytes: Uint8Array;
  numbers: Float64Array;
  /** ends[i]: the offset in `bytes` where row i's lines end. */
  ends: Uint32Array;
  streams: StreamBlockStats[];
  /** The worker that made it (set on this thread). */
  from?: Slot | undefined;
}

/**
 * A block's answer as the worker sends it: one buffer, transferred, holding the lines (`length` bytes),
 * then at 8-byte boundaries the rows' Numbers (Float64), their ends (Uint32) and each stream's counts
 * (Uint32, rows + 1). The pool turns it into a BlockResult of views on that buffer.
 */
export interface BlockMessage {
  type: 'block';
  survey: number;
  index: number;
  rows: number;
  halt: boolean;
  buffer: ArrayBuffer;
  length: number;
  streams: Omit<StreamBlockStats, 'counts'>[];
}

export type FromBlockWorker = BlockMessage | { type: 'failed'; survey: number; message: string };

const align8 = (n: number): number => (n + 7) & ~7;

/** The views of a BlockMessage's buffer (see there). */
export function unpack(m: BlockMessage): BlockResult {
  const { buffer, rows } = m;
  let at = align8(m.length);
  const view = <T>(make: (offset: number) => T, bytes: number): T => {
    const v = make(at);
    at = align8(at + bytes);
    return v;
  };
  const numbers = view((o) => new Float64Array(buffer, o, rows), rows * 8);
  const ends = view((o) => new Uint32Array(buffer, o, rows), rows * 4);
  const streams = m.streams.map((st) => ({ ...st, counts: view((o) => new Uint32Array(buffer, o, rows + 1), (rows + 1) * 4) }));
  return {
    type: 'block',
    survey: m.survey,
    index: m.index,
    rows,
    halt: m.halt,
    bytes: new Uint8Array(buffer, 0, m.length),
    numbers,
    ends,
    streams,
  };
}

export interface Slot {
  worker: Worker;
  outstanding: number;
  surveys: Set<number>;
  dead: boolean;
}

/** A block worker failed or stopped (out of memory, say): the reader goes on row by row. */
export class BlockWorkerError extends Error {}

/** How many block workers a machine gets: two cores' worth (or one), see README "Performance". */
export function poolSize(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

export class BlockPool {
  private readonly slots: Slot[] = [];
  private readonly queue: BlockJob[] = [];
  private readonly runs = new Map<number, BlockRun>();
  private nextSurvey = 1;

  constructor(
    readonly size: number = poolSize(),
    private readonly url: URL = new URL('./block-worker.js', import.meta.url),
  ) {}

  /**
   * Starts the workers now (they load while the first export downloads and is checked, instead of
   * after), sized for records up to `maxRecordBytes`.
   */
  prestart(maxRecordBytes: number): void {
    while (this.slots.length < this.size) this.start(maxRecordBytes);
  }

  /** Starts reading one file's blocks; consume the run's results in order, then close it. */
  run(setup: BlockSurveySetup, boundaries: readonly number[]): BlockRun {
    const id = this.nextSurvey++;
    const run = new BlockRun(this, id, setup, boundaries, this.size * WORKER_QUEUE);
    this.runs.set(id, run);
    run.fill();
    return run;
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** @internal */
  submit(job: BlockJob): void {
    this.queue.push(job);
    this.dispatch();
  }

  /** @internal Drops a run's queued jobs and its setup in the workers. */
  release(run: BlockRun): void {
    this.runs.delete(run.id);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.survey === run.id) this.queue.splice(i, 1);
    for (const slot of this.slots) {
      if (slot.surveys.delete(run.id) && !slot.dead) slot.worker.postMessage({ type: 'forget', survey: run.id } satisfies ToBlockWorker);
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const run = this.runs.get(this.queue[0]!.survey);
      if (!run) {
        this.queue.shift();
        continue;
      }
      const slot = this.freeSlot(run.setup.maxRecordBytes);
      if (!slot) return;
      const job = this.queue.shift()!;
      if (!slot.surveys.has(job.survey)) {
        slot.surveys.add(job.survey);
        slot.worker.postMessage({ type: 'survey', survey: job.survey, setup: run.setup } satisfies ToBlockWorker);
      }
      slot.outstanding++;
      slot.worker.postMessage({ type: 'block', job } satisfies ToBlockWorker);
    }
  }

  /** The live worker with the fewest outstanding blocks, if one can take another; starts workers as needed. */
  private freeSlot(maxRecordBytes: number): Slot | undefined {
    for (let i = this.slots.length - 1; i >= 0; i--) if (this.slots[i]!.dead) this.slots.splice(i, 1);
    let best: Slot | undefined;
    for (const s of this.slots) if (s.outstanding < WORKER_QUEUE && (!best || s.outstanding < best.outstanding)) best = s;
    if (best && best.outstanding === 0) return best;
    if (this.slots.length < this.size) return this.start(maxRecordBytes);
    return best;
  }

  private start(maxRecordBytes: number): Slot {
    const worker = new Worker(this.url, {
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB, maxOldGenerationSizeMb: workerOldGenerationMb(maxRecordBytes) },
    });
    const slot: Slot = { worker, outstanding: 0, surveys: new Set(), dead: false };
    worker.on('message', (m: FromBlockWorker) => {
      if (m.type === 'block') {
        slot.outstanding--;
        this.runs.get(m.survey)?.receive({ ...unpack(m), from: slot });
      } else this.runs.get(m.survey)?.receive(m);
      this.dispatch();
    });
    const fail = (err: Error): void => {
      if (slot.dead) return;
      slot.dead = true;
      for (const id of slot.surveys)
        this.runs.get(id)?.fail(new BlockWorkerError(`A block worker stopped: ${err.message}`, { cause: err }));
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}

/** One file's blocks, submitted a few ahead of the consumer and handed out in order. */
export class BlockRun {
  private readonly results = new Map<number, BlockResult>();
  private submitted = 0;
  private consumed = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly pool: BlockPool,
    readonly id: number,
    readonly setup: BlockSurveySetup,
    private readonly boundaries: readonly number[],
    private readonly ahead: number,
  ) {}

  get blocks(): number {
    return Math.ceil((this.boundaries.length - 1) / PIECES_PER_BLOCK);
  }

  /** The next block's result in file order, or undefined after the last. */
  async next(): Promise<BlockResult | undefined> {
    if (this.consumed >= this.blocks) return undefined;
    for (;;) {
      if (this.failure) throw this.failure;
      const result = this.results.get(this.consumed);
      if (result) {
        this.results.delete(this.consumed);
        this.consumed++;
        this.fill();
        return result;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.results.clear();
    this.pool.release(this);
  }

  /** Gives a consumed block's buffer back to its worker, once written (none of its arrays may be used after). */
  recycle(block: BlockResult): void {
    const slot = block.from;
    const buffer = block.bytes.buffer as ArrayBuffer;
    if (!slot || slot.dead || buffer.byteLength === 0) return;
    slot.worker.postMessage({ type: 'buffer', buffer } satisfies ToBlockWorker, [buffer]);
  }

  /** @internal */
  receive(m: BlockResult | { type: 'failed'; survey: number; message: string }): void {
    if (this.closed) return;
    if (m.type === 'failed') this.fail(new BlockWorkerError(`A block worker failed: ${m.message}`));
    else this.results.set(m.index, m);
    this.poke();
  }

  /** @internal */
  fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** @internal Submits blocks up to `ahead` past the consumer. */
  fill(): void {
    while (!this.closed && this.submitted < this.blocks && this.submitted < this.consumed + this.ahead) {
      const index = this.submitted++;
      const first = index * PIECES_PER_BLOCK;
      const cuts = this.boundaries.slice(first, Math.min(first + PIECES_PER_BLOCK, this.boundaries.length - 1) + 1);
      this.pool.submit({ survey: this.id, index, start: cuts[0]!, end: cuts[cuts.length - 1]!, cuts });
    }
  }
}
