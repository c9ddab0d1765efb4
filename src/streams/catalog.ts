/** The streams this source offers, and the columns discover learns from the surveys' exports. */
import { AuthError, CancelledError } from '../core/errors.js';
import type { SurveySource } from '../hotjar/source.js';
import { FIXED_COLUMNS, layout } from './columns.js';
import { surveyAnswers } from './survey-answers.js';
import { surveyResponses } from './survey-responses.js';
import type { StreamDefinition, StreamName } from './stream.js';

export const STREAMS: readonly StreamDefinition[] = [surveyResponses, surveyAnswers];
export const STREAM_NAMES: readonly StreamName[] = STREAMS.map((s) => s.name);

export function streamByName(name: string): StreamDefinition | undefined {
  return STREAMS.find((s) => s.name === name);
}

/** How many surveys' headers are read at once. */
const DISCOVER_CONCURRENCY = 4;

/**
 * The record keys of every column of the configured surveys: the union in a stable order (fixed
 * columns, then per survey in config order, then header order). A survey whose export cannot be read
 * fails discover with an error naming it.
 */
export async function discoverColumns(source: SurveySource, surveyIds: readonly string[], opts: { skipFailures?: boolean } = {}): Promise<string[]> {
  const headers: string[][] = new Array<string[]>(surveyIds.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < surveyIds.length) {
      const i = next++;
      const id = surveyIds[i] ?? '';
      // The source's errors name the survey (every message says "survey <id>"). With skipFailures (a sync
      // that learns columns before reading), a survey that fails here fails again, reported, in the read.
      try {
        headers[i] = layout(await source.columns(id)).keys;
      } catch (err) {
        if (!opts.skipFailures || err instanceof AuthError || err instanceof CancelledError) throw err;
        headers[i] = [];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISCOVER_CONCURRENCY, surveyIds.length) }, worker));
  const union = new Set<string>(FIXED_COLUMNS);
  for (const keys of headers) for (const key of keys) union.add(key);
  return [...union];
}
