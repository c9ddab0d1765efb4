/**
 * Airbyte protocol messages (the subset this source emits, airbyte_protocol v0.3.x) and a typed builder
 * for each kind. The writer accepts only `AirbyteMessage`, so a misspelt type does not compile; records
 * take the hot path through `recordLine`, which splices pre-encoded data into the same bytes
 * JSON.stringify would give.
 */
import type { FailureType, ConnectorError } from '../core/errors.js';
import { InternalError, toConnectorError } from '../core/errors.js';
import { framer, type RecordFraming } from '../core/framing.js';
import type { JsonObject } from '../core/json.js';
import { mask } from '../core/secrets.js';
import { asEncodedLine, type EncodedLine } from '../core/writer.js';
import type { StreamStatus } from '../streams/driver.js';

export const PROTOCOL_VERSION = '0.3.2';
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';

export interface StreamDescriptor {
  name: string;
  namespace?: string;
}

export interface RecordMessage {
  type: 'RECORD';
  record: { stream: string; data: JsonObject; emitted_at: number };
}

export interface StateMessage {
  type: 'STATE';
  state: {
    type: 'STREAM';
    stream: { stream_descriptor: StreamDescriptor; stream_state: JsonObject };
    sourceStats: { recordCount: number };
  };
}

export interface LogMessage {
  type: 'LOG';
  log: { level: LogLevel; message: string };
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

export interface StreamStatusReason {
  type: 'RATE_LIMITED';
  rate_limited?: { quota_reset?: number };
}

export interface StreamStatusTraceMessage {
  type: 'TRACE';
  trace: {
    type: 'STREAM_STATUS';
    emitted_at: number;
    stream_status: { stream_descriptor: StreamDescriptor; status: StreamStatus; reasons?: StreamStatusReason[] };
  };
}

export interface EstimateTraceMessage {
  type: 'TRACE';
  trace: {
    type: 'ESTIMATE';
    emitted_at: number;
    estimate: { name: string; type: 'STREAM'; row_estimate: number; byte_estimate?: number };
  };
}

export interface SpecMessage {
  type: 'SPEC';
  spec: {
    documentationUrl: string;
    connectionSpecification: JsonObject;
    supportsIncremental: boolean;
    protocol_version: string;
  };
}

export interface ConnectionStatusMessage {
  type: 'CONNECTION_STATUS';
  connectionStatus: { status: 'SUCCEEDED' | 'FAILED'; message?: string };
}

export interface AirbyteStream {
  name: string;
  description?: string;
  json_schema: JsonObject;
  supported_sync_modes: ('full_refresh' | 'incremental')[];
  source_defined_cursor: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key: string[][];
  is_resumable: boolean;
}

export interface CatalogMessage {
  type: 'CATALOG';
  catalog: { streams: AirbyteStream[] };
}

export type AirbyteMessage =
  | RecordMessage
  | StateMessage
  | LogMessage
  | ErrorTraceMessage
  | StreamStatusTraceMessage
  | EstimateTraceMessage
  | SpecMessage
  | ConnectionStatusMessage
  | CatalogMessage;

/** How a RECORD line wraps the data object's JSON text: the same bytes as JSON.stringify(RecordMessage). */
export function recordFraming(stream: string): RecordFraming {
  return {
    before: `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`,
    between: ',"emitted_at":',
    time: 'epoch-ms',
    after: '}}',
  };
}

/** A RECORD line from the data object's JSON text (the hot path on the main thread). */
export function recordEncoder(stream: string): (data: string) => EncodedLine {
  const frame = framer(recordFraming(stream));
  return (data) => asEncodedLine(frame(data));
}

export function stateMessage(stream: string, streamState: JsonObject, recordCount: number): StateMessage {
  return {
    type: 'STATE',
    state: { type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: streamState }, sourceStats: { recordCount } },
  };
}

export function logMessage(level: LogLevel, message: string): LogMessage {
  return { type: 'LOG', log: { level, message: mask(message) } };
}

export function streamStatus(stream: string, status: StreamStatus, reasons?: StreamStatusReason[]): StreamStatusTraceMessage {
  const message: StreamStatusTraceMessage = {
    type: 'TRACE',
    trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: { stream_descriptor: { name: stream }, status } },
  };
  if (reasons) message.trace.stream_status.reasons = reasons;
  return message;
}

/** The platform is told a stream waits out Hotjar's rate limit (and until when, when Hotjar said). */
export function rateLimited(stream: string, resumeAt: number | undefined): StreamStatusTraceMessage {
  return streamStatus(stream, 'RUNNING', [
    { type: 'RATE_LIMITED', ...(resumeAt !== undefined ? { rate_limited: { quota_reset: Math.round(resumeAt) } } : {}) },
  ]);
}

export function estimateTrace(stream: string, rows: number, bytes?: number): EstimateTraceMessage {
  return {
    type: 'TRACE',
    trace: {
      type: 'ESTIMATE',
      emitted_at: Date.now(),
      estimate: {
        name: stream,
        type: 'STREAM',
        row_estimate: Math.round(rows),
        ...(bytes !== undefined ? { byte_estimate: Math.round(bytes) } : {}),
      },
    },
  };
}

/** The causes of an error (cause chain), masked, for internal_message. */
function describeCauses(err: Error): string | undefined {
  const parts: string[] = [];
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      parts.push(`${cause.name}${code ? ` ${code}` : ''}: ${cause.message}`);
      cause = cause.cause;
    } else {
      parts.push(typeof cause === 'string' ? cause : (JSON.stringify(cause) ?? 'unknown cause'));
      break;
    }
  }
  return parts.length ? mask(parts.join(' <- ')) : undefined;
}

export function errorTrace(err: unknown, stream?: string): ErrorTraceMessage {
  const error: ConnectorError = toConnectorError(err);
  const trace: ErrorTraceMessage = {
    type: 'TRACE',
    trace: { type: 'ERROR', emitted_at: Date.now(), error: { message: mask(error.message), failure_type: error.failureType } },
  };
  const internal = describeCauses(error);
  if (internal) trace.trace.error.internal_message = internal;
  // Only for a failure nobody foresaw (a bug): errors raised on purpose name the cause and the fix already.
  if (error instanceof InternalError && error.trace) trace.trace.error.stack_trace = mask(error.trace);
  if (stream) trace.trace.error.stream_descriptor = { name: stream };
  return trace;
}

export function connectionStatus(status: 'SUCCEEDED' | 'FAILED', message?: string): ConnectionStatusMessage {
  const msg: ConnectionStatusMessage = { type: 'CONNECTION_STATUS', connectionStatus: { status } };
  if (message !== undefined) msg.connectionStatus.message = mask(message);
  return msg;
}

export function specMessage(spec: SpecMessage['spec']): SpecMessage {
  return { type: 'SPEC', spec };
}

export function catalogMessage(streams: AirbyteStream[]): CatalogMessage {
  return { type: 'CATALOG', catalog: { streams } };
}
