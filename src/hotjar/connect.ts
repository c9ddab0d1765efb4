/**
 * Builds the source of survey responses a validated config asks for: API-key mode (Hotjar's official
 * API, api/*) or password mode (the internal API's export, export/*), behind the one SurveySource port.
 */
import type { Config } from '../core/config.js';
import { ApiClient } from './api/client.js';
import { RateLimiter } from './api/rate-limit.js';
import { ApiSource } from './api/source.js';
import { TokenAuthenticator } from './api/token.js';
import { SessionAuthenticator } from './authenticator.js';
import { ExportClient } from './export/client.js';
import { ExportSource } from './export/source.js';
import { parseInternalSurveyList } from './export/survey-list.js';
import { Http } from './http.js';
import type { SurveyInfo, SurveySource } from './source.js';

export interface ConnectHooks {
  /** Hotjar answered 429: the run waits (until resumeAt, when known). */
  onRateLimited?: (resumeAt: number | undefined) => void;
}

export function connect(config: Config, log: (message: string) => void, signal?: AbortSignal, hooks: ConnectHooks = {}): SurveySource {
  const http = new Http({
    maxAttempts: config.max_attempts,
    maxRetryWaitMs: config.max_retry_wait_seconds * 1000,
    timeoutMs: config.request_timeout_seconds * 1000,
    deadlineMs: config.request_deadline_seconds * 1000,
    log,
    signal,
    onRateLimited: hooks.onRateLimited,
  });
  const { credentials } = config;
  if (credentials.auth_type === 'api_key') {
    const limiter = new RateLimiter(config.max_requests_per_second);
    const auth = new TokenAuthenticator(http, {
      apiBaseUrl: config.api_base_url,
      clientId: credentials.client_id,
      clientSecret: credentials.client_secret,
      limiter,
    });
    const client = new ApiClient(http, auth, { apiBaseUrl: config.api_base_url, siteId: config.site_id, limiter });
    const source = new ApiSource(client, { siteId: config.site_id, log });
    return {
      verify: (ids) => source.verify(ids),
      columns: (id) => source.columns(id),
      open: (id) => source.open(id),
      listSurveys: () => source.listSurveys(),
      close: async () => {
        await source.close();
        await http.close();
      },
    };
  }
  const auth = new SessionAuthenticator(http, { baseUrl: config.base_url, email: credentials.email, password: credentials.password });
  const client = new ExportClient(http, auth, { baseUrl: config.base_url, siteId: config.site_id });
  const source = new ExportSource(client, {
    maxAttempts: config.max_attempts,
    limits: { maxInflatedBytes: config.max_export_bytes, maxRatio: config.max_export_ratio },
    maxRecordBytes: config.max_field_bytes,
    log,
    signal,
  });
  let list: Promise<SurveyInfo[]> | undefined;
  return {
    verify: (ids) => source.verify(ids),
    columns: (id) => source.columns(id),
    open: (id) => source.open(id),
    listSurveys: () => {
      list ??= client
        .surveyList()
        .then((body) => parseInternalSurveyList(body, config.site_id))
        .catch((err: unknown) => {
          list = undefined;
          throw err;
        });
      return list;
    },
    close: async () => {
      await source.close();
      await http.close();
    },
  };
}
