/**
 * The one HTTP outcome table: a pure function decides, for every call the client makes, whether an
 * outcome is fine, worth another attempt, worth a fresh login (then one repeat), or final. Plus the pure
 * helpers around it: Retry-After, secret-free descriptions of failures, URLs without their query.
 */
import { HttpStatusError } from '../core/errors.js';

export type Action = 'ok' | 'retry' | 'reauthenticate' | 'fail';

/** What came back from one attempt: an HTTP status, or a network/transfer failure (its error codes). */
export type Outcome = { status: number } | { codes: readonly string[] };

/** Which credentials the call carried: the API with a session/token, or none (the storage host, the login itself). */
export type CallKind = 'authorized' | 'anonymous';

/** Error codes of failures in the network or of a transfer cut short: worth another try. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
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
  'UND_ERR_ABORTED', // the per-request deadline (ours), not a stop: a stop is checked before this table
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'REQUEST_DEADLINE',
  'ERR_INCOMPLETE_JSON', // a 2xx JSON answer cut short (api/client.ts): a cut transfer
]);

/** The table. */
export function decide(outcome: Outcome, kind: CallKind): Action {
  if ('status' in outcome) {
    const { status } = outcome;
    if (status >= 200 && status < 300) return 'ok';
    if (status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599)) return 'retry';
    if ((status === 401 || status === 403) && kind === 'authorized') return 'reauthenticate';
    return 'fail';
  }
  // A parser error (HPE_*) is a transfer cut mid-message (e.g. a chunked body ended by a closed connection).
  return outcome.codes.some((code) => RETRYABLE_CODES.has(code) || code.startsWith('HPE_')) ? 'retry' : 'fail';
}

/** The outcome an error stands for (HTTP status errors carry their status). */
export function outcomeOf(err: unknown): Outcome {
  if (err instanceof HttpStatusError) return { status: err.status };
  return { codes: codesOf(err) };
}

export function isRetryable(err: unknown): boolean {
  return decide(outcomeOf(err), 'anonymous') === 'retry';
}

export function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    // undici's HTTPParserError comes without its HPE_* code (undici 7 looks the code's name up in a table
    // keyed by name, not number): it is still a response cut or mangled in transit.
    else if ((e as { name?: unknown }).name === 'HTTPParserError') codes.push('HPE_PARSER_ERROR');
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Retry-After as seconds or an HTTP date; undefined when absent, unreadable or absurd. Never negative. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (/^\d{1,9}(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
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

/** A short, secret-free account of a failure: "HTTP 503 Service Unavailable (…)" or "ECONNRESET (other side closed)". */
export function describeFailure(err: unknown): string {
  if (err instanceof HttpStatusError) {
    const text = STATUS_TEXT[err.status];
    return `HTTP ${err.status}${text ? ` ${text}` : ''}${err.bodySnippet ? ` (${err.bodySnippet})` : ''}`;
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
