/**
 * HTTP for the Hotjar clients: undici with timeouts (connect, headers, body inactivity) and an overall
 * deadline per attempt, so neither a hung server nor a slow drip can hang a sync; certificate checks
 * pinned on whatever the environment says; p-retry with exponential backoff and jitter for what the
 * outcome table (outcome.ts) says may pass.
 */
import type { Socket } from 'node:net';
import pRetry from 'p-retry';
import type { Dispatcher } from 'undici';
import { CancelledError, ConfigError, ConnectorError, HttpStatusError, TransientError } from '../core/errors.js';
import { snippet } from '../core/secrets.js';
import { codesOf, decide, describeFailure, outcomeOf, parseRetryAfter, redactUrl } from './outcome.js';
import { Agent, SocketError, buildConnector, request } from './undici.js';

export interface HttpOptions {
  maxAttempts: number;
  maxRetryWaitMs: number;
  /** Longest silence (waiting for headers, or between body chunks). */
  timeoutMs: number;
  /** Longest time one attempt may take from start to the end of its body. */
  deadlineMs: number;
  log: (message: string) => void;
  signal?: AbortSignal | undefined;
  /** Told when Hotjar answers 429, with when the wait should end (ms since the epoch) if it said. */
  onRateLimited?: ((resumeAt: number | undefined) => void) | undefined;
}

export type Response = Dispatcher.ResponseData;

export interface SendInit {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: string;
  /** Bytes of the body undici buffers before it pauses the socket (its default: 64 KiB). */
  highWaterMark?: number;
}

const USER_AGENT = 'source-hotjar';
/** Certificate failures: not worth a retry, and the user (or their proxy) must act. */
/**
 * Whether a failed attempt is tried again: by the outcome table, for what the network or the server
 * said. A ConnectorError thrown inside an attempt (a cancelled run, a token request that already used
 * its own retries) is a final answer, never retried again here.
 */
function retryable(error: unknown): boolean {
  return !(error instanceof ConnectorError) && decide(outcomeOf(error), 'anonymous') === 'retry';
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT|UNABLE_TO_GET_ISSUER/;

export class Http {
  private readonly agent: Agent;

  constructor(readonly options: HttpOptions) {
    // Pinned: NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment must not turn verification off.
    const connect = buildConnector({ timeout: Math.min(options.timeoutMs, 30_000), rejectUnauthorized: true });
    this.agent = new Agent({
      connect: (opts, callback) =>
        connect(opts, (...result) => {
          if (result[0] === null) guardPausedParser(result[1]);
          callback(...result);
        }),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /**
   * One attempt of a call, no retry: `use` gets the response and must consume (or discard) its body.
   * The attempt's deadline covers the body too. Redirects are never followed here.
   */
  async send<T>(url: string, init: SendInit, use: (res: Response) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.options.deadlineMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, deadline]) : deadline;
    try {
      const res = await request(url, {
        dispatcher: this.agent,
        method: init.method ?? 'GET',
        headers: { 'user-agent': USER_AGENT, ...init.headers },
        body: init.body ?? null,
        signal,
        ...(init.highWaterMark !== undefined ? { highWaterMark: init.highWaterMark } : {}),
      });
      try {
        return await use(res);
      } finally {
        discard(res);
      }
    } catch (err) {
      if (this.options.signal?.aborted) throw new CancelledError(this.options.signal.reason as NodeJS.Signals);
      if (deadline.aborted) {
        throw Object.assign(new Error(`no complete answer within the ${this.options.deadlineMs / 1000} s request deadline`), {
          code: 'REQUEST_DEADLINE',
        });
      }
      throw err;
    }
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or the attempt budget is spent. `what` names the
   * call in logs and errors ("login", "export of survey 123").
   */
  async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { maxAttempts, maxRetryWaitMs, log, signal } = this.options;
    let attempts = 0;
    try {
      return await pRetry(
        async () => {
          attempts++;
          if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
          return attempt();
        },
        {
          retries: Math.max(0, maxAttempts - 1),
          factor: 2,
          minTimeout: Math.min(1000, maxRetryWaitMs),
          maxTimeout: maxRetryWaitMs,
          randomize: true,
          ...(signal ? { signal } : {}),
          shouldRetry: ({ error }) => retryable(error),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (!retryable(error) || retriesLeft <= 0) return;
            let wait = '';
            const retryAfter = error instanceof HttpStatusError ? error.retryAfterMs : undefined;
            if (error instanceof HttpStatusError && error.status === 429) {
              this.options.onRateLimited?.(retryAfter !== undefined ? Date.now() + Math.min(retryAfter, maxRetryWaitMs) : undefined);
            }
            if (retryAfter !== undefined) {
              const ms = Math.min(retryAfter, maxRetryWaitMs);
              wait = `; Hotjar asked to wait ${(retryAfter / 1000).toFixed(1)} s, waiting ${(ms / 1000).toFixed(1)} s plus backoff`;
              await sleep(ms, signal);
            }
            log(`Hotjar ${what}: attempt ${attemptNumber} of ${maxAttempts} failed: ${describeFailure(error)}; retrying${wait}.`);
          },
        },
      );
    } catch (err) {
      if (err instanceof CancelledError || signal?.aborted)
        throw new CancelledError((signal?.reason as NodeJS.Signals | undefined) ?? 'SIGTERM');
      const tls = codesOf(err).find((code) => TLS_CODES.test(code));
      if (tls !== undefined) {
        throw new ConfigError(
          `Hotjar ${what} failed: the server's TLS certificate could not be verified (${tls}). Check base_url; behind a TLS-intercepting proxy, give its CA with NODE_EXTRA_CA_CERTS. Certificate checks cannot be turned off.`,
          { cause: err },
        );
      }
      if (decide(outcomeOf(err), 'anonymous') === 'retry') {
        throw new TransientError(
          `Hotjar ${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}; the last answer was ${describeFailure(err)}. ${this.giveUpHint(err)}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** What to do when the retries ran out: the setting that matters for a timeout, else the generic advice. */
  private giveUpHint(err: unknown): string {
    const codes = codesOf(err);
    const seconds = (ms: number): string => `${ms / 1000} s`;
    if (codes.includes('UND_ERR_HEADERS_TIMEOUT') || codes.includes('UND_ERR_BODY_TIMEOUT'))
      return `Hotjar went silent for request_timeout_seconds (${seconds(this.options.timeoutMs)}); a large export takes Hotjar longer to build: raise request_timeout_seconds, or try again later.`;
    if (codes.includes('REQUEST_DEADLINE'))
      return `An attempt took longer than request_deadline_seconds (${seconds(this.options.deadlineMs)}); for a very large export or a slow link, raise request_deadline_seconds, or try again later.`;
    return 'Hotjar or the network may be down: try again later, or raise max_attempts.';
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

/**
 * Works around nodejs/undici#5360 (fixed only in undici 8, by nodejs/undici#5474; undici 8 needs Node 22).
 * When an answer is not kept alive (`Connection: close`, HTTP/1.0) and its body's reader applies
 * backpressure (the spool's disk slower than the network), undici pauses its HTTP/1 parser. If the server
 * then closes the connection (FIN, the normal end of such an answer) or resets it, undici's socket 'end'
 * or 'error' handler (or 'close', after Node's half-open close that follows an 'end') calls
 * `Parser.finish()`, which asserts that the parser is not paused: an AssertionError thrown from an event
 * handler, which no caller can catch, and the process dies.
 *
 * undici's parser pauses by handing the bytes it did not parse back with `socket.unshift()` (an empty
 * buffer when the pause falls on the last byte received: the one case where the socket can end under it)
 * and resumes by calling `socket.read()`; it reads nothing while paused, and Node itself only calls
 * `read(0)` on a socket that is not flowing. So each socket tells here whether its parser is paused:
 * - an 'end' while it is paused is held back, with the half-open close Node does after it, and delivered
 *   right after the parser's next read, when it runs again: the answer then completes as usual, or fails
 *   as cut short (a Content-Length not reached), exactly as it would have without backpressure;
 * - a reset (ECONNRESET) while it is paused is reported as a plain socket error (UND_ERR_SOCKET, the reset
 *   as its cause), with which undici fails the request instead of calling finish(): retried as any reset.
 * Backpressure is untouched (the socket is not read while the parser is paused), so memory stays bounded;
 * timeouts, the deadline and aborts destroy the socket with an error, as before, whatever is held. Nothing
 * is held unless undici would have crashed. Considered and not taken: reading bodies eagerly near their
 * end (needs a Content-Length, leaves close-delimited and cut bodies and resets exposed), asking for
 * keep-alive (the server decides). Remove this with undici 8.
 */
export function guardPausedParser(socket: Socket): void {
  let paused = false;
  let endHeld = false;
  const halfOpen = socket.allowHalfOpen;
  const unshift = socket.unshift.bind(socket);
  const read = socket.read.bind(socket);
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  const deliverEnd = (): void => {
    if (socket.destroyed) return;
    if (paused) {
      endHeld = true;
      return;
    }
    socket.allowHalfOpen = halfOpen;
    emit('end');
    if (!halfOpen && socket.writable) socket.end();
  };
  socket.unshift = (chunk: Buffer | string, encoding?: BufferEncoding): void => {
    paused = true;
    unshift(chunk, encoding);
  };
  socket.read = (size?: number): unknown => {
    if (size === undefined) {
      paused = false;
      if (endHeld) {
        endHeld = false;
        process.nextTick(deliverEnd);
      }
    }
    return read(size) as unknown;
  };
  socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (paused && event === 'end') {
      endHeld = true;
      // Node ends the writable side right after 'end' when the socket is not half-open: not yet.
      socket.allowHalfOpen = true;
      return true;
    }
    const cause = args[0];
    if (paused && event === 'error' && cause instanceof Error && (cause as NodeJS.ErrnoException).code === 'ECONNRESET') {
      args[0] = Object.assign(new SocketError(`the connection was reset while the answer was being read (${cause.message})`), {
        cause,
      });
    }
    return emit(event, ...args);
  };
}

/** Throws a body away without reading it (undici reports a destroyed, unread body as an error: ignore it). */
export function discard(res: Response): void {
  res.body.on('error', () => undefined);
  if (!res.body.destroyed) res.body.destroy();
}

/** Reads a small body as text (bounded), for JSON answers and error messages. */
export async function readText(res: Response, limit = 5 * 1024 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpStatusError(res.statusCode, '', `(answer over ${limit} bytes)`, undefined);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A non-2xx answer as an HttpStatusError, its body read (a little), masked before it is shortened. */
export async function statusError(res: Response, url: string): Promise<HttpStatusError> {
  let text = '';
  try {
    text = await readText(res, 64 * 1024);
  } catch {
    text = '';
  }
  return new HttpStatusError(res.statusCode, redactUrl(url), snippet(text), parseRetryAfter(res.headers['retry-after']));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!(ms > 0) || signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
