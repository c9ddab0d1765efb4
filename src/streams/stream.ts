/**
 * What every stream is: a name, keys, a schema, and how its records are made. Two kinds: the streams of
 * responses (one pass per survey feeds them, row by row: survey_responses, survey_answers) and the
 * surveys stream (one record per survey, from the site's survey list; full refresh only).
 */
import type { JsonObject } from '../core/json.js';
import type { SurveyInfo } from '../hotjar/source.js';
import type { HeaderLayout } from './columns.js';

export type StreamName = 'survey_responses' | 'survey_answers' | 'surveys';

/** Hands one record's `data` (JSON text) to the adapter; a promise means: wait (backpressure). */
export type Emit = (data: string) => Promise<void> | undefined;

export interface RowEncoder {
  /**
   * Emits the records this row makes for the stream (its key and date already checked). `number` is
   * the row's Number in password mode; API-key mode's rows have none (their key is the response_id cell).
   */
  encode(row: readonly string[], number: number | undefined, date: string, emit: Emit): Promise<void> | undefined;
}

export interface SurveyContext {
  siteId: string;
  surveyId: string;
  layout: HeaderLayout;
  /** API-key mode: the question id of an answer column (by column index). */
  questionIdOf?: ((column: number) => string | undefined) | undefined;
}

interface StreamBase {
  name: StreamName;
  description: string;
  primaryKey: string[][];
  /** [] for a stream without a cursor (full refresh only). */
  cursorField: string[];
  /** Whether the schema declares the export's own columns (then a catalog can miss new ones: drift). */
  declaresColumns: boolean;
  /** Whether a Singer run without a catalog syncs it. */
  selectedByDefault: boolean;
  /** The schema (a fresh copy); `columns` are the discovered export columns, for streams that declare them. */
  schema(columns?: readonly string[]): JsonObject;
}

/** A stream fed by the per-survey pass over responses; incremental or full refresh. */
export interface ResponseStreamDefinition extends StreamBase {
  kind: 'responses';
  encoder(survey: SurveyContext): RowEncoder;
}

/** The surveys stream: one record per survey of the site; full refresh only. */
export interface SurveysStreamDefinition extends StreamBase {
  kind: 'surveys';
  /** The record's data (JSON text) for one survey. */
  record(siteId: string, survey: SurveyInfo): string;
}

export type StreamDefinition = ResponseStreamDefinition | SurveysStreamDefinition;

/** Whether a stream offers incremental sync (the surveys stream does not). */
export function supportsIncremental(definition: StreamDefinition): boolean {
  return definition.kind === 'responses';
}

/** JSON text of a cell: null when empty. */
export function cell(value: string | undefined): string {
  return value === undefined || value === '' ? 'null' : JSON.stringify(value);
}
