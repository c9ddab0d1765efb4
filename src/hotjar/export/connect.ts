/** Builds the Hotjar client from a validated config. */
import type { Config } from '../protocol/inputs.js';
import { HotjarClient } from './client.js';
import { Http } from './http.js';

export function connect(config: Config, log: (message: string) => void, signal?: AbortSignal): { client: HotjarClient; http: Http } {
  const http = new Http({
    maxAttempts: config.max_attempts,
    maxRetryWaitMs: config.max_retry_wait_seconds * 1000,
    timeoutMs: config.request_timeout_seconds * 1000,
    log,
    signal,
  });
  const client = new HotjarClient(http, {
    baseUrl: config.base_url,
    email: config.email,
    password: config.password,
    siteId: config.site_id,
  });
  return { client, http };
}
