/** The tap's two modes: discover (print the catalog) and sync (SCHEMA, RECORD and STATE messages). */
import { connect } from '../hotjar/connect.js';
import { parseConfig, readJsonFile } from '../protocol/inputs.js';
import type { Command } from '../commands/context.js';
import { materialise } from '../stream/state.js';
import { STREAM_NAME } from '../stream/schema.js';
import { readSurveyResponses } from '../stream/survey-responses.js';
import { NO_CATALOG, parseSingerCatalog, singerCatalog } from './catalog.js';
import { log, logLine, singerSink } from './sink.js';
import { parseSingerState } from './state.js';

/** Prints the Singer catalog (a JSON object, not a message). Validates the config; does not call Hotjar. */
export const discover: Command<{ config: string }> = async ({ writer }, args) => {
  parseConfig(readJsonFile(args.config, 'config'), args.config);
  await writer.write(singerCatalog());
  return 0;
};

export const sync: Command<{ config: string; catalog?: string; state?: string }> = async ({ writer, signal }, args) => {
  const config = parseConfig(readJsonFile(args.config, 'config'), args.config);
  const selection = args.catalog === undefined ? NO_CATALOG : parseSingerCatalog(readJsonFile(args.catalog, 'catalog'), args.catalog);
  const rawState = args.state === undefined ? undefined : readJsonFile(args.state, 'state', true);
  const cursors = materialise(parseSingerState(rawState), config.survey_ids);
  if (!selection.selected) {
    logLine('INFO', `The catalog does not select ${STREAM_NAME} (set "selected": true in its breadcrumb [] metadata); nothing to sync.`);
    return 0;
  }
  const { client, http } = connect(config, (m) => log('WARN', m), signal);
  try {
    const result = await readSurveyResponses(
      client,
      {
        siteId: config.site_id,
        surveyIds: config.survey_ids,
        incremental: selection.incremental,
        startDate: config.start_date,
        cursors,
        maxAttempts: config.max_attempts,
        signal,
      },
      singerSink(writer),
    );
    if (result.failures.length === 0) return 0;
    const ids = result.failures.map((f) => f.surveyId).join(', ');
    logLine('ERROR', `Surveys ${ids} failed (${result.failures.length} of ${config.survey_ids.length}); their bookmarks did not move. The other surveys were synced.`);
    return 1;
  } finally {
    await http.close();
  }
};
