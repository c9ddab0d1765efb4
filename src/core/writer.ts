/**
 * The one owner of stdout. Messages become JSON lines, batched into chunks (fewer syscalls), written
 * with backpressure: when the stream's buffer is full, `write` returns a promise that the producer
 * awaits, so a slow reader slows the download instead of growing memory. A reader that closes the pipe
 * (EPIPE, e.g. `| head -1`) ends the process quietly through `onClosed`.
 *
 * Only whole lines are ever handed to the stream, so a stop (signal) between two writes never leaves a
 * partial JSON line.
 */
import type { Writable } from 'node:stream';
import type { AirbyteMessage } from './messages.js';

const CHUNK_CHARS = 64 * 1024;

export interface WriterOptions {
  /** Called once when the reader has gone away (EPIPE or stream destroyed). */
  onClosed?: () => void;
}

export class Writer {
  private pending = '';
  private scheduled = false;
  private blocked: Promise<void> | undefined;
  private closedFlag = false;

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

  /** Queue one message. Returns a promise only when the caller must wait (backpressure). */
  write(message: AirbyteMessage | object): Promise<void> | undefined {
    return this.writeLine(JSON.stringify(message));
  }

  /** Queue one already-serialised JSON line (no newline). */
  writeLine(line: string): Promise<void> | undefined {
    if (this.closedFlag) return undefined;
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
    if (this.out.destroyed || this.out.writableEnded) {
      this.markClosed();
      return undefined;
    }
    const chunk = this.pending;
    this.pending = '';
    let ok: boolean;
    try {
      ok = this.out.write(chunk);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') {
        this.markClosed();
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
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
        this.out.on('error', done);
      });
    }
    return this.blocked;
  }

  /** Flush everything and wait until the stream has taken it. */
  async end(): Promise<void> {
    await this.flush();
    while (this.blocked) await this.blocked;
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.pending = '';
    this.options.onClosed?.();
  }
}
