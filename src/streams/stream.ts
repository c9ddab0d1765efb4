/** What every stream of responses is: a name, keys, a schema, and how a survey's rows become its records. */
import type { JsonObject } from '../core/json.js';
import type { HeaderLayout } from './columns.js';

export type StreamName = 'survey_responses' | 'survey_answers';

/** Hands one record's `data` (JSON text) to the adapter; a promise means: wait (backpressure). */
export type Emit = (data: string) => Promise<void> | undefined;

export interface RowEncoder {
  /** Emits the records this row makes for the stream (its Number and date already checked). */
  encode(row: readonly string[], number: number, date: string, emit: Emit): Promise<void> | undefined;
}

export interface SurveyContext {
  siteId: string;
  surveyId: string;
  layout: HeaderLayout;
}

export interface StreamDefinition {
  name: StreamName;
  description: string;
  primaryKey: string[][];
  cursorField: string[];
  /** Whether the schema declares the export's own columns (then a catalog can miss new ones: drift). */
  declaresColumns: boolean;
  /** The schema (a fresh copy); `columns` are the discovered export columns, for streams that declare them. */
  schema(columns?: readonly string[]): JsonObject;
  encoder(survey: SurveyContext): RowEncoder;
}

/** JSON text of a cell: null when empty. */
export function cell(value: string | undefined): string {
  return value === undefined || value === '' ? 'null' : JSON.stringify(value);
}
