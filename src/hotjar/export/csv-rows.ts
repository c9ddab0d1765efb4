/**
 * CSV bytes → batches of rows (arrays of strings), parsed by csv-parse in a worker thread.
 *
 * Protocol: the main thread posts chunks (copied into their own memory and transferred) and an end
 * marker; the worker answers each chunk with one batch of the rows it completed, in order, then `done`
 * with the rest, or `error`. At most IN_FLIGHT chunks are outstanding, so memory stays bounded and a
 * slow consumer (stdout backpressure) slows the reading, while the worker parses the next chunk as the
 * main thread encodes the current batch. One record may be at most `maxRecordBytes` long, so memory
 * never follows a giant cell.
 */
import { Worker } from 'node:worker_threads';
import { CsvSyntaxError } from '../../core/errors.js';

const IN_FLIGHT = 3;

export type FromWorker =
  | { type: 'rows'; rows: string[][] }
  | { type: 'done'; rows: string[][] }
  | { type: 'error'; error: { code: string; message: string; lines?: number } };

export interface WorkerInput {
  maxRecordBytes: number;
}

export async function* csvRows(source: AsyncIterable<Uint8Array>, maxRecordBytes: number): AsyncGenerator<string[][]> {
  const workerData: WorkerInput = { maxRecordBytes };
  const worker = new Worker(new URL('./csv-worker.js', import.meta.url), {
    workerData,
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  const inbox: FromWorker[] = [];
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let failure: unknown; // the worker crashed, or the source failed
  worker.on('message', (m: FromWorker) => {
    inbox.push(m);
    poke();
  });
  worker.on('error', (err) => {
    failure ??= err;
    poke();
  });

  // The pump reads the source and feeds the worker, at most IN_FLIGHT chunks ahead of the consumer.
  const it = source[Symbol.asyncIterator]();
  let inFlight = 0;
  let stopped = false;
  let credit: (() => void) | undefined;
  const pump = (async (): Promise<void> => {
    try {
      for (;;) {
        while (inFlight >= IN_FLIGHT && !stopped) await new Promise<void>((resolve) => (credit = resolve));
        if (stopped) return;
        const r = await it.next();
        if (r.done) {
          worker.postMessage({ type: 'end' });
          return;
        }
        const copy = new Uint8Array(r.value); // own memory, so it can be transferred
        worker.postMessage({ type: 'chunk', chunk: copy }, [copy.buffer]);
        inFlight++;
      }
    } catch (err) {
      failure ??= err;
      poke();
    }
  })();

  try {
    for (;;) {
      while (inbox.length === 0) {
        if (failure !== undefined) throw failure instanceof Error ? failure : new Error('the CSV worker failed');
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const msg = inbox.shift();
      if (msg === undefined) continue;
      if (msg.type === 'error') throw new CsvSyntaxError(msg.error.message, msg.error.code, msg.error.lines);
      if (msg.type === 'rows') {
        inFlight--;
        credit?.();
      }
      if (msg.rows.length) yield msg.rows;
      if (msg.type === 'done') return;
    }
  } finally {
    stopped = true;
    credit?.();
    await pump;
    await it.return?.();
    await worker.terminate();
  }
}
