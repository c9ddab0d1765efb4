/**
 * HTTP for the Hotjar clients: undici with timeouts (connect, headers, body inactivity) and an overall
 * deadline per attempt, so neither a hung server nor a slow drip can hang a sync; certificate checks
 * pinned on whatever the environment says; p-retry with exponential backoff and jitter for what the
 * outcome table (outcome.ts) says may pass.
 */
import pRetry from 'p-retry';
import type { Dispatcher } from 'undici';
import { CancelledError, ConfigError, HttpStatusError, TransientError } from '../core/errors.js';
import { snippet } from '../core/secrets.js';
import { codesOf, decide, describeFailure, outcomeOf, parseRetryAfter, redactUrl } from './outcome.js';
import { Agent, request } from './undici.js';

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
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT|UNABLE_TO_GET_ISSUER/;

export class Http {
  private readonly agent: Agent;

  constructor(readonly options: HttpOptions) {
    this.agent = new Agent({
      // Pinned: NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment must not turn verification off.
      connect: { timeout: Math.min(options.timeoutMs, 30_000), rejectUnauthorized: true },
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
          shouldRetry: ({ error }) => !(error instanceof CancelledError) && decide(outcomeOf(error), 'anonymous') === 'retry',
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (error instanceof CancelledError || decide(outcomeOf(error), 'anonymous') !== 'retry' || retriesLeft <= 0) return;
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
          `Hotjar ${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}; the last answer was ${describeFailure(err)}. Hotjar or the network may be down: try again later, or raise max_attempts.`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
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
