/**
 * The connector's one error vocabulary. Every error a user can cause is one of these, carrying a
 * message that names the cause and the fix. Names end in `Error`; the class says what happened, and
 * `failureType` says who must act (it maps onto the Airbyte TRACE error's failure_type in exactly one
 * place, airbyte/messages.ts).
 *
 *   ConnectorError
 *   ├── ConfigError            the user must fix something: config, catalog, state, credentials, ids
 *   │   └── AuthError          Hotjar refused the credentials (login, token): no survey can be read
 *   ├── TransientError         the network or Hotjar failed; may pass on its own (after retries)
 *   │   └── BrokenExportError  an export broke part way: a fresh export may succeed
 *   │       └── DamagedExportError  it arrived damaged (CRC, size, inflate error)
 *   ├── SystemError            Hotjar answered something unusable, or a bug of ours
 *   │   └── DataError          the export itself is malformed (CSV, columns, values)
 *   ├── CancelledError         stopped by SIGINT/SIGTERM
 *   └── UsageError             bad command line (exit 2)
 *
 * HttpStatusError and CsvSyntaxError are raw facts (an unwanted HTTP answer, a CSV parse failure) that
 * the layer above turns into one of the classes above; they are never shown to a user as they are.
 */
export type FailureType = 'config_error' | 'system_error' | 'transient_error';

interface ErrorOptions {
  cause?: unknown;
}

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something in the user's config, catalog or state file, or the Hotjar account itself (credentials, ids). */
export class ConfigError extends ConnectorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'config_error', options);
  }
}

/** Hotjar refused the credentials: no survey can be read. */
export class AuthError extends ConfigError {}

/** The network or Hotjar failed in a way that may go away on its own (after retries were used up). */
export class TransientError extends ConnectorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'transient_error', options);
  }
}

/**
 * The export broke part way (connection lost, truncated body, cut transfer, expired link): a fresh
 * export may succeed, so the survey is retried from a new export.
 */
export class BrokenExportError extends TransientError {}

/**
 * Hotjar could not be reached to log in (or for a token) after every retry: each survey would fail the
 * same way, so the read ends at once with this one error instead of a failure per survey and stream.
 */
export class LoginUnavailableError extends TransientError {}

/** `err` as a LoginUnavailableError when it is a transient failure (after the retries), else as is. */
export function loginUnavailable(err: unknown): unknown {
  return err instanceof TransientError && !(err instanceof LoginUnavailableError)
    ? new LoginUnavailableError(err.message, { cause: err.cause ?? err })
    : err;
}

/** The export arrived complete but damaged (CRC or size mismatch, invalid compressed data). */
export class DamagedExportError extends BrokenExportError {}

/** Hotjar answered something we cannot use (unexpected shape), or a bug of ours. */
export class SystemError extends ConnectorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'system_error', options);
  }
}

/** The export file itself is malformed: bad CSV, missing columns, unparseable values. */
export class DataError extends SystemError {}

/** The run was stopped by SIGTERM/SIGINT. */
export class CancelledError extends ConnectorError {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`, 'transient_error');
  }
}

/** A bad command line: help and the problem go to stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An HTTP answer we did not want (raw fact; see hotjar/outcome.ts). `url` carries no query string. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly bodySnippet: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status} from ${url}${bodySnippet ? `: ${bodySnippet}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** csv-parse gave up (raw fact; the reader turns it into a DataError naming survey and line). */
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

export function toConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`Unexpected internal error: ${message}. Please report it with the log above.`, {
    cause: err,
  });
}

/**
 * A failure the connector did not foresee (a bug): the only kind whose stack trace is worth showing
 * (Airbyte's TRACE `stack_trace`). Errors the connector raises on purpose already name their cause and
 * the fix; a stack trace there is noise with install paths.
 */
export class InternalError extends SystemError {
  /** The stack of what was thrown, else this error's. */
  get trace(): string | undefined {
    return this.cause instanceof Error && this.cause.stack ? this.cause.stack : this.stack;
  }
}
