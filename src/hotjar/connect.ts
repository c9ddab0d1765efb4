/** Builds the source of survey responses a validated config asks for. */
import type { Config } from '../core/config.js';
import { SessionAuthenticator } from './authenticator.js';
import { ExportClient } from './export/client.js';
import { ExportSource } from './export/source.js';
import { Http } from './http.js';
import type { SurveySource } from './source.js';

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
  const auth = new SessionAuthenticator(http, { baseUrl: config.base_url, email: config.email, password: config.password });
  const client = new ExportClient(http, auth, { baseUrl: config.base_url, siteId: config.site_id });
  const source = new ExportSource(client, {
    maxAttempts: config.max_attempts,
    limits: { maxInflatedBytes: config.max_export_bytes, maxRatio: config.max_export_ratio },
    maxRecordBytes: config.max_field_bytes,
    log,
    signal,
  });
  return {
    verify: (ids) => source.verify(ids),
    columns: (id) => source.columns(id),
    open: (id) => source.open(id),
    close: async () => {
      await source.close();
      await http.close();
    },
  };
}
