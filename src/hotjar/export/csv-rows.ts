/**
 * CSV bytes → batches of rows (arrays of strings), parsed by csv-parse in a worker thread.
 *
 * Protocol: the main thread posts chunks (copied into their own memory and transferred) and an end
 * marker; the worker answers each chunk with one batch of the rows it completed, in order, then `done`
 * with the rest, or `error`. At most IN_FLIGHT chunks are outstanding, so memory stays bounded and a
 * slow consumer (stdout backpressure) slows the download, while the worker parses the next chunk as
 * the main thread encodes the current batch.
 *
 * A CSV error is reported as CsvSyntaxError after the rest of the source was read: garbage from a
 * damaged archive can trip the parser before the archive's own checks (CRC) run, and then the source's
 * error (a BrokenExportError, worth a fresh export) is what is thrown instead.
 */
import { Worker } from 'node:worker_threads';
import { BrokenExportError } from '../errors.js';

const IN_FLIGHT = 3;

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly lines: number | undefined,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

type FromWorker =
  | { type: 'rows'; rows: string[][] }
  | { type: 'done'; rows: string[][] }
  | { type: 'error'; error: { code: string; message: string; lines?: number } };

export async function* csvRows(source: AsyncIterable<Uint8Array>): AsyncGenerator<string[][]> {
  const worker = new Worker(new URL('./csv-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
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
  let discard = false; // after a CSV error: read the rest of the source only to see whether it fails
  let credit: (() => void) | undefined;
  const pump = (async (): Promise<void> => {
    try {
      for (;;) {
        while (inFlight >= IN_FLIGHT && !stopped && !discard) await new Promise<void>((resolve) => (credit = resolve));
        if (stopped) return;
        const r = await it.next();
        if (r.done) {
          if (!discard) worker.postMessage({ type: 'end' });
          return;
        }
        if (discard) continue;
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
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const msg = inbox.shift()!;
      if (msg.type === 'error') {
        discard = true;
        credit?.();
        await pump;
        if (failure instanceof BrokenExportError) throw failure;
        throw new CsvSyntaxError(msg.error.message, msg.error.code, msg.error.lines);
      }
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
    await pump; // the caller aborts the download first, so a pending read ends promptly
    await it.return?.();
    await worker.terminate();
  }
}
