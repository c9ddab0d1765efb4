/**
 * Airbyte protocol message types (the subset this source emits) and their builders.
 * Shapes follow airbyte_protocol.yaml v0.3.x; every builder sets the payload that matches `type`.
 */
import { ConnectorError, toConnectorError, type FailureType } from '../errors.js';
import { mask } from './secrets.js';

export type JsonObject = { [key: string]: unknown };
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

export interface StreamDescriptor {
  name: string;
  namespace?: string;
}

export interface RecordMessage {
  type: 'RECORD';
  record: { stream: string; data: JsonObject; emitted_at: number };
}

export interface StreamStateMessage {
  type: 'STATE';
  state: {
    type: 'STREAM';
    stream: { stream_descriptor: StreamDescriptor; stream_state: JsonObject };
    sourceStats: { recordCount: number };
  };
}

export interface LogMessage {
  type: 'LOG';
  log: { level: LogLevel; message: string; stack_trace?: string };
}

export interface ErrorTraceMessage {
  type: 'TRACE';
  trace: {
    type: 'ERROR';
    emitted_at: number;
    error: {
      message: string;
      internal_message?: string;
      stack_trace?: string;
      failure_type: FailureType;
      stream_descriptor?: StreamDescriptor;
    };
  };
}

export interface StreamStatusTraceMessage {
  type: 'TRACE';
  trace: {
    type: 'STREAM_STATUS';
    emitted_at: number;
    stream_status: { stream_descriptor: StreamDescriptor; status: StreamStatus };
  };
}

export interface SpecMessage {
  type: 'SPEC';
  spec: JsonObject & { connectionSpecification: JsonObject };
}

export interface ConnectionStatusMessage {
  type: 'CONNECTION_STATUS';
  connectionStatus: { status: 'SUCCEEDED' | 'FAILED'; message?: string };
}

export interface CatalogMessage {
  type: 'CATALOG';
  catalog: { streams: JsonObject[] };
}

export type AirbyteMessage =
  | RecordMessage
  | StreamStateMessage
  | LogMessage
  | ErrorTraceMessage
  | StreamStatusTraceMessage
  | SpecMessage
  | ConnectionStatusMessage
  | CatalogMessage;

export function stateMessage(stream: string, streamState: JsonObject, recordCount: number): StreamStateMessage {
  return {
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: { stream_descriptor: { name: stream }, stream_state: streamState },
      sourceStats: { recordCount },
    },
  };
}

export function logMessage(level: LogLevel, message: string): LogMessage {
  return { type: 'LOG', log: { level, message: mask(message) } };
}

export function streamStatus(stream: string, status: StreamStatus): StreamStatusTraceMessage {
  return {
    type: 'TRACE',
    trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: { stream_descriptor: { name: stream }, status } },
  };
}

/** Describes the causes of an error (cause chain), masked, for internal_message. */
function describeCauses(err: unknown): string | undefined {
  const parts: string[] = [];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      parts.push(`${cause.name}${code ? ` ${code}` : ''}: ${cause.message}`);
      cause = cause.cause;
    } else {
      parts.push(String(cause));
      break;
    }
  }
  return parts.length ? mask(parts.join(' <- ')) : undefined;
}

export function errorTrace(err: unknown, stream?: string): ErrorTraceMessage {
  const error: ConnectorError = toConnectorError(err);
  const internal = describeCauses(error);
  const trace: ErrorTraceMessage = {
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: Date.now(),
      error: { message: mask(error.message), failure_type: error.failureType },
    },
  };
  if (internal) trace.trace.error.internal_message = internal;
  if (error.stack) trace.trace.error.stack_trace = mask(error.stack);
  if (stream) trace.trace.error.stream_descriptor = { name: stream };
  return trace;
}

export function connectionStatus(status: 'SUCCEEDED' | 'FAILED', message?: string): ConnectionStatusMessage {
  const msg: ConnectionStatusMessage = { type: 'CONNECTION_STATUS', connectionStatus: { status } };
  if (message !== undefined) msg.connectionStatus.message = mask(message);
  return msg;
}
