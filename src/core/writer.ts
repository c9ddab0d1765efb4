/**
 * The one owner of stdout. Messages become JSON lines, batched into chunks (fewer syscalls), written
 * with backpressure: when the stream's buffer is full, `write` returns a promise that the producer
 * awaits, so a slow reader slows the download instead of growing memory. A reader that closes the pipe
 * (EPIPE, e.g. `| head -1`) ends the process quietly through `onClosed`.
 *
 * Typed: a Writer<M> accepts only messages of its protocol's union M (a misspelt `type` does not
 * compile). The record hot path hands over pre-encoded lines, which only a protocol's own typed
 * encoder can make (`EncodedLine` is a branded string).
 *
 * Only whole lines are ever handed to the stream. On a stop, `seal()` refuses further producer writes,
 * so the last lines (a final status) can be written and flushed before the process exits.
 */
import type { Writable } from 'node:stream';

const CHUNK_CHARS = 64 * 1024;

declare const encoded: unique symbol;
/** One message already serialised as JSON (no newline), by a protocol's typed encoder. */
export type EncodedLine = string & { readonly [encoded]: true };

/** For the protocol layers' typed encoders only: marks a string they built as one JSON message. */
export function asEncodedLine(json: string): EncodedLine {
  return json as EncodedLine;
}

export interface WriterOptions {
  /** Called once when the reader has gone away (EPIPE or stream destroyed). */
  onClosed?: () => void;
}

export class Writer<M extends { type: string }> {
  private pending = '';
  private scheduled = false;
  private blocked: Promise<void> | undefined;
  private closedFlag = false;
  private sealed = false;

  constructor(
    private readonly out: Writable,
    private readonly options: WriterOptions = {},
  ) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.markClosed();
      else throw err;
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Queue one message. Returns a promise only when the caller must wait (backpressure). Once sealed, a
   * STATE is dropped like a record: records may have been dropped before it, and a STATE after them
   * would tell the platform they were delivered.
   */
  write(message: M): Promise<void> | undefined {
    if (this.closedFlag || (this.sealed && message.type === 'STATE')) return undefined;
    const wait = this.queue(JSON.stringify(message));
    return this.sealed ? undefined : wait;
  }

  /** Queue one pre-encoded message (the record hot path). Dropped once the writer is sealed. */
  writeLine(line: EncodedLine): Promise<void> | undefined {
    if (this.closedFlag || this.sealed) return undefined;
    return this.queue(line);
  }

  /**
   * Queue whole record lines already framed and encoded as UTF-8 bytes (the block workers' output:
   * streams/block-worker.ts, with the protocol's RecordFraming). Dropped once the writer is sealed.
   * `written` is called once the stream no longer needs the bytes (handed to the OS, or dropped), so
   * their memory can be reused.
   */
  writeBytes(lines: Uint8Array, written?: () => void): Promise<void> | undefined {
    if (this.closedFlag || this.sealed) {
      if (written) queueMicrotask(written);
      return undefined;
    }
    this.lastWriteAt = Date.now();
    if (this.pending.length) void this.flush();
    return this.send(lines, written);
  }

  /**
   * On a stop (signal, crash): records and STATE are no longer accepted, and producers waiting on
   * backpressure are let go so they can unwind; other typed messages (a final stream status, a TRACE)
   * are still written, after what is pending, so stdout ends on whole lines that say how the run ended.
   */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    this.release?.();
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  private release: (() => void) | undefined;

  /** When the last message was queued (ms since the epoch), for heartbeats. */
  lastWriteAt = Date.now();

  private queue(line: string): Promise<void> | undefined {
    this.lastWriteAt = Date.now();
    this.pending += line + '\n';
    if (this.pending.length >= CHUNK_CHARS) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return this.blocked;
  }

  /** Hand the queued lines to the stream now. */
  flush(): Promise<void> | undefined {
    if (this.pending.length === 0 || this.closedFlag) return this.blocked;
    const chunk = this.pending;
    this.pending = '';
    return this.send(chunk);
  }

  /** Hands one chunk of whole lines to the stream; the promise says the stream's buffer is full. */
  private send(chunk: string | Uint8Array, written?: () => void): Promise<void> | undefined {
    if (this.closedFlag || this.out.destroyed || this.out.writableEnded) {
      this.markClosed();
      if (written) queueMicrotask(written);
      return undefined;
    }
    let ok: boolean;
    try {
      ok = written ? this.out.write(chunk, () => written()) : this.out.write(chunk);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') {
        this.markClosed();
        if (written) queueMicrotask(written);
        return undefined;
      }
      throw err;
    }
    if (!ok && !this.blocked) {
      this.blocked = new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.out.off('error', done);
          this.blocked = undefined;
          this.release = undefined;
          resolve();
        };
        this.release = resolve;
        this.out.on('drain', done);
        this.out.on('close', done);
        this.out.on('error', done);
      });
    }
    return this.blocked;
  }

  /** Flush everything and wait until the stream has handed it all to the OS (or the reader went away). */
  async end(): Promise<void> {
    void this.flush();
    if (this.closedFlag || this.out.writableLength === 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.out.writableLength > 0 && !this.out.destroyed) return;
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.pending = '';
    this.options.onClosed?.();
  }
}
