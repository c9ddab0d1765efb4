/**
 * The port between the streams and Hotjar: what the read driver and discover need from a source of
 * survey responses, whichever Hotjar API feeds it. A pass yields the responses as rows of cells: the
 * first row is the header (column names exactly as Hotjar writes them in its export), then the
 * responses, newest first. In password mode every byte of a pass was verified complete before the first
 * row is given out; in API-key mode a pass streams page by page, each page complete before its rows.
 */
import type { CsvLayout } from '../core/csv.js';
import type { JsonObject } from '../core/json.js';

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
   * Password mode: set when the rows come from a verified CSV file on local disk; a reader may then
   * parse it in record-aligned blocks, side by side (streams/block-pool.ts), instead of iterating
   * `rows`. The file stays until close().
   */
  readonly csvFile?: CsvFile | undefined;
  /** Uncompressed size of the export, for progress estimates (0 when unknown). */
  readonly bytes: number;
  /** Stops the pass early and releases what it holds (files, workers, connections). Safe to call twice. */
  close(): Promise<void>;
  /**
   * API-key mode: true for a row that is a new header, sent when a later page brought columns the first
   * header did not have (a user attribute first seen there). It keeps every earlier column in place and
   * adds the new ones at its end. Absent: only the first row is a header.
   */
  isHeader?(row: readonly string[]): boolean;
  /** API-key mode: the id of the question whose answer a header column holds (by column index). */
  questionIdOf?(column: number): string | undefined;
}

/** One survey of the site, as the source lists it. */
export interface SurveyInfo {
  /** The survey's id, as the config's survey_ids and the state name it. */
  id: string;
  /** Every field the list gives for it (the surveys stream's record, before site_id is added). */
  fields: JsonObject;
}

export interface SurveySource {
  /** Proves the credentials and that each survey can be exported (check). */
  verify(surveyIds: readonly string[]): Promise<void>;
  /** A survey's column names, read from the start of its export (discover). */
  columns(surveyId: string): Promise<string[]>;
  /** One pass over a survey's responses (read). */
  open(surveyId: string): Promise<SurveyPass>;
  /**
   * Every survey of the site, in the order Hotjar lists them (auto-discovery, the surveys stream). A
   * ConfigError when the list cannot be had or read.
   */
  listSurveys(): Promise<SurveyInfo[]>;
  /** Releases connections. */
  close(): Promise<void>;
}
