/** The stream's output as Airbyte messages, through the one stdout writer. */
import type { ConnectorError } from '../errors.js';
import type { Sink } from '../stream/survey-responses.js';
import { toStreamState } from '../stream/state.js';
import { errorTrace, logMessage, stateMessage, streamStatus } from './messages.js';
import type { Writer } from './writer.js';

export function airbyteSink(writer: Writer, stream: string): Sink {
  // The hot path: `data` is already JSON text; the envelope is spliced around it, giving the same bytes
  // as JSON.stringify of a RecordMessage ({type, record: {stream, data, emitted_at}}).
  const prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`;
  return {
    record: (data) => writer.writeLine(`${prefix}${data},"emitted_at":${Date.now()}}}`),
    state: (cursors, recordCount) => writer.write(stateMessage(stream, toStreamState(cursors), recordCount)),
    log: (level, message) => void writer.write(logMessage(level, message)),
    status: (status) => writer.write(streamStatus(stream, status)),
    surveyFailed: (surveyId: string, error: ConnectorError) => {
      void surveyId; // the error's message names the survey
      return writer.write(errorTrace(error, stream));
    },
  };
}
