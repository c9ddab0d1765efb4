/**
 * The internal API's export calls: ask Hotjar to build a survey's CSV export (with the session), and
 * fetch the file from the pre-signed download URL it answers with (a bare request: no Hotjar
 * credentials ever reach the storage host). API calls never follow redirects.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { BrokenExportError, ConfigError, HttpStatusError, SystemError } from '../../core/errors.js';
import { Reclaimer } from '../../core/gc.js';
import { isLoopbackHost } from '../../core/config.js';
import { isObject } from '../../core/json.js';
import { addSecret, snippet } from '../../core/secrets.js';
import type { Authenticator } from '../authenticator.js';
import { discard, readText, statusError, type Http, type Response } from '../http.js';
import { decide, describeFailure, isRetryable, redactUrl } from '../outcome.js';
import type { SpooledDownload } from './export-file.js';

/**
 * The download's buffers, socket to spool file: 1 MiB each instead of 64 KiB and 16 KiB, so that the file
 * is written in large pieces and the socket pauses less (the 300k bench export's loopback download:
 * 195–250 ms → 152–191 ms), for ~2 MiB held at most.
 */
export const DOWNLOAD_BUFFER = 1024 * 1024;

const SURVEY_QUERY = JSON.stringify({ sort_by: '-index', clauses: [] });
const MAX_REDIRECTS = 5;

export interface ExportClientOptions {
  baseUrl: string;
  siteId: string;
}

export class ExportClient {
  private readonly apiIsLoopback: boolean;

  constructor(
    private readonly http: Http,
    private readonly auth: Authenticator,
    private readonly options: ExportClientOptions,
  ) {
    this.apiIsLoopback = isLoopbackHost(new URL(options.baseUrl).hostname);
  }

  exportUrl(surveyId: string): string {
    const q = new URLSearchParams({ survey_query: SURVEY_QUERY, format: 'csv', async_export: 'false' });
    return `${this.options.baseUrl}/ask/v3/sites/${this.options.siteId}/polls/${surveyId}/responses/export?${q.toString()}`;
  }

  surveyListUrl(): string {
    return `${this.options.baseUrl}/v1/sites/${this.options.siteId}/surveys`;
  }

  /**
   * The internal API's list of the site's surveys, as JSON (its shape is unknown: survey-list.ts reads
   * it tolerantly). Refusals and unknown sites are ConfigErrors that also offer survey_ids as the way out.
   */
  async surveyList(): Promise<unknown> {
    const site = this.options.siteId;
    const what = `survey list of site ${site}`;
    return this.authorizedJson(this.surveyListUrl(), what).catch((err: unknown) => {
      if (!(err instanceof HttpStatusError)) throw err;
      const why =
        err.status === 404
          ? `Hotjar knows no site ${site} for this user, or no longer answers at this address (HTTP 404)`
          : err.status === 401 || err.status === 403
            ? `Hotjar refused the ${what} even after a fresh login (${describeFailure(err)})`
            : `Hotjar rejected the ${what} (${describeFailure(err)})`;
      throw new ConfigError(
        `${why}. Check site_id; or list the surveys to read in survey_ids (the numbers in each survey's URL on insights.hotjar.com).`,
        {
          cause: err,
        },
      );
    });
  }

  /** Asks Hotjar to build a survey's CSV export; returns the pre-signed download URL. */
  async downloadUrl(surveyId: string): Promise<URL> {
    const site = this.options.siteId;
    const what = `export of survey ${surveyId}`;
    const url = this.exportUrl(surveyId);
    const body = await this.authorizedJson(url, what).catch((err: unknown) => {
      if (!(err instanceof HttpStatusError)) throw err;
      if (err.status === 401 || err.status === 403) {
        throw new ConfigError(
          `Hotjar refused the ${what} in site ${site} even after a fresh login (${describeFailure(err)}). Check that this user can see survey ${surveyId} of site ${site}.`,
          { cause: err },
        );
      }
      if (err.status === 404) {
        throw new ConfigError(
          `Hotjar knows no survey ${surveyId} in site ${site} for this user (HTTP 404). Check site_id and survey_ids (the numbers in the survey's URL on insights.hotjar.com).`,
          { cause: err },
        );
      }
      throw new ConfigError(`Hotjar rejected the ${what} in site ${site} (${describeFailure(err)}). Check site_id and survey_ids.`, {
        cause: err,
      });
    });
    const link = isObject(body) ? body['download_url'] : undefined;
    if (typeof link !== 'string' || link === '') {
      throw new SystemError(
        `Hotjar's answer to the ${what} in site ${site} has no download_url, so there is no file to read. Try again later; if it persists, Hotjar has changed its API.`,
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(link);
    } catch {
      throw new SystemError(`The download_url Hotjar gave for survey ${surveyId} is not a valid URL.`);
    }
    maskQuery(parsed);
    this.checkDownloadTarget(parsed, surveyId);
    return parsed;
  }

  /**
   * A download URL must be https (plain http only when the API itself is a loopback stand-in), and never
   * a loopback, private or link-local address (a cloud metadata service, say) unless the API is loopback.
   */
  private checkDownloadTarget(url: URL, surveyId: string): void {
    if (this.apiIsLoopback) {
      if (url.protocol === 'https:' || url.protocol === 'http:') return;
    } else if (url.protocol === 'https:' && !isInternalHost(url.hostname)) {
      return;
    }
    throw new SystemError(
      `Hotjar's download_url for survey ${surveyId} points at ${url.protocol}//${url.hostname}, which the connector refuses (only https to a public host). Report it if Hotjar really answers so.`,
    );
  }

  /** GET with the session; a 401/403 renews it once and repeats the call. Errors are HttpStatusError for non-2xx. */
  private async authorizedJson(url: string, what: string): Promise<unknown> {
    for (let renewed = false; ; renewed = true) {
      const headers = await this.auth.headers();
      try {
        return await this.http.retrying(what, () =>
          this.http.send(url, { headers: { ...headers, accept: 'application/json' } }, (res) => this.readJson(res, url, what)),
        );
      } catch (err) {
        if (!renewed && err instanceof HttpStatusError && decide({ status: err.status }, 'authorized') === 'reauthenticate') {
          await this.auth.renew();
          continue;
        }
        throw err;
      }
    }
  }

  private async readJson(res: Response, url: string, what: string): Promise<unknown> {
    if (res.statusCode >= 300 && res.statusCode < 400) {
      const location = redactUrl(new URL(String(res.headers['location'] ?? ''), url));
      discard(res);
      throw new SystemError(
        `Hotjar answered the ${what} with a redirect to ${location}; the connector never follows redirects with credentials. Check base_url.`,
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw await statusError(res, url);
    const text = await readText(res);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SystemError(
        `Hotjar answered the ${what} with something that is not JSON (${snippet(text, 80)}). Hotjar may have changed its API; check base_url or report it.`,
      );
    }
  }

  /**
   * GETs a download (no credentials), following the storage host's redirects, and hands the body to
   * `use`. A refusal is a BrokenExportError (the link may have expired: a fresh export may help).
   */
  async download<T>(url: URL, surveyId: string, use: (res: Response) => Promise<T>): Promise<T> {
    const label = `survey ${surveyId}`;
    return this.http.retrying(`download of survey ${surveyId}`, async () => {
      let target = url;
      for (let hop = 0; ; hop++) {
        const next = await this.http.send(
          target.toString(),
          { headers: { accept: '*/*' }, highWaterMark: DOWNLOAD_BUFFER },
          async (res) => {
            const location = res.headers['location'];
            if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string' && hop < MAX_REDIRECTS) {
              const to = new URL(location, target);
              maskQuery(to);
              this.checkDownloadTarget(to, surveyId);
              return { redirect: to };
            }
            if (res.statusCode < 200 || res.statusCode >= 300) {
              const err = await statusError(res, target.toString());
              if (isRetryable(err)) throw err;
              throw new BrokenExportError(
                `The storage host refused the download of ${label} (${describeFailure(err)}); the link may have expired.`,
                {
                  cause: err,
                },
              );
            }
            return { value: await use(res) };
          },
        );
        if ('value' in next) return next.value;
        target = next.redirect;
      }
    });
  }

  /** Downloads an export to `path` (the spool). */
  async spool(url: URL, surveyId: string, path: string): Promise<SpooledDownload> {
    return this.download(url, surveyId, async (res) => {
      // Only a Content-Length, declared before the body and checked by undici against it, proves that a
      // body is whole: a chunked body that ends cleanly may still have been ended early by its server
      // (a generator failing part way), which for a plain CSV cut at a row boundary cannot be detected.
      const lengthProven = res.headers['content-length'] !== undefined;
      let bytes = 0;
      const reclaimer = new Reclaimer();
      const counted = async function* (body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of body) {
          bytes += chunk.length;
          reclaimer.note(chunk.length);
          yield chunk;
        }
      };
      // The disk's backpressure reaches undici's parser (memory stays flat); a storage host that closes
      // the connection while it is paused no longer crashes the process: see guardPausedParser (http.ts).
      await pipeline(res.body as AsyncIterable<Buffer>, counted, createWriteStream(path, { highWaterMark: DOWNLOAD_BUFFER }));
      return { path, bytes, lengthProven };
    });
  }
}

/** A pre-signed URL carries its token in the query: mask the whole query and each value on its own. */
function maskQuery(url: URL): void {
  if (!url.search) return;
  addSecret(url.search.slice(1));
  for (const value of url.searchParams.values()) addSecret(value);
}

/** Literal loopback, private (RFC 1918, ULA) and link-local addresses, and localhost. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopbackHost(host) || host.endsWith('.localhost') || host === '0.0.0.0' || host === '::') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    return (
      a === 10 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (host.includes(':')) return host.startsWith('fc') || host.startsWith('fd') || host.startsWith('fe80') || host.startsWith('::ffff:');
  return false;
}
