/**
 * A local stand-in for Hotjar, over real HTTP, following the team's notes on the internal API (hotjar-api.md):
 * - POST {api}/v2/users {"action":"login",…} → 200 {"access_key","success":true,"user_id"} with Set-Cookie
 *   (a session cookie and ACC = the account id). Wrong credentials: the real shape is unknown; the
 *   stand-in answers 401 {"success":false,"message":…} (or, with `loginFailureShape: 'success-false'`,
 *   200 {"success":false}).
 * - GET {api}/ask/v3/sites/{site}/polls/{survey}/responses/export?survey_query=…&format=csv&async_export=false
 *   needs the session cookie AND X-Acc equal to ACC (else 401); unknown site or survey → 404; a query
 *   other than the documented one → 400. Answer: {"download_url": <pre-signed URL on the storage host>},
 *   after `exportDelayMs` (default 0) as Hotjar takes time to build the file.
 * - GET {api}/v1/sites/{site}/surveys (the internal survey list; its real shape is unknown) needs the
 *   session like the export; it answers {"surveys": [{"id": <number>, "name", "type", "status", …}]}, or
 *   with `surveyListShape` a bare list, or something the connector cannot read ("odd").
 * - The storage host is a different loopback address (127.0.0.2 by default). It serves a ZIP holding one
 *   CSV (every field quoted, LF), built from the survey as it was at export time. It rejects nothing,
 *   but records whether Hotjar credentials reached it.
 * Faults can be queued per endpoint (see Fault) for the reliability tests.
 * With `tls` both servers speak HTTPS (see tls.ts for a test PKI); `publicHost`/`downloadPublicHost` are the
 * names the URLs carry when the servers listen on a wildcard address (e.g. Docker network aliases).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { zipSync, strToU8 } from 'fflate';
import { toCsv } from './csv.js';
import type { SurveyData } from './data.js';

export type Endpoint = 'login' | 'export' | 'download' | 'surveys';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' } // destroy the connection before answering
  | { kind: 'hang' } // never answer
  | { kind: 'session-expired' } // export: 401 although the session was fine
  | { kind: 'no-download-url' } // export: {} without download_url
  | { kind: 'not-json' } // export: HTML instead of JSON
  | { kind: 'redirect'; location: string } // any: 302 to location
  | { kind: 'reset-after'; bytes: number } // any: send part of the body (with its full length), then reset
  | { kind: 'truncate-after'; bytes: number } // download: send part of the body without length, then end cleanly
  | { kind: 'hang-after'; bytes: number } // download: send part of the body, then stall
  | { kind: 'corrupt' } // download: flip bytes in the middle of the archive
  | { kind: 'body'; body: Buffer } // download: serve these bytes instead
  | { kind: 'echo-query' } // download: 403 whose body quotes the URL's query values, as S3 errors do
  | { kind: 'drip'; intervalMs: number } // any: the headers at once, then the body one byte every intervalMs
  | { kind: 'chunked-cut'; bytes: number } // download: chunked body, part of it, then the connection closes without the last chunk
  | { kind: 'close-delimited'; bytes?: number } // download: no length, no chunking; the body (or its first bytes) ends when the connection closes
  /**
   * download: the whole body with its length and `Connection: close`, and the connection closed (FIN)
   * right after its last byte, as HTTP/1.0 servers (Python's http.server) and some proxies do; with
   * `tail`, the last `tail` bytes come `pauseMs` later, as a network delivers in bursts.
   */
  | { kind: 'close-after-body'; tail?: number; pauseMs?: number }
  /**
   * any: answers `status` with a JSON body whose message quotes the password (login: the one received;
   * else the stand-in's) raw, with its whitespace collapsed and URL-encoded in lower case, after `pad`
   * characters of text (so that a cut at a message's length limit can fall inside it). With `html`, the
   * same text as an HTML page instead of JSON.
   */
  | { kind: 'echo-password'; status: number; pad?: number; html?: boolean };

export interface SandboxOptions {
  email?: string;
  password?: string;
  accountId?: string;
  siteId?: string;
  surveys?: Map<string, SurveyData>;
  host?: string;
  downloadHost?: string;
  port?: number;
  /** Serve the export as a plain CSV instead of a ZIP. */
  plainCsv?: boolean;
  /** How long each export takes to build before it is answered (Hotjar builds the file first), in ms. */
  exportDelayMs?: number;
  loginFailureShape?: 'status-401' | 'success-false';
  /** Serve the API and the storage host over HTTPS with this certificate (PEM) and key. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Host name in apiUrl (default: host), e.g. a network alias when host is 0.0.0.0. */
  publicHost?: string;
  /** Host name in download URLs (default: downloadHost). */
  downloadPublicHost?: string;
  /** Port of the storage host (default 0: any free port). */
  downloadPort?: number;
  surveyListShape?: SurveyListShape;
}

export type SurveyListShape = 'object' | 'list' | 'odd';

export interface RequestLog {
  endpoint: Endpoint | 'unknown';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Download only: did a Hotjar credential (cookie, X-Acc, authorization) reach the storage host? */
  hadCredentials?: boolean;
}

interface Snapshot {
  surveyId: string;
  body: Buffer | { file: string };
}

export class HotjarSandbox {
  readonly email: string;
  readonly password: string;
  readonly accountId: string;
  readonly siteId: string;
  readonly surveys: Map<string, SurveyData | { file: string }>;
  readonly requests: RequestLog[] = [];
  /** Every secret the stand-in handed out (session cookies, access keys, URL signatures), for leak checks. */
  readonly issuedSecrets: string[] = [];
  readonly faults: Record<Endpoint, Fault[]> = { login: [], export: [], download: [], surveys: [] };
  plainCsv: boolean;
  /** See SandboxOptions.exportDelayMs; may be changed between runs. */
  exportDelayMs: number;
  surveyListShape: SurveyListShape;
  loginFailureShape: 'status-401' | 'success-false';
  private sessions = new Set<string>();
  private snapshots = new Map<string, Snapshot>();
  private apiServer: Server | undefined;
  private downloadServer: Server | undefined;
  private sockets = new Set<Socket>();
  private readonly host: string;
  private readonly downloadHost: string;
  private readonly port: number;
  private readonly tls: SandboxOptions['tls'];
  private readonly publicHost: string;
  private readonly downloadPublicHost: string;
  private readonly downloadPort: number;

  constructor(options: SandboxOptions = {}) {
    this.email = options.email ?? 'analyst@example.com';
    this.password = options.password ?? 'correct horse battery staple';
    this.accountId = options.accountId ?? '7654321';
    this.siteId = options.siteId ?? '1234567';
    this.surveys = options.surveys ?? new Map<string, SurveyData | { file: string }>();
    this.host = options.host ?? '127.0.0.1';
    this.downloadHost = options.downloadHost ?? (this.host === '127.0.0.1' ? '127.0.0.2' : this.host);
    this.port = options.port ?? 0;
    this.plainCsv = options.plainCsv ?? false;
    this.exportDelayMs = options.exportDelayMs ?? 0;
    this.loginFailureShape = options.loginFailureShape ?? 'status-401';
    this.tls = options.tls;
    this.publicHost = options.publicHost ?? this.host;
    this.downloadPublicHost = options.downloadPublicHost ?? this.downloadHost;
    this.downloadPort = options.downloadPort ?? 0;
    this.surveyListShape = options.surveyListShape ?? 'object';
  }

  get apiUrl(): string {
    const a = this.apiServer?.address() as AddressInfo | null;
    if (!a) throw new Error('sandbox not started');
    return `${this.tls ? 'https' : 'http'}://${this.publicHost}:${a.port}/api`;
  }

  get downloadOrigin(): string {
    const a = this.downloadServer?.address() as AddressInfo | null;
    if (!a) throw new Error('sandbox not started');
    return `${this.tls ? 'https' : 'http'}://${this.downloadPublicHost}:${a.port}`;
  }

  /** A connector config for this stand-in. */
  config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      email: this.email,
      password: this.password,
      site_id: this.siteId,
      survey_ids: [...this.surveys.keys()],
      base_url: this.apiUrl,
      ...extra,
    };
  }

  async start(): Promise<this> {
    this.apiServer = await listen((req, res) => this.handleApi(req, res), this.host, this.port, this.sockets, this.tls);
    this.downloadServer = await listen(
      (req, res) => this.handleDownload(req, res),
      this.downloadHost,
      this.downloadPort,
      this.sockets,
      this.tls,
    );
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(
      [this.apiServer, this.downloadServer].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve())),
    );
  }

  /** Queue faults: each request to `endpoint` takes the next one. */
  fault(endpoint: Endpoint, ...faults: Fault[]): void {
    this.faults[endpoint].push(...faults);
  }

  /** Adds responses to the top of a survey (they are the newest). */
  addResponses(surveyId: string, rows: string[][]): void {
    const survey = this.surveys.get(surveyId);
    if (!survey || 'file' in survey) throw new Error(`no generated survey ${surveyId}`);
    survey.rows.unshift(...rows);
  }

  /** Ends every session, as when Hotjar expires them. */
  expireSessions(): void {
    this.sessions.clear();
  }

  count(endpoint: Endpoint): number {
    return this.requests.filter((r) => r.endpoint === endpoint).length;
  }

  private nextFault(endpoint: Endpoint): Fault | undefined {
    return this.faults[endpoint].shift();
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const isLogin = req.method === 'POST' && path === '/api/v2/users';
    const exportMatch = /^\/api\/ask\/v3\/sites\/([^/]+)\/polls\/([^/]+)\/responses\/export$/.exec(path);
    const listMatch = /^\/api\/v1\/sites\/([^/]+)\/surveys$/.exec(path);
    const endpoint: Endpoint | 'unknown' = isLogin
      ? 'login'
      : exportMatch && req.method === 'GET'
        ? 'export'
        : listMatch && req.method === 'GET'
          ? 'surveys'
          : 'unknown';
    this.requests.push({ endpoint, method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const body = await readBody(req);
    if (endpoint === 'unknown') return json(res, 404, { error: 'not_found' });
    const fault = this.nextFault(endpoint);
    if (fault && applyCommonFault(fault, req, res)) return;
    if (fault?.kind === 'echo-password')
      return echoPassword(res, fault, isLogin ? (receivedPassword(body) ?? this.password) : this.password);
    if (fault) shapeBody(fault, req, res);
    if (isLogin) return this.login(body, res);
    if (listMatch) return this.surveyList(req, res, listMatch[1]!);
    if (this.exportDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.exportDelayMs));
    return this.export(req, res, exportMatch![1]!, exportMatch![2]!, url, fault);
  }

  private authenticated(req: IncomingMessage): boolean {
    const cookies = parseCookies(req.headers.cookie);
    const session = cookies['_hjSessionToken'];
    return Boolean(session && this.sessions.has(session) && cookies['ACC'] === this.accountId && req.headers['x-acc'] === this.accountId);
  }

  private surveyList(req: IncomingMessage, res: ServerResponse, site: string): void {
    if (!this.authenticated(req)) return json(res, 401, { error: 'not_authenticated' });
    if (site !== this.siteId) return json(res, 404, { error: 'not_found' });
    const entries = [...this.surveys.entries()].map(([id, survey]) => ({
      id: Number(id),
      name: 'file' in survey ? `Survey ${id}` : (survey.name ?? `Survey ${id}`),
      type: 'POPOVER',
      status: 'ACTIVE',
      created: 1695800000,
    }));
    if (this.surveyListShape === 'list') return json(res, 200, entries);
    if (this.surveyListShape === 'odd') return json(res, 200, { data: { items: entries }, count: entries.length });
    return json(res, 200, { surveys: entries, total: entries.length });
  }

  private login(body: string, res: ServerResponse): void {
    let creds: Record<string, unknown> = {};
    try {
      creds = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return json(res, 400, { success: false, message: 'Bad request' });
    }
    if (creds['action'] !== 'login' || creds['email'] !== this.email || creds['password'] !== this.password) {
      if (this.loginFailureShape === 'success-false') return json(res, 200, { success: false, message: 'Invalid email or password' });
      return json(res, 401, { success: false, message: 'Invalid email or password' });
    }
    const session = randomBytes(16).toString('hex');
    const csrf = randomBytes(8).toString('hex');
    const accessKey = randomBytes(12).toString('hex');
    this.sessions.add(session);
    this.issuedSecrets.push(session, csrf, accessKey);
    res.setHeader('set-cookie', [
      `_hjSessionToken=${session}; Path=/; HttpOnly; SameSite=Lax`,
      `ACC=${this.accountId}; Path=/; SameSite=Lax`,
      `csrftoken=${csrf}; Path=/`,
    ]);
    return json(res, 200, { access_key: accessKey, success: true, user_id: 9296871 });
  }

  private export(req: IncomingMessage, res: ServerResponse, site: string, surveyId: string, url: URL, fault: Fault | undefined): void {
    const cookies = parseCookies(req.headers.cookie);
    const session = cookies['_hjSessionToken'];
    if (!session || !this.sessions.has(session) || cookies['ACC'] !== this.accountId || req.headers['x-acc'] !== this.accountId) {
      return json(res, 401, { error: 'not_authenticated' });
    }
    if (fault?.kind === 'session-expired') {
      this.sessions.delete(session);
      return json(res, 401, { error: 'session_expired' });
    }
    const q = url.searchParams;
    let query: unknown;
    try {
      query = JSON.parse(q.get('survey_query') ?? '');
    } catch {
      query = undefined;
    }
    if (q.get('format') !== 'csv' || q.get('async_export') !== 'false' || JSON.stringify(query) !== '{"sort_by":"-index","clauses":[]}') {
      return json(res, 400, { error: 'bad_query' });
    }
    const survey = this.surveys.get(surveyId);
    if (site !== this.siteId || !survey) return json(res, 404, { error: 'not_found' });
    if (fault?.kind === 'no-download-url') return json(res, 200, { status: 'ok' });
    if (fault?.kind === 'not-json') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html><body>Maintenance</body></html>');
    }
    const token = randomBytes(12).toString('hex');
    const name = `hotjar_survey_response_export_${token.slice(0, 8)}_${site}_${surveyId}_survey.csv`;
    let snapshotBody: Snapshot['body'];
    if ('file' in survey) snapshotBody = survey;
    else {
      const csv = toCsv(survey.header, survey.rows);
      snapshotBody = this.plainCsv ? Buffer.from(csv) : Buffer.from(zipSync({ [name]: strToU8(csv) }));
    }
    this.snapshots.set(token, { surveyId, body: snapshotBody });
    const signature = randomBytes(20).toString('hex');
    this.issuedSecrets.push(signature);
    return json(res, 200, {
      download_url: `${this.downloadOrigin}/exports/${token}/${encodeURIComponent(name.replace(/\.csv$/, this.plainCsv ? '.csv' : '.zip'))}?X-Amz-Credential=TESTKEY&X-Amz-Signature=${signature}`,
    });
  }

  private async handleDownload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const h = req.headers;
    this.requests.push({
      endpoint: 'download',
      method: req.method ?? '',
      url: req.url ?? '',
      headers: h,
      hadCredentials: Boolean(h.cookie || h['x-acc'] || h.authorization),
    });
    await readBody(req);
    const fault = this.nextFault('download');
    if (fault && applyCommonFault(fault, req, res)) return;
    if (fault?.kind === 'echo-query') {
      const values = [...new URL(req.url ?? '/', 'http://x').searchParams.values()];
      res.writeHead(403, { 'content-type': 'application/xml' });
      return void res.end(`<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>${values.at(-1) ?? ''}</SignatureProvided></Error>`);
    }
    if (fault?.kind === 'echo-password') return echoPassword(res, fault, this.password);
    const token = /^\/exports\/([0-9a-f]+)\//.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
    const snapshot = token ? this.snapshots.get(token) : undefined;
    if (!snapshot) {
      res.writeHead(403, { 'content-type': 'application/xml' });
      return void res.end('<Error><Code>AccessDenied</Code></Error>');
    }
    const type = this.plainCsv ? 'text/csv' : 'application/zip';
    if (!Buffer.isBuffer(snapshot.body)) {
      const size = statSync(snapshot.body.file).size;
      res.writeHead(200, { 'content-type': type, 'content-length': size });
      createReadStream(snapshot.body.file).pipe(res);
      return;
    }
    let body = snapshot.body;
    if (fault?.kind === 'body') body = fault.body;
    if (fault?.kind === 'corrupt') {
      body = Buffer.from(body);
      const mid = Math.floor(body.length / 2);
      for (let i = mid; i < Math.min(mid + 8, body.length - 30); i++) body[i] = body[i]! ^ 0xa5;
    }
    if (fault?.kind === 'reset-after' || fault?.kind === 'hang-after') {
      res.writeHead(200, { 'content-type': type, 'content-length': body.length });
      res.write(body.subarray(0, fault.bytes));
      if (fault.kind === 'reset-after') setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (fault?.kind === 'truncate-after') {
      res.writeHead(200, { 'content-type': type, connection: 'close' });
      return void res.end(body.subarray(0, fault.bytes));
    }
    if (fault?.kind === 'chunked-cut') {
      res.writeHead(200, { 'content-type': type, connection: 'close', 'transfer-encoding': 'chunked' });
      res.write(body.subarray(0, fault.bytes));
      setTimeout(() => req.socket.end(), 20);
      return;
    }
    if (fault?.kind === 'close-delimited') {
      // Written by hand: Node's server would add a length or chunked encoding.
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\nconnection: close\r\n\r\n`);
      req.socket.end(body.subarray(0, fault.bytes ?? body.length));
      return;
    }
    if (fault?.kind === 'close-after-body') {
      // Node's server closes a `Connection: close` connection as soon as the answer is written.
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, connection: 'close' });
      const at = body.length - Math.min(fault.tail ?? 0, body.length);
      res.write(body.subarray(0, at));
      const timer = setTimeout(() => res.end(body.subarray(at)), fault.pauseMs ?? 0);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (fault?.kind === 'drip') shapeBody(fault, req, res);
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  }
}

/** The password in a login request body, if it has one. */
function receivedPassword(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { password?: unknown };
    return typeof parsed.password === 'string' ? parsed.password : undefined;
  } catch {
    return undefined;
  }
}

/** An error answer quoting a password in the forms servers print it in (see the echo-password fault). */
function echoPassword(res: ServerResponse, fault: { status: number; pad?: number; html?: boolean }, password: string): void {
  const lowerHex = encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const message =
    `${'x'.repeat(fault.pad ?? 0)}Invalid password ${password} for this account` +
    ` (as a form: password=${lowerHex}; collapsed: ${password.replace(/\s+/g, ' ')})`;
  if (!fault.html) return json(res, fault.status, { success: false, message });
  res.writeHead(fault.status, { 'content-type': 'text/html' });
  res.end(`<html><body>${message}</body></html>`);
}

/**
 * Faults on how an answer's body travels (any endpoint): the handler writes its answer as usual, and
 * `res.end` sends the body one byte at a time (drip) or only its first bytes before a reset.
 */
function shapeBody(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  if (fault.kind !== 'drip' && fault.kind !== 'reset-after') return;
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.end = ((chunk?: unknown) => {
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.alloc(0);
    if (fault.kind === 'reset-after') {
      res.write(body.subarray(0, fault.bytes));
      setTimeout(() => req.socket.destroy(), 20);
      return res;
    }
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) end();
        return;
      }
      res.write(body.subarray(at, at + 1));
      at++;
    }, fault.intervalMs);
    res.once('close', () => clearInterval(timer));
    return res;
  }) as ServerResponse['end'];
}

/** Faults that do not depend on the endpoint. True when the request was handled. */
function applyCommonFault(fault: Fault, req: IncomingMessage, res: ServerResponse): boolean {
  switch (fault.kind) {
    case 'status': {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(fault.body ?? JSON.stringify({ error: `status ${fault.status}` }));
      return true;
    }
    case 'reset':
      req.socket.destroy();
      return true;
    case 'hang':
      return true;
    case 'redirect':
      res.writeHead(302, { location: fault.location });
      res.end();
      return true;
    default:
      return false;
  }
}

function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
  host: string,
  port: number,
  sockets: Set<Socket>,
  tls?: SandboxOptions['tls'],
): Promise<Server> {
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    Promise.resolve(handler(req, res)).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, app) : createServer(app);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}
