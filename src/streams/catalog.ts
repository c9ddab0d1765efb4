/**
 * The streams this source offers, the columns discover learns from the surveys' exports, and which
 * surveys a run reads (the configured ids, or every survey of the site).
 *
 * The catalog depends on the way in: API-key mode has no Number, so its response streams are keyed by
 * response_id and declare their own static schemas (streamsFor). Names, cursor and columns are the same.
 */
import type { AuthType } from '../core/config.js';
import { AuthError, CancelledError, ConfigError, LoginUnavailableError } from '../core/errors.js';
import type { SurveySource } from '../hotjar/source.js';
import { API_ONLY_COLUMNS, FIXED_COLUMNS, layout } from './columns.js';
import { surveyAnswers, surveyAnswersApiKey } from './survey-answers.js';
import { surveyResponses, surveyResponsesApiKey } from './survey-responses.js';
import { surveysStream } from './surveys.js';
import { supportsIncremental, type StreamDefinition, type StreamName } from './stream.js';

/** Password mode's streams (the default catalog). */
export const STREAMS: readonly StreamDefinition[] = [surveyResponses, surveyAnswers, surveysStream];
const API_KEY_STREAMS: readonly StreamDefinition[] = [surveyResponsesApiKey, surveyAnswersApiKey, surveysStream];
export const STREAM_NAMES: readonly StreamName[] = STREAMS.map((s) => s.name);
/**
 * The streams whose state is read back (the incremental ones). Not the surveys stream: it keeps no
 * state, and its name is also the key of a stream state's survey map, so a legacy state file
 * {"surveys": {...}} must keep meaning the positions of every stream, as it did before that stream.
 */
export const STATE_STREAM_NAMES: readonly StreamName[] = STREAMS.filter(supportsIncremental).map((s) => s.name);

/** The streams as a config's way in defines them (same names in both). */
export function streamsFor(mode: AuthType = 'password'): readonly StreamDefinition[] {
  return mode === 'api_key' ? API_KEY_STREAMS : STREAMS;
}

export function streamByName(name: string, mode: AuthType = 'password'): StreamDefinition | undefined {
  return streamsFor(mode).find((s) => s.name === name);
}

/** The columns every survey_responses catalog declares, whatever the surveys: the mode's fixed ones. */
export function fixedColumnsFor(mode: AuthType = 'password'): readonly string[] {
  // API-key mode declares Number too (always empty), so a table keeps its columns across a switch of mode.
  return mode === 'api_key' ? [...FIXED_COLUMNS, ...API_ONLY_COLUMNS] : FIXED_COLUMNS;
}

/**
 * The surveys a run reads: the configured ids as given, or, when there are none, every survey the site
 * lists (a survey created since the last run is then read from start_date on). In password mode the
 * list comes from an undocumented endpoint; when it cannot be read, the error asks for survey_ids.
 */
export async function surveyIdsToRead(source: SurveySource, configured: readonly string[]): Promise<string[]> {
  if (configured.length) return [...configured];
  const list = await source.listSurveys();
  if (list.length === 0) {
    throw new ConfigError(
      'The site lists no survey, so there is nothing to read. Check site_id, or list the surveys to read in survey_ids.',
    );
  }
  return list.map((s) => s.id);
}

/** How many surveys' headers are read at once. */
const DISCOVER_CONCURRENCY = 4;

/**
 * The record keys of every column of the configured surveys: the union in a stable order (fixed
 * columns, then per survey in config order, then header order). A survey whose export cannot be read
 * fails discover with an error naming it.
 */
export async function discoverColumns(
  source: SurveySource,
  surveyIds: readonly string[],
  opts: { skipFailures?: boolean; mode?: AuthType; onSkip?: (surveyId: string, err: unknown) => void } = {},
): Promise<string[]> {
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
        if (!opts.skipFailures || err instanceof AuthError || err instanceof LoginUnavailableError || err instanceof CancelledError)
          throw err;
        opts.onSkip?.(id, err);
        headers[i] = [];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISCOVER_CONCURRENCY, surveyIds.length) }, worker));
  const union = new Set<string>(fixedColumnsFor(opts.mode));
  for (const keys of headers) for (const key of keys) union.add(key);
  return [...union];
}
