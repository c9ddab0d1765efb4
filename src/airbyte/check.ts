/**
 * check: validate the config, log in, and ask for each survey's export. Every failure is a
 * CONNECTION_STATUS FAILED with a message that says what to fix; the exit code is 0 either way.
 */
import { toConnectorError } from '../errors.js';
import { connect } from '../hotjar/connect.js';
import { parseConfig, readJsonFile } from '../protocol/inputs.js';
import { connectionStatus, logMessage } from '../protocol/messages.js';
import type { Command } from './context.js';

export const check: Command<{ config: string }> = async ({ writer, signal }, args) => {
  let http: { close(): Promise<void> } | undefined;
  try {
    const config = parseConfig(readJsonFile(args.config, 'config'), args.config);
    const conn = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
    http = conn.http;
    await conn.client.login();
    for (const surveyId of config.survey_ids) await conn.client.exportDownloadUrl(surveyId);
    await writer.write(
      connectionStatus(
        'SUCCEEDED',
        `Logged in to Hotjar as ${config.email}; survey${config.survey_ids.length > 1 ? 's' : ''} ${config.survey_ids.join(', ')} of site ${config.site_id} can be exported.`,
      ),
    );
  } catch (err) {
    await writer.write(connectionStatus('FAILED', toConnectorError(err).message));
  } finally {
    await http?.close();
  }
  return 0;
};
