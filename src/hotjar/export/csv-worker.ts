/**
 * Worker thread: parses CSV bytes with csv-parse and posts the rows back, one batch per chunk it was
 * given, in order. Runs beside the main thread (which reads, encodes and writes), so the parse — the
 * most expensive step — uses the machine's second core. See csv-rows.ts for the protocol.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parse, type CsvError } from 'csv-parse';
import { csvParseOptions } from '../../core/csv.js';
import type { FromWorker, WorkerInput } from './csv-rows.js';

const port = parentPort;
if (!port) throw new Error('csv-worker.js runs only as a worker thread');
const { maxRecordBytes } = workerData as WorkerInput;
const parser = parse(csvParseOptions(maxRecordBytes));
let rows: string[][] = [];
let failed = false;
const post = (message: FromWorker): void => port.postMessage(message);

parser.on('data', (row: string[]) => rows.push(row));
parser.on('error', (err: CsvError) => {
  failed = true;
  const lines = (err as { lines?: unknown }).lines;
  post({ type: 'error', error: { code: err.code, message: err.message, ...(typeof lines === 'number' ? { lines } : {}) } });
});
parser.on('end', () => {
  if (!failed) post({ type: 'done', rows });
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
    post({ type: 'rows', rows: batch });
  });
});
