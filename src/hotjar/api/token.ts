/**
 * API-key mode's authenticator: OAuth client credentials against Hotjar's official API.
 *
 * POST {api_base_url}/v1/oauth/token, form body with exactly grant_type=client_credentials, client_id and
 * client_secret [docs] → {"access_token", "token_type": "Bearer" (or "bearer": compared without case),
 * "expires_in": seconds} [clients]. No refresh token: a new one is asked for. The token is reused until
 * shortly before it expires (RENEW_BEFORE_MS, as public clients do), and renewed before the call that
 * would have used it, so a long read never sends an expired token; a 401 mid-read renews once and
 * repeats the call (api/client.ts).
 *
 * The client secret goes only to the token endpoint and the token only to the API's origin (both under
 * api_base_url; redirects are never followed). Both are masked in all output: the secret from the config
 * (spec.json marks it airbyte_secret), every token as soon as it arrives.
 *
 * Error bodies are [unknown]; the message is the first of error_description, message, msg, error
 * (what public clients read). 400/401/403 from the token endpoint mean the key was refused.
 */
import { AuthError, HttpStatusError, SystemError, loginUnavailable } from '../../core/errors.js';
import { isObject } from '../../core/json.js';
import { addSecret, snippet } from '../../core/secrets.js';
import type { Authenticator } from '../authenticator.js';
import { discard, readText, type Http, type Response } from '../http.js';
import { isRetryable, parseRetryAfter, redactUrl } from '../outcome.js';
import type { RateLimiter } from './rate-limit.js';

/** Renew this long before the token expires (or at half its life, for very short-lived tokens). */
export const RENEW_BEFORE_MS = 60_000;
/** When the answer gives no usable expires_in ([unknown]): the lifetime public clients report. */
export const DEFAULT_TOKEN_SECONDS = 3600;

export const KEY_HELP =
  "Hotjar API keys expire one year after they are created and cannot be extended: if this key is that old, or was deleted, an organization admin creates a new one in Hotjar under Settings > API, and the connector's credentials take its client ID and client secret.";

export interface TokenOptions {
  apiBaseUrl: string;
  clientId: string;
  clientSecret: string;
  limiter: RateLimiter;
  /** Clock (ms), for tests. */
  now?: () => number;
}

interface Token {
  value: string;
  /** When to ask for the next one (ms). */
  renewAt: number;
}

export class TokenAuthenticator implements Authenticator {
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;
  /** How many tokens were obtained (tests, logs). */
  issued = 0;
  private readonly now: () => number;

  constructor(
    private readonly http: Http,
    private readonly options: TokenOptions,
  ) {
    addSecret(options.clientSecret);
    this.now = options.now ?? Date.now;
  }

  get tokenUrl(): string {
    return `${this.options.apiBaseUrl}/v1/oauth/token`;
  }

  async headers(): Promise<Record<string, string>> {
    const current = this.token;
    const token = current !== undefined && this.now() < current.renewAt ? current : await this.obtain();
    return { authorization: `Bearer ${token.value}` };
  }

  async renew(): Promise<void> {
    this.token = undefined;
    await this.obtain();
  }

  /** One token request at a time; callers arriving meanwhile share its answer. */
  private obtain(): Promise<Token> {
    this.pending ??= this.request().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async request(): Promise<Token> {
    const { clientId, clientSecret, limiter } = this.options;
    const url = this.tokenUrl;
    const body = new URLSearchParams([
      ['grant_type', 'client_credentials'],
      ['client_id', clientId],
      ['client_secret', clientSecret],
    ]).toString();
    const token = await this.http
      .retrying('token request', async () => {
        await limiter.take(this.http.options.signal);
        const sentAt = this.now();
        return this.http.send(
          url,
          { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body },
          (res) => this.readToken(res, url, sentAt),
        );
      })
      .catch((err: unknown) => {
        throw loginUnavailable(err);
      });
    this.token = token;
    this.issued++;
    return token;
  }

  private async readToken(res: Response, url: string, sentAt: number): Promise<Token> {
    const { clientId } = this.options;
    if (res.statusCode >= 300 && res.statusCode < 400) {
      discard(res);
      // As in password mode's login: an answer that is not a token endpoint's points at api_base_url. It
      // is an AuthError (a config error that ends the run: no call can succeed without a token).
      throw new AuthError(
        `Hotjar's token endpoint answered with a redirect (HTTP ${res.statusCode}); the connector never follows redirects with credentials. Check api_base_url (default https://api.hotjar.io).`,
      );
    }
    let text = '';
    try {
      text = await readText(res, 1024 * 1024);
    } catch (err) {
      if (!(err instanceof HttpStatusError)) throw err;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const err = new HttpStatusError(res.statusCode, redactUrl(url), snippet(text), parseRetryAfter(res.headers['retry-after']));
      if (isRetryable(err)) throw err;
      const said = errorText(text);
      const hotjarSaid = said ? ` Hotjar said: ${said}.` : '';
      if (res.statusCode === 400 || res.statusCode === 401 || res.statusCode === 403) {
        throw new AuthError(
          `Hotjar refused the API key with client ID ${clientId} (HTTP ${res.statusCode}).${hotjarSaid} Check client_id and client_secret. ${KEY_HELP}`,
          {
            cause: err,
          },
        );
      }
      throw new AuthError(
        `Hotjar's token endpoint ${redactUrl(url)} answered HTTP ${res.statusCode}.${hotjarSaid} Check api_base_url (default https://api.hotjar.io).`,
        {
          cause: err,
        },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not quoted when it may hold a token (a form-encoded answer): it is not known as a secret yet.
      const quoted = /token|secret/i.test(text) ? 'not quoted: it may hold a token' : snippet(text, 80);
      throw new AuthError(
        `Hotjar's token endpoint answered something that is not JSON (${quoted}). Check api_base_url (default https://api.hotjar.io).`,
      );
    }
    const obj = isObject(parsed) ? parsed : {};
    const value = obj['access_token'];
    addSecret(value);
    if (typeof value !== 'string' || value === '') {
      throw new SystemError(
        `Hotjar's token endpoint answered without an access_token for client ID ${clientId}. Hotjar may have changed its API; report it.`,
      );
    }
    const type = obj['token_type'];
    // token_type is seen as both "Bearer" and "bearer"; absent is taken as Bearer ([unknown]: the only kind clients report).
    if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
      throw new SystemError(
        `Hotjar's token endpoint gave a token of type ${snippet(JSON.stringify(type), 40)}; the connector only knows Bearer tokens. Report it.`,
      );
    }
    const seconds = typeof obj['expires_in'] === 'number' && obj['expires_in'] > 0 ? obj['expires_in'] : DEFAULT_TOKEN_SECONDS;
    const lifeMs = seconds * 1000;
    // Counted from when the request was sent, so a slow answer can only make the renewal earlier.
    return { value, renewAt: sentAt + lifeMs - Math.min(RENEW_BEFORE_MS, lifeMs / 2) };
  }
}

/** The first of error_description, message, msg, error in a JSON error body, masked and shortened. */
export function errorText(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  for (const key of ['error_description', 'message', 'msg', 'error']) {
    const v = parsed[key];
    if (typeof v === 'string' && v.trim() !== '') return snippet(v, 200);
  }
  return undefined;
}
