/**
 * The connector's error vocabulary. Every error a user can cause is one of these, carrying a message
 * that names the cause and the fix. `failureType` maps onto the Airbyte TRACE error's failure_type in
 * exactly one place (protocol/messages.ts → errorTrace).
 */
export type FailureType = 'config_error' | 'system_error' | 'transient_error';

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Something in the user's config, catalog or state file, or the Hotjar account itself (credentials, ids). */
export class ConfigError extends ConnectorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'config_error', options);
  }
}

/** Hotjar refused the login: no survey can be read. */
export class AuthError extends ConfigError {}

/** The network or Hotjar failed in a way that may go away on its own (after retries were used up). */
export class TransientError extends ConnectorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'transient_error', options);
  }
}

/**
 * The export file broke part way (connection lost, truncated body, damaged archive, link expired):
 * a fresh export may succeed, so the stream retries the survey from a new export.
 */
export class BrokenExportError extends TransientError {}

/**
 * The export arrived complete but damaged (CRC or size mismatch, invalid compressed data): rows already
 * taken from it may be wrong, so the retry must not trust them.
 */
export class DamagedExportError extends BrokenExportError {}

/** Hotjar answered something we cannot use (unexpected shape, corrupt file), or a bug of ours. */
export class SystemError extends ConnectorError {
  constructor(message: string, options?: { cause?: unknown }) {
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

export function toConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SystemError(`Unexpected internal error: ${message}. Please report it with the log above.`, {
    cause: err,
  });
}
