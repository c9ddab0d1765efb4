/**
 * Prompt release of large transient buffers on the main thread. A download and its check stream hundreds
 * of MB through short-lived Buffers (socket reads, file reads, inflated chunks) whose memory V8 frees
 * only when the small JS objects holding them are collected; the main isolate allocates little else, so
 * without help those buffers pile up (tens of MB) before a collection comes. `Reclaimer.note(bytes)`
 * runs a young-generation collection after every `every` bytes passed through (about a millisecond each;
 * a 1M-response export costs ~100 of them), so what is held stays near `every`.
 *
 * The collector is V8's `gc()`, exposed at run time (v8.setFlagsFromString('--expose-gc'), the flag is
 * read when a context is created, so a fresh vm context gets the function). Where that is unavailable
 * the reclaimer does nothing and V8 collects on its own schedule.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let collector: Gc | null | undefined;

function gc(): Gc | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    collector = typeof fn === 'function' ? (fn as Gc) : null;
  } catch {
    collector = null;
  }
  return collector;
}

export class Reclaimer {
  private pending = 0;

  constructor(private readonly every: number = 8 * 1024 * 1024) {}

  note(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.every) return;
    this.pending = 0;
    gc()?.({ type: 'minor' });
  }
}
