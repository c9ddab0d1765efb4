/**
 * check: validate the config, prove the credentials (a login, or a token for the API key), find the
 * surveys to read (the configured ids, or the site's list), and ask for each survey's export (password
 * mode) or its first response (API-key mode: proves the plan). What the user must fix (bad config,
 * refused login or key, unknown survey or site, wrong plan) is CONNECTION_STATUS FAILED with exit 0 and a
 * message naming the fix; an outage (after retries) or anything unexpected is thrown, and becomes a TRACE
 * error with exit 1.
 */
import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { connect } from '../hotjar/connect.js';
import { surveyIdsToRead } from '../streams/catalog.js';
import { connectionStatus, logMessage } from './messages.js';
import type { AirbyteContext } from './context.js';

export async function check({ writer, signal }: AirbyteContext, configPath: string): Promise<number> {
  let config;
  try {
    config = loadConfig(configPath, (m) => void writer.write(logMessage('WARN', m)));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    await writer.write(connectionStatus('FAILED', err.message));
    return 0;
  }
  const source = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
  try {
    const ids = await surveyIdsToRead(source, config.survey_ids);
    await source.verify(ids);
    const surveys = `survey${ids.length > 1 ? 's' : ''} ${ids.join(', ')} of site ${config.site_id}${config.survey_ids.length ? '' : ' (every survey the site lists)'}`;
    const { credentials } = config;
    await writer.write(
      connectionStatus(
        'SUCCEEDED',
        credentials.auth_type === 'api_key'
          ? `Hotjar's API accepted the API key with client ID ${credentials.client_id}; the responses of ${surveys} can be read.`
          : `Logged in to Hotjar as ${credentials.email}; ${surveys} can be exported.`,
      ),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    await writer.write(connectionStatus('FAILED', err.message));
  } finally {
    await source.close();
  }
  return 0;
}
