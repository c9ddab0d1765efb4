/**
 * Worker thread: parses CSV bytes with csv-parse and posts the rows back, one batch per chunk it was
 * given, in order. Runs beside the main thread (which downloads, unzips, encodes and writes), so the
 * parse — the most expensive step — uses the machine's second core. See csv-rows.ts for the protocol.
 */
import { parentPort } from 'node:worker_threads';
import { parse, type CsvError } from 'csv-parse';

const port = parentPort!;
const parser = parse({ bom: true, skip_empty_lines: true });
let rows: string[][] = [];
let failed = false;

parser.on('data', (row: string[]) => rows.push(row));
parser.on('error', (err: CsvError) => {
  failed = true;
  port.postMessage({ type: 'error', error: { code: err.code, message: err.message, lines: (err as { lines?: number }).lines } });
});
parser.on('end', () => {
  if (!failed) port.postMessage({ type: 'done', rows });
});

port.on('message', (msg: { type: 'chunk'; chunk: Uint8Array } | { type: 'end' }) => {
  if (failed) return;
  if (msg.type === 'end') {
    parser.end();
    return;
  }
  parser.write(Buffer.from(msg.chunk.buffer, msg.chunk.byteOffset, msg.chunk.byteLength), () => {
    if (failed) return;
    const batch = rows;
    rows = [];
    port.postMessage({ type: 'rows', rows: batch });
  });
});
