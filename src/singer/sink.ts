/**
 * The stream's output as Singer messages: SCHEMA (once, just before the first RECORD or STATE, so a
 * run that fails before reading anything prints nothing on stdout), RECORD and STATE through the one
 * stdout writer; logs, stream status and survey failures as `LEVEL message` lines on stderr, masked.
 */
import type { ConnectorError } from '../errors.js';
import type { LogLevel } from '../protocol/messages.js';
import { mask } from '../protocol/secrets.js';
import type { Writer } from '../protocol/writer.js';
import { STREAM_NAME } from '../stream/schema.js';
import type { Sink } from '../stream/survey-responses.js';
import { KEY_PROPERTIES, REPLICATION_KEY, singerSchema } from './catalog.js';
import { singerStateValue } from './state.js';

/** Python logging's level names, which Singer runners parse from a tap's stderr. */
export type SingerLevel = 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO' | 'DEBUG';
const LEVELS: Record<LogLevel, SingerLevel> = { FATAL: 'CRITICAL', ERROR: 'ERROR', WARN: 'WARNING', INFO: 'INFO', DEBUG: 'DEBUG', TRACE: 'DEBUG' };

export function logLine(level: SingerLevel, message: string): void {
  process.stderr.write(`${level} ${mask(message)}\n`);
}

export const log = (level: LogLevel, message: string): void => logLine(LEVELS[level], message);

export function singerSink(writer: Writer): Sink {
  let schemaSent = false;
  const streamJson = JSON.stringify(STREAM_NAME);
  const write = (message: object | string): Promise<void> | undefined => {
    if (!schemaSent) {
      schemaSent = true;
      void writer.write({
        type: 'SCHEMA',
        stream: STREAM_NAME,
        schema: singerSchema(),
        key_properties: KEY_PROPERTIES,
        bookmark_properties: [REPLICATION_KEY],
      });
    }
    return typeof message === 'string' ? writer.writeLine(message) : writer.write(message);
  };
  // One ISO string per millisecond, not one Date per record.
  let lastMs = 0;
  let lastIso = '';
  const now = (): string => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
  return {
    // `record` is already JSON text: splice it into the message instead of parsing and re-encoding it.
    record: (record) => write(`{"type":"RECORD","stream":${streamJson},"record":${record},"time_extracted":"${now()}"}`),
    state: (cursors) => write({ type: 'STATE', value: singerStateValue(cursors) }),
    log,
    status: (status) => {
      logLine(status === 'INCOMPLETE' ? 'WARNING' : 'INFO', `Stream ${STREAM_NAME}: ${status}`);
      return undefined;
    },
    surveyFailed: (_surveyId: string, error: ConnectorError) => {
      logLine('ERROR', error.message); // the message names the survey
      return undefined;
    },
  };
}
