/**
 * HTTP for the Hotjar client: undici with timeouts (connect, headers, body inactivity) so a hung server
 * cannot hang a sync, and p-retry with exponential backoff and jitter for failures that may pass.
 */
import pRetry from 'p-retry';
import { Agent, request, type Dispatcher } from 'undici';
import { CancelledError, TransientError } from '../errors.js';
import { HttpStatusError, describeFailure, isRetryable, parseRetryAfter, redactUrl } from './retry-policy.js';

export interface HttpOptions {
  maxAttempts: number;
  maxRetryWaitMs: number;
  timeoutMs: number;
  log: (message: string) => void;
  signal?: AbortSignal;
}

export type Response = Dispatcher.ResponseData;

const USER_AGENT = 'source-hotjar (+https://github.com/airbytehq/airbyte)';
const MAX_SNIPPET = 200;

export class Http {
  readonly agent: Agent;

  constructor(readonly options: HttpOptions) {
    this.agent = new Agent({
      connect: { timeout: Math.min(options.timeoutMs, 30_000) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** One request, no retry. Redirects are never followed here. */
  async send(
    url: string,
    init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    return request(url, {
      dispatcher: this.agent,
      method: init.method ?? 'GET',
      headers: { 'user-agent': USER_AGENT, ...init.headers },
      body: init.body ?? null,
      signal: init.signal ?? this.options.signal,
    });
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or the attempt budget is spent. `what` names the
   * call in logs and errors ("login", "export of survey 123").
   */
  async retrying<T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> {
    const { maxAttempts, maxRetryWaitMs, log, signal } = this.options;
    let attempts = 0;
    try {
      return await pRetry(
        async (n) => {
          attempts = n;
          if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
          return attempt(n);
        },
        {
          retries: Math.max(0, maxAttempts - 1),
          factor: 2,
          minTimeout: Math.min(1000, maxRetryWaitMs),
          maxTimeout: maxRetryWaitMs,
          randomize: true,
          signal,
          shouldRetry: ({ error }) => isRetryable(error),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (!isRetryable(error) || retriesLeft <= 0) return;
            let wait = '';
            const retryAfter = error instanceof HttpStatusError ? error.retryAfterMs : undefined;
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
      if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
      if (isRetryable(err)) {
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
    if (size > limit) {
      discard(res);
      throw new HttpStatusError(res.statusCode, '', '(answer too large)', `over ${limit} bytes`, undefined);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Turns a non-2xx answer into an HttpStatusError, consuming (at most a little of) its body. */
export async function statusError(res: Response, url: string): Promise<HttpStatusError> {
  let snippet = '';
  try {
    snippet = (await readText(res, 64 * 1024)).replace(/\s+/g, ' ').trim().slice(0, MAX_SNIPPET);
  } catch {
    snippet = '';
  }
  return new HttpStatusError(res.statusCode, statusText(res.statusCode), redactUrl(url), snippet, parseRetryAfter(res.headers['retry-after']));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
