/**
 * Pure decisions about failed HTTP calls: what may be retried, how long a server asks us to wait, and
 * how to describe a failure without leaking anything secret (URLs lose their query string).
 */

/** An HTTP answer we did not want. `url` is already stripped of its query string. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly url: string,
    readonly bodySnippet: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ''} from ${url}${bodySnippet ? `: ${bodySnippet}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** Error codes of failures in the network or in a server that stopped answering: worth another try. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Is this failure worth another attempt? Certificate problems and answers that will not change are not. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HttpStatusError) return isRetryableStatus(err.status);
  return codesOf(err).some((code) => RETRYABLE_CODES.has(code));
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. Never negative. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** A short, secret-free account of a failure: "HTTP 503 Service Unavailable" or "ECONNRESET (other side closed)". */
export function describeFailure(err: unknown): string {
  if (err instanceof HttpStatusError) {
    return `HTTP ${err.status}${err.statusText ? ` ${err.statusText}` : ''}${err.bodySnippet ? ` (${err.bodySnippet})` : ''}`;
  }
  const codes = codesOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const code = codes.find((c) => !c.startsWith('UND_ERR')) ?? codes[0];
  return code ? `${code} (${message})` : message;
}

/** An URL for messages: scheme, host and path only. Pre-signed download URLs carry their token in the query. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
