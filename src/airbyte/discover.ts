/**
 * discover: the streams of the config's way in, with survey_responses declaring every column of the
 * surveys' exports (read from each export's header; the download stops there) or, in API-key mode, of
 * their questions and newest responses. Needs network access to Hotjar.
 */
import { loadConfig } from '../core/config.js';
import { connect } from '../hotjar/connect.js';
import { discoverColumns, streamsFor, surveyIdsToRead } from '../streams/catalog.js';
import { airbyteStream } from './catalog.js';
import type { AirbyteContext } from './context.js';
import { catalogMessage, logMessage } from './messages.js';

export async function discover({ writer, signal }: AirbyteContext, configPath: string): Promise<number> {
  const config = loadConfig(configPath, (m) => void writer.write(logMessage('WARN', m)));
  const source = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
  try {
    const mode = config.credentials.auth_type;
    const columns = await discoverColumns(source, await surveyIdsToRead(source, config.survey_ids), { mode });
    await writer.write(catalogMessage(streamsFor(mode).map((s) => airbyteStream(s, s.name === 'survey_responses' ? columns : undefined))));
  } finally {
    await source.close();
  }
  return 0;
}
