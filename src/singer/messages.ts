/** Singer messages (SCHEMA, RECORD, STATE) with a typed builder each; records take the spliced hot path. */
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

/** A RECORD line from the record's JSON text: the same bytes as JSON.stringify(RecordMessage). */
export function recordEncoder(stream: string): (data: string) => EncodedLine {
  const prefix = `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":`;
  // One ISO string per millisecond, not one Date per record.
  let lastMs = 0;
  let lastIso = '';
  return (data) => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return asEncodedLine(`${prefix}${data},"time_extracted":"${lastIso}"}`);
  };
}
