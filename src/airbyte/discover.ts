/**
 * discover: the streams, with survey_responses declaring every column of the configured surveys'
 * exports (read from each export's header; the download stops there). Needs network access to Hotjar.
 */
import { loadConfig } from '../core/config.js';
import { connect } from '../hotjar/connect.js';
import { STREAMS, discoverColumns } from '../streams/catalog.js';
import { airbyteStream } from './catalog.js';
import type { AirbyteContext } from './context.js';
import { catalogMessage, logMessage } from './messages.js';

export async function discover({ writer, signal }: AirbyteContext, configPath: string): Promise<number> {
  const config = loadConfig(configPath);
  const source = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
  try {
    const columns = await discoverColumns(source, config.survey_ids);
    await writer.write(catalogMessage(STREAMS.map((s) => airbyteStream(s, s.name === 'survey_responses' ? columns : undefined))));
  } finally {
    await source.close();
  }
  return 0;
}
