/**
 * check: validate the config, log in, and ask for each survey's export. What the user must fix (bad
 * config, refused login, unknown survey or site) is CONNECTION_STATUS FAILED with exit 0; an outage
 * (after retries) or anything unexpected is thrown, and becomes a TRACE error with exit 1.
 */
import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { connect } from '../hotjar/connect.js';
import { connectionStatus, logMessage } from './messages.js';
import type { AirbyteContext } from './context.js';

export async function check({ writer, signal }: AirbyteContext, configPath: string): Promise<number> {
  let config;
  try {
    config = loadConfig(configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    await writer.write(connectionStatus('FAILED', err.message));
    return 0;
  }
  const source = connect(config, (m) => void writer.write(logMessage('WARN', m)), signal);
  try {
    await source.verify(config.survey_ids);
    const ids = config.survey_ids;
    await writer.write(
      connectionStatus('SUCCEEDED', `Logged in to Hotjar as ${config.email}; survey${ids.length > 1 ? 's' : ''} ${ids.join(', ')} of site ${config.site_id} can be exported.`),
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    await writer.write(connectionStatus('FAILED', err.message));
  } finally {
    await source.close();
  }
  return 0;
}
