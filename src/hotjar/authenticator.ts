/**
 * Authenticators: how a call to Hotjar's API gets its credentials. One interface, so a second way in
 * (an API key's bearer token) is another small implementation; the clients only ask for headers and,
 * after a refusal, for fresh credentials once.
 */
import { AuthError, HttpStatusError, loginUnavailable } from '../core/errors.js';
import { isObject } from '../core/json.js';
import { addSecret, snippet } from '../core/secrets.js';
import { discard, readText, statusError, type Http, type Response } from './http.js';
import { parseSetCookies } from './undici.js';
import { decide, describeFailure } from './outcome.js';

export interface Authenticator {
  /** Headers that authorize an API call; obtains credentials first when there are none yet. */
  headers(): Promise<Record<string, string>>;
  /** Drops the credentials and obtains new ones (after the API refused them). */
  renew(): Promise<void>;
}

export const LOGIN_HELP =
  'Check email and password. Accounts that use two-factor authentication or single sign-on (SSO, e.g. Google login) cannot log in with a password: use a Hotjar user that logs in with email and password.';

/**
 * Hotjar's internal web login: POST {base}/v2/users → session cookies; every API call sends them and
 * `X-Acc: <ACC cookie>`. The failure shape is unknown (../docs: any non-2xx, `success: false`, or a
 * missing access_key/ACC is a failed login).
 */
export class SessionAuthenticator implements Authenticator {
  /** The login in flight or done, shared by every caller (surveys read side by side log in once). */
  private session: Promise<Record<string, string>> | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly http: Http,
    private readonly options: { baseUrl: string; email: string; password: string },
  ) {}

  /** A refused login stays refused for the run: a wrong password is tried once, whoever asks. */
  headers(): Promise<Record<string, string>> {
    this.session ??= this.login();
    return this.session;
  }

  /** One fresh login, shared by the callers that were refused at the same time. */
  renew(): Promise<void> {
    this.renewing ??= (async (): Promise<void> => {
      try {
        this.session = this.login();
        await this.session;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private login(): Promise<Record<string, string>> {
    const { baseUrl, email, password } = this.options;
    const url = `${baseUrl}/v2/users`;
    return this.http
      .retrying('login', () =>
        this.http.send(
          url,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ action: 'login', email, password, remember: false }),
          },
          (res) => this.readLogin(res, url),
        ),
      )
      .catch((err: unknown) => {
        throw loginUnavailable(err);
      });
  }

  private async readLogin(res: Response, url: string): Promise<Record<string, string>> {
    const cookies = cookiesOf(res);
    for (const c of cookies) addSecret(c.value);
    const { email } = this.options;
    if (res.statusCode >= 300 && res.statusCode < 400) {
      discard(res);
      throw new AuthError(
        `Hotjar answered the login with a redirect (HTTP ${res.statusCode}); the connector never follows redirects with credentials. Check base_url.`,
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const err = await statusError(res, url);
      if (decide({ status: err.status }, 'anonymous') === 'retry') throw err;
      throw new AuthError(`Hotjar refused the login for ${email} (${describeFailure(err)}). ${LOGIN_HELP}`, { cause: err });
    }
    let body: unknown;
    try {
      body = JSON.parse(await readText(res, 1024 * 1024));
    } catch (err) {
      if (err instanceof HttpStatusError) throw new AuthError(`Hotjar's login answer was too large to be a login answer. Check base_url.`);
      throw new AuthError(`Hotjar's login answer was not JSON, so the login failed. Check base_url (it should end in /api). ${LOGIN_HELP}`);
    }
    const obj = isObject(body) ? body : {};
    addSecret(obj['access_key']);
    const said = typeof obj['message'] === 'string' ? ` Hotjar said: ${snippet(obj['message'])}.` : '';
    if (obj['success'] === false || obj['access_key'] === undefined) {
      throw new AuthError(`Hotjar did not accept the login for ${email}.${said} ${LOGIN_HELP}`);
    }
    const acc = cookies.find((c) => c.name === 'ACC')?.value;
    if (!acc) {
      throw new AuthError(`Hotjar's login answer for ${email} had no ACC cookie, so no session could be opened.${said} ${LOGIN_HELP}`);
    }
    return { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '), 'x-acc': acc };
  }
}

function cookiesOf(res: Response): { name: string; value: string }[] {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return parseSetCookies(list);
}
