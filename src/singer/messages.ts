/** Singer messages (SCHEMA, RECORD, STATE) with a typed builder each; records take the spliced hot path. */
import { framer, type RecordFraming } from '../core/framing.js';
import type { JsonObject } from '../core/json.js';
import { asEncodedLine, type EncodedLine } from '../core/writer.js';

export interface SchemaMessage {
  type: 'SCHEMA';
  stream: string;
  schema: JsonObject;
  key_properties: string[];
  bookmark_properties: string[];
}

export interface RecordMessage {
  type: 'RECORD';
  stream: string;
  record: JsonObject;
  time_extracted: string;
}

export interface StateMessage {
  type: 'STATE';
  value: { bookmarks: Record<string, unknown> };
}

/** What `--discover` prints: the catalog object itself (not a message, but it owns stdout the same way). */
export interface CatalogOutput {
  type: 'CATALOG_OUTPUT';
  streams: JsonObject[];
}

export type SingerMessage = SchemaMessage | RecordMessage | StateMessage;

export function schemaMessage(stream: string, schema: JsonObject, keyProperties: string[], bookmarkProperties: string[]): SchemaMessage {
  return { type: 'SCHEMA', stream, schema, key_properties: keyProperties, bookmark_properties: bookmarkProperties };
}

export function stateMessage(bookmarks: Record<string, unknown>): StateMessage {
  return { type: 'STATE', value: { bookmarks } };
}

/** How a RECORD line wraps the record's JSON text: the same bytes as JSON.stringify(RecordMessage). */
export function recordFraming(stream: string): RecordFraming {
  return {
    before: `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":`,
    between: ',"time_extracted":"',
    time: 'iso',
    after: '"}',
  };
}

/** A RECORD line from the record's JSON text (the hot path on the main thread). */
export function recordEncoder(stream: string): (data: string) => EncodedLine {
  const frame = framer(recordFraming(stream));
  return (data) => asEncodedLine(frame(data));
}
