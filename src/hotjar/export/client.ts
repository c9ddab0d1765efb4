/**
 * The Hotjar client: log in (session cookies + X-Acc taken from the ACC cookie), ask for a survey's
 * export, and open its download. Hotjar credentials go only to the configured API origin: API calls
 * never follow redirects, and the download is a bare request to the storage host.
 */
import { Headers, getSetCookies } from 'undici';
import { AuthError, BrokenExportError, ConfigError, SystemError } from '../errors.js';
import { addSecret } from '../protocol/secrets.js';
import { extractCsv } from './archive.js';
import { Http, discard, readText, statusError, type Response } from './http.js';
import { HttpStatusError, describeFailure, isRetryable, redactUrl } from './retry-policy.js';

export interface HotjarClientOptions {
  baseUrl: string;
  email: string;
  password: string;
  siteId: string;
}

interface Session {
  cookie: string;
  acc: string;
}

const SURVEY_QUERY = JSON.stringify({ sort_by: '-index', clauses: [] });
const MAX_REDIRECTS = 5;
const LOGIN_HELP =
  'Check email and password. Accounts that use two-factor authentication or single sign-on (SSO, e.g. Google login) cannot log in with a password: use a Hotjar user that logs in with email and password.';

/** A download that broke part way: worth a fresh export. */
export class DownloadBrokenError extends BrokenExportError {}

export class HotjarClient {
  private session: Session | undefined;

  constructor(
    private readonly http: Http,
    private readonly options: HotjarClientOptions,
  ) {}

  private get loginUrl(): string {
    return `${this.options.baseUrl}/v2/users`;
  }

  exportUrl(surveyId: string): string {
    const q = new URLSearchParams({ survey_query: SURVEY_QUERY, format: 'csv', async_export: 'false' });
    return `${this.options.baseUrl}/ask/v3/sites/${this.options.siteId}/polls/${surveyId}/responses/export?${q.toString()}`;
  }

  /** Logs in and keeps the session. */
  async login(): Promise<void> {
    const { email, password } = this.options;
    this.session = undefined;
    this.session = await this.http.retrying('login', async () => {
      const res = await this.http.send(this.loginUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ action: 'login', email, password, remember: false }),
      });
      return this.readLogin(res);
    });
  }

  private async readLogin(res: Response): Promise<Session> {
    const cookies = cookiesOf(res);
    for (const c of cookies) addSecret(c.value);
    if (res.statusCode >= 300 && res.statusCode < 400) {
      discard(res);
      throw new SystemError(
        `Hotjar answered the login with a redirect (HTTP ${res.statusCode}); the connector never follows redirects with credentials. Check base_url.`,
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const err = await statusError(res, this.loginUrl);
      if (isRetryable(err)) throw err;
      throw new AuthError(
        `Hotjar refused the login for ${this.options.email} (${describeFailure(err)}). ${LOGIN_HELP}`,
        { cause: err },
      );
    }
    const text = await readText(res);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AuthError(`Hotjar's login answer was not JSON, so the login failed. Check base_url (it should end in /api). ${LOGIN_HELP}`);
    }
    const obj = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    addSecret(obj['access_key']);
    const serverMessage = typeof obj['message'] === 'string' ? ` Hotjar said: ${obj['message'].slice(0, 200)}.` : '';
    if (obj['success'] === false || obj['access_key'] === undefined) {
      throw new AuthError(`Hotjar did not accept the login for ${this.options.email}.${serverMessage} ${LOGIN_HELP}`);
    }
    const acc = cookies.find((c) => c.name === 'ACC')?.value;
    if (!acc) {
      throw new AuthError(
        `Hotjar's login answer for ${this.options.email} had no ACC cookie, so no session could be opened.${serverMessage} ${LOGIN_HELP}`,
      );
    }
    return { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '), acc };
  }

  /**
   * GET on the API with the session. A 401/403 logs in again once and repeats the call; a second
   * refusal is final.
   */
  private async authedJson(url: string, what: string, onRefused: (err: HttpStatusError) => Error): Promise<unknown> {
    if (!this.session) await this.login();
    for (let relogin = 0; ; relogin++) {
      const session = this.session!;
      const res = await this.http.retrying(what, async () => {
        const r = await this.http.send(url, {
          headers: { cookie: session.cookie, 'x-acc': session.acc, accept: 'application/json' },
        });
        if (r.statusCode >= 300 && r.statusCode < 400) {
          discard(r);
          throw new SystemError(
            `Hotjar answered the ${what} with a redirect to ${redactUrl(new URL(String(r.headers['location'] ?? ''), url))}; the connector never follows redirects with credentials. Check base_url.`,
          );
        }
        if (r.statusCode < 200 || r.statusCode >= 300) throw await statusError(r, url);
        return r;
      }).catch((err: unknown) => err as Error);
      if (!(res instanceof Error)) {
        const text = await readText(res);
        try {
          return JSON.parse(text);
        } catch {
          throw new SystemError(
            `Hotjar answered the ${what} with something that is not JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…). Hotjar may have changed its API; check base_url or report it.`,
          );
        }
      }
      if (res instanceof HttpStatusError && (res.status === 401 || res.status === 403)) {
        if (relogin === 0) {
          await this.login();
          continue;
        }
        throw onRefused(res);
      }
      throw res;
    }
  }

  /** Asks Hotjar to build a survey's CSV export; returns the pre-signed download URL. */
  async exportDownloadUrl(surveyId: string): Promise<string> {
    const site = this.options.siteId;
    const what = `export of survey ${surveyId}`;
    let body: unknown;
    try {
      body = await this.authedJson(this.exportUrl(surveyId), what, (err) =>
        new ConfigError(
          `Hotjar refused the ${what} in site ${site} even after a fresh login (${describeFailure(err)}). Check that this user can see survey ${surveyId} of site ${site}.`,
          { cause: err },
        ),
      );
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404) {
        throw new ConfigError(
          `Hotjar knows no survey ${surveyId} in site ${site} for this user (HTTP 404). Check site_id and survey_ids (the numbers in the survey's URL on insights.hotjar.com).`,
          { cause: err },
        );
      }
      if (err instanceof HttpStatusError) {
        throw new ConfigError(`Hotjar rejected the ${what} in site ${site} (${describeFailure(err)}). Check site_id and survey_ids.`, { cause: err });
      }
      throw err;
    }
    const url = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['download_url'] : undefined;
    if (typeof url !== 'string' || url === '') {
      throw new SystemError(
        `HotJarApiError: Hotjar's answer to the ${what} in site ${site} has no download_url, so there is no file to read. Try again later; if it persists Hotjar has changed its API.`,
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SystemError(`HotJarApiError: the download_url for survey ${surveyId} is not a valid URL.`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new SystemError(`HotJarApiError: the download_url for survey ${surveyId} is not an http(s) URL.`);
    }
    maskQuery(parsed);
    return parsed.toString();
  }

  /**
   * Downloads an export (no Hotjar credentials: a bare request to the storage host) and yields the CSV
   * bytes, unzipped on the fly. Failures part way are DownloadBrokenError.
   */
  async *downloadCsv(url: string, surveyId: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const label = `survey ${surveyId}`;
    const res = await this.http.retrying(`download of survey ${surveyId}`, async () => {
      let target = url;
      for (let hop = 0; ; hop++) {
        const r = await this.http.send(target, { headers: { accept: '*/*' }, signal });
        const location = r.headers['location'];
        if (r.statusCode >= 300 && r.statusCode < 400 && typeof location === 'string' && hop < MAX_REDIRECTS) {
          discard(r);
          const next = new URL(location, target);
          maskQuery(next);
          if (next.protocol !== 'https:' && next.protocol !== 'http:') {
            throw new SystemError(`The download of ${label} redirected to a non-http(s) URL.`);
          }
          target = next.toString();
          continue;
        }
        if (r.statusCode < 200 || r.statusCode >= 300) {
          const err = await statusError(r, target);
          if (isRetryable(err)) throw err;
          throw new DownloadBrokenError(
            `The storage host refused the download of ${label} (${describeFailure(err)}); the link may have expired.`,
            { cause: err },
          );
        }
        return r;
      }
    });
    yield* extractCsv(guardBody(res, label), label);
  }
}

/** A pre-signed URL carries its token in the query: mask the whole query and each value on its own. */
function maskQuery(url: URL): void {
  if (!url.search) return;
  addSecret(url.search.slice(1));
  for (const value of url.searchParams.values()) addSecret(value);
}

/** Network failures while the body streams become DownloadBrokenError (a fresh export may succeed). */
async function* guardBody(res: Response, label: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) yield chunk;
  } catch (err) {
    if (isRetryable(err)) {
      throw new DownloadBrokenError(`The download of ${label} broke part way: ${describeFailure(err)}.`, { cause: err });
    }
    throw err;
  } finally {
    if (!res.body.destroyed) discard(res);
  }
}

function cookiesOf(res: Response): { name: string; value: string }[] {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const headers = new Headers();
  for (const line of list) headers.append('set-cookie', line);
  return getSetCookies(headers).map((c) => ({ name: c.name, value: c.value }));
}
