// Interim: verification over the streaming reader (archive.ts), until the spooled-file verifier lands.
import { createReadStream } from 'node:fs';
import { BrokenExportError } from '../../core/errors.js';
import { extractCsv } from './archive.js';

export interface ExportLimits {
  maxInflatedBytes: number;
  maxRatio: number;
}
export const DEFAULT_LIMITS: ExportLimits = { maxInflatedBytes: 16 * 1024 ** 3, maxRatio: 10_000 };
export interface SpooledDownload {
  path: string;
  bytes: number;
  lengthProven: boolean;
}
export interface VerifiedExport {
  kind: 'zip' | 'csv';
  csvBytes: number;
  open(): NodeJS.ReadableStream & AsyncIterable<Buffer>;
}

export async function verifyExport(file: SpooledDownload, label: string, _limits: ExportLimits = DEFAULT_LIMITS): Promise<VerifiedExport> {
  if (file.bytes === 0) throw new BrokenExportError(`The export of ${label} is an empty download.`);
  let csvBytes = 0;
  for await (const chunk of extractCsv(createReadStream(file.path), label)) csvBytes += chunk.length;
  const { Readable } = await import('node:stream');
  return {
    kind: 'zip',
    csvBytes,
    open: () => Readable.from(extractCsv(createReadStream(file.path), label)),
  };
}

export const csvHead = extractCsv;
