/** read: the selected streams' records, state and status, as Airbyte messages. */
import { connect } from '../hotjar/connect.js';
import { airbyteSink } from '../protocol/airbyte-sink.js';
import { parseCatalog, parseConfig, readJsonFile } from '../protocol/inputs.js';
import { logMessage } from '../protocol/messages.js';
import { STREAM_NAME } from '../stream/schema.js';
import { materialise, parseState } from '../stream/state.js';
import { readSurveyResponses } from '../stream/survey-responses.js';
import type { Command } from './context.js';

export const read: Command<{ config: string; catalog: string; state?: string }> = async ({ writer, signal }, args) => {
  const config = parseConfig(readJsonFile(args.config, 'config'), args.config);
  const streams = parseCatalog(readJsonFile(args.catalog, 'catalog'), [STREAM_NAME], args.catalog);
  const rawState = args.state === undefined ? undefined : readJsonFile(args.state, 'state', true);
  const cursors = materialise(parseState(rawState, STREAM_NAME), config.survey_ids);
  const selected = streams.find((s) => s.name === STREAM_NAME);
  if (!selected) {
    await writer.write(logMessage('WARN', `The catalog selects no stream of this source (${STREAM_NAME}); nothing to read.`));
    return 0;
  }
  const { client, http } = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
  try {
    const result = await readSurveyResponses(
      client,
      {
        siteId: config.site_id,
        surveyIds: config.survey_ids,
        incremental: selected.syncMode === 'incremental',
        startDate: config.start_date,
        cursors,
        maxAttempts: config.max_attempts,
        signal,
      },
      airbyteSink(writer, STREAM_NAME),
    );
    if (result.failures.length) {
      await writer.write(
        logMessage(
          'ERROR',
          `${result.failures.length} of ${config.survey_ids.length} surveys failed (${result.failures.map((f) => f.surveyId).join(', ')}); their cursors did not move. The others were read and their state saved.`,
        ),
      );
      return 1;
    }
    return 0;
  } finally {
    await http.close();
  }
};
