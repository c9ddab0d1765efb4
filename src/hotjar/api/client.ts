/**
 * Hotjar's official API (api.hotjar.io), the calls API-key mode makes:
 * - GET /v1/sites/{site}/surveys?limit=100&with_questions=true[&cursor=…] → {results: [Survey], next_cursor}
 * - GET /v1/sites/{site}/surveys/{survey}/responses?limit=100[&cursor=…] → {results: [Response], next_cursor}
 *
 * Pages are followed by their opaque cursor until next_cursor is null or absent. Guards, because a
 * paging bug on either side must not become an endless sync: a cursor seen before in the same listing
 * is an error naming it (a loop); an empty page that still gives a cursor is followed (the cursor is
 * new), but more than MAX_EMPTY_PAGES of them in a row is an error.
 *
 * Every call: Bearer token (TokenAuthenticator), the shared rate cap (rate-limit.ts), Http.retrying for
 * 429/5xx/network failures (Retry-After honoured, same budget options as password mode), a 401 renews
 * the token once and repeats the call. A 403 does not: it means the plan or the key's scope, which a new
 * token cannot change. A 2xx answer that is not whole JSON (a page cut half way) is retried like a cut
 * transfer. Redirects are never followed (the token must reach no other host).
 */
import { AuthError, ConfigError, HttpStatusError, SystemError } from '../../core/errors.js';
import { isObject } from '../../core/json.js';
import { snippet } from '../../core/secrets.js';
import type { Authenticator } from '../authenticator.js';
import { discard, readText, statusError, type Http, type Response } from '../http.js';
import { describeFailure, redactUrl } from '../outcome.js';
import type { RateLimiter } from './rate-limit.js';
import { KEY_HELP } from './token.js';

/** At most 100 a page ([clients]); the default page size is [unknown], so it is always given. */
export const PAGE_SIZE = 100;
export const MAX_EMPTY_PAGES = 3;

export interface ApiClientOptions {
  apiBaseUrl: string;
  siteId: string;
  limiter: RateLimiter;
}

/** Turns a final HTTP refusal of one call into the error the user reads. */
type Explain = (err: HttpStatusError) => Error;

export class ApiClient {
  constructor(
    private readonly http: Http,
    private readonly auth: Authenticator,
    private readonly options: ApiClientOptions,
  ) {}

  private get sitePath(): string {
    return `${this.options.apiBaseUrl}/v1/sites/${encodeURIComponent(this.options.siteId)}`;
  }

  /** The site's surveys with their questions, page by page. */
  surveyPages(): AsyncGenerator<unknown[]> {
    const site = this.options.siteId;
    return this.pages(
      `${this.sitePath}/surveys`,
      { limit: String(PAGE_SIZE), with_questions: 'true' },
      `survey list of site ${site}`,
      (err) => {
        if (err.status === 404) {
          return new ConfigError(
            `Hotjar's API knows no site ${site} (${describeFailure(err)}). Check site_id (the number on Hotjar's Sites & Organizations page) and api_base_url.`,
            {
              cause: err,
            },
          );
        }
        if (err.status === 403) {
          return new ConfigError(
            `Hotjar's API refused the survey list of site ${site} (${describeFailure(err)}). Check site_id: an API key belongs to one organization and sees only its sites (Sites & Organizations page), and its scope must include surveys.`,
            { cause: err },
          );
        }
        return new ConfigError(`Hotjar's API rejected the survey list of site ${site} (${describeFailure(err)}). Check site_id.`, {
          cause: err,
        });
      },
    );
  }

  /** A survey's responses, newest first, page by page. */
  responsePages(surveyId: string, limit = PAGE_SIZE): AsyncGenerator<unknown[]> {
    const site = this.options.siteId;
    return this.pages(
      `${this.sitePath}/surveys/${encodeURIComponent(surveyId)}/responses`,
      { limit: String(limit) },
      `responses of survey ${surveyId}`,
      (err) => {
        if (err.status === 403) {
          return new ConfigError(
            `Hotjar's API refused the responses of survey ${surveyId} in site ${site} (${describeFailure(err)}). Reading survey responses through Hotjar's API needs the Ask Scale plan: check the organization's plan, and that the API key's scope includes surveys.`,
            { cause: err },
          );
        }
        if (err.status === 404) {
          return new ConfigError(
            `Hotjar's API knows no survey ${surveyId} in site ${site} (${describeFailure(err)}). Check survey_ids, or leave them out to read every survey of the site.`,
            { cause: err },
          );
        }
        return new ConfigError(
          `Hotjar's API rejected the responses of survey ${surveyId} in site ${site} (${describeFailure(err)}). Check site_id and survey_ids.`,
          {
            cause: err,
          },
        );
      },
    );
  }

  /** The first page of a survey's responses (discover's columns, check's plan probe). */
  async firstResponses(surveyId: string, limit = PAGE_SIZE): Promise<unknown[]> {
    const pages = this.responsePages(surveyId, limit);
    try {
      const first = await pages.next();
      return first.done ? [] : first.value;
    } finally {
      await pages.return(undefined);
    }
  }

  private async *pages(url: string, query: Record<string, string>, what: string, explain: Explain): AsyncGenerator<unknown[]> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let emptyInARow = 0;
    for (let page = 1; ; page++) {
      const params = new URLSearchParams(query);
      if (cursor !== undefined) params.set('cursor', cursor);
      const body = await this.getJson(`${url}?${params.toString()}`, `${what} (page ${page})`, explain);
      const { results, next } = readPage(body, what, page);
      // Checked before the page's rows are given out: a page that points back is not trusted.
      if (next !== undefined && seen.has(next)) {
        throw new SystemError(
          `Hotjar's API gave the cursor ${JSON.stringify(snippet(next, 80))} a second time while paging the ${what} (page ${page}); following it would loop forever, so the read stops here. Try again later; if it persists, report it.`,
        );
      }
      emptyInARow = results.length === 0 && next !== undefined ? emptyInARow + 1 : 0;
      if (emptyInARow > MAX_EMPTY_PAGES) {
        throw new SystemError(
          `Hotjar's API answered ${emptyInARow} empty pages in a row that still gave a next cursor while paging the ${what} (last cursor ${JSON.stringify(snippet(next ?? '', 80))}); the read stops rather than page on without end. Try again later; if it persists, report it.`,
        );
      }
      yield results;
      if (next === undefined) return;
      seen.add(next);
      cursor = next;
    }
  }

  /** GET with the token; a 401 renews it once and repeats the call. */
  private async getJson(url: string, what: string, explain: Explain): Promise<unknown> {
    for (let renewed = false; ; renewed = true) {
      try {
        return await this.http.retrying(what, async () => {
          await this.options.limiter.take(this.http.options.signal);
          // Each attempt asks for the token: a retry after a long wait (Retry-After) gets a renewed one.
          const headers = await this.auth.headers();
          return this.http.send(url, { headers: { ...headers, accept: 'application/json' } }, (res) => readJson(res, url, what));
        });
      } catch (err) {
        if (!(err instanceof HttpStatusError)) throw err;
        if (err.status === 401 && !renewed) {
          await this.auth.renew();
          continue;
        }
        if (err.status === 401) {
          throw new AuthError(`Hotjar's API refused a fresh token for the ${what} (${describeFailure(err)}). ${KEY_HELP}`, { cause: err });
        }
        throw explain(err);
      }
    }
  }
}

/** The most one answer (a page of PAGE_SIZE responses, or the survey list) may hold: long answers fit, memory stays bounded. */
const ANSWER_BYTES = 64 * 1024 * 1024;

async function readJson(res: Response, url: string, what: string): Promise<unknown> {
  if (res.statusCode >= 300 && res.statusCode < 400) {
    discard(res);
    throw new SystemError(
      `Hotjar's API answered the ${what} with a redirect (HTTP ${res.statusCode}); the connector never follows redirects with a token. Check api_base_url.`,
    );
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw await statusError(res, url);
  let text: string;
  try {
    text = await readText(res, ANSWER_BYTES);
  } catch (err) {
    // readText's "too large" is an HttpStatusError of the answer's own (2xx) status: not a refusal.
    if (err instanceof HttpStatusError) {
      throw new SystemError(
        `Hotjar's API answered the ${what} with more than ${ANSWER_BYTES / 1024 / 1024} MiB in one page, more than the connector holds at once; report it (a page holds ${PAGE_SIZE} responses).`,
      );
    }
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A page cut half way (a connection closed without a length) ends as broken JSON: worth another try.
    throw Object.assign(new Error(`the answer to the ${what} from ${redactUrl(url)} is not whole JSON (${snippet(text, 60)})`), {
      code: 'ERR_INCOMPLETE_JSON',
    });
  }
}

/** A page: {results: [...], next_cursor: string | null}; an empty or absent cursor ends the listing. */
function readPage(body: unknown, what: string, page: number): { results: unknown[]; next: string | undefined } {
  const results = isObject(body) ? body['results'] : undefined;
  const next = isObject(body) ? body['next_cursor'] : undefined;
  if (!Array.isArray(results) || (next !== undefined && next !== null && typeof next !== 'string')) {
    throw new SystemError(
      `Hotjar's API answered page ${page} of the ${what} with something other than a page ({"results": [...], "next_cursor": ...}). Hotjar may have changed its API; report it.`,
    );
  }
  return { results, next: typeof next === 'string' && next !== '' ? next : undefined };
}
