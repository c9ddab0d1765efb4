/**
 * The port between the streams and Hotjar: what the read driver and discover need from a source of
 * survey responses, whichever Hotjar API feeds it. A pass yields the export's rows as arrays of cells:
 * the first row is the header (column names exactly as Hotjar writes them), then the responses, newest
 * first. Every byte of a pass was verified complete before the first row is given out.
 */
import type { CsvLayout } from '../core/csv.js';

/** A verified CSV export on local disk, and where its records lie (core/csv.ts). */
export interface CsvFile {
  path: string;
  layout: CsvLayout;
  /** csv-parse's max_record_size for it. */
  maxRecordBytes: number;
}

export interface SurveyPass {
  /** Row batches; the very first row is the header. */
  readonly rows: AsyncIterable<string[][]>;
  /**
   * Set when the rows come from a verified CSV file on local disk: a reader may then parse it in
   * record-aligned blocks, side by side (streams/block-pool.ts), instead of iterating `rows`. The file
   * stays until close().
   */
  readonly csvFile?: CsvFile | undefined;
  /** Uncompressed size of the export, for progress estimates. */
  readonly bytes: number;
  /** Stops the pass early and releases what it holds (files, workers). Safe to call twice. */
  close(): Promise<void>;
}

export interface SurveySource {
  /** Proves the credentials and that each survey can be exported (check). */
  verify(surveyIds: readonly string[]): Promise<void>;
  /** A survey's column names, read from the start of its export (discover). */
  columns(surveyId: string): Promise<string[]>;
  /** One verified pass over a survey's export (read). */
  open(surveyId: string): Promise<SurveyPass>;
  /** Releases connections. */
  close(): Promise<void>;
}
