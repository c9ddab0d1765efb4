/**
 * A local stand-in for Hotjar's official API (api.hotjar.io), over real HTTP, built to
 * the team's notes on the official API (hotjar-official-api.md). Its surveys are the SAME SurveyData the password-mode stand-in
 * exports as CSV (data.ts), laid out as the API gives them, so the same sample surveys read the same
 * columns in both modes:
 *
 * - POST /v1/oauth/token, form body with exactly grant_type=client_credentials, client_id, client_secret
 *   (anything else, or an Authorization header: 400) → {"access_token", "token_type": "bearer" (lower
 *   case, as some clients saw it), "expires_in"}. Wrong key: 401 {"error": "invalid_client", …}; an
 *   expired key (`keyExpired`): 401 saying so. Tokens expire after `tokenSeconds` on the stand-in's clock.
 * - GET /v1/sites/{site}/surveys?limit&cursor&with_questions → {"results": [Survey], "next_cursor"}.
 * - GET /v1/sites/{site}/surveys/{id}/responses?limit&cursor → {"results": [Response], "next_cursor"},
 *   newest first, keyset cursors (opaque base64url of the last id given, with its position then as a
 *   checked shortcut), so responses added meanwhile never shift a page. limit: default 20, at most 100 (else 400).
 * Every API call needs `Authorization: Bearer <a live token>` (else 401); an unknown site or survey is
 * 404; without the Ask Scale plan (`askScale: false`) responses are 403. More than `perMinute` requests in
 * a minute: 429 with Retry-After. Faults can be queued per endpoint (see OfficialFault).
 * Latency (`pageDelayMs`, default 0): every answer of the surveys and responses endpoints (pages,
 * errors and faults alike) comes that many ms after its request arrived, as from a distant server;
 * requests are answered independently, so pages asked for side by side wait side by side. The token
 * endpoint answers at once. Requests count against `perMinute` on arrival.
 *
 * Mapping from an export row: response id = a UUID derived from the survey and Number; created_time =
 * Date Submitted as RFC 3339 UTC with milliseconds; country = the two-letter code of the row's country;
 * hotjar_user_id, device, browser, os, response_origin_url = the row's; user_attributes = the attribute
 * columns that are filled (the key is left out on some responses); answers = the question columns that
 * are filled or tagged, each with its tags ([{name}]), a comment on some, and a sentiment. Each survey
 * also has a thank-you question, which takes no answer.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ATTRIBUTE_COLUMNS, FIXED_COLUMNS, hexId, type SurveyData } from './data.js';

export type OfficialEndpoint = 'token' | 'surveys' | 'responses';

export type OfficialFault =
  | { kind: 'none' } // answer normally (to reach a later request with the next fault)
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'reset' } // destroy the connection before answering
  | { kind: 'expire-token' } // the token this request carries has just expired: 401
  | { kind: 'half-page' } // 200 with a length, half the body, then the connection is destroyed
  | { kind: 'half-page-clean' } // 200 without a length, half the body, then a clean end (broken JSON)
  | { kind: 'empty-page' } // 200 {results: [], next_cursor: a new cursor to the same place}
  | { kind: 'cursor-loop' }; // 200: this request's page, whose next_cursor is the cursor of this request

export interface OfficialOptions {
  clientId?: string;
  clientSecret?: string;
  siteId?: string;
  /** Shared with the password-mode stand-in when both serve the same data. */
  surveys?: Map<string, SurveyData | { file: string }>;
  host?: string;
  port?: number;
  tokenSeconds?: number;
  tokenType?: string;
  askScale?: boolean;
  keyExpired?: boolean;
  perMinute?: number;
  /** Latency of the surveys and responses endpoints, in ms (default 0; the token endpoint is instant). */
  pageDelayMs?: number;
  now?: () => number;
}

export interface OfficialRequest {
  endpoint: OfficialEndpoint | 'unknown';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const COUNTRY_CODES: Readonly<Record<string, string>> = {
  'United Kingdom': 'GB',
  Germany: 'DE',
  "Côte d'Ivoire": 'CI',
  日本: 'JP',
  France: 'FR',
};
const SENTIMENTS = ['positive', 'negative', 'neutral', null] as const;

export class HotjarOfficialStandIn {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly siteId: string;
  readonly surveys: Map<string, SurveyData | { file: string }>;
  readonly requests: OfficialRequest[] = [];
  /** Every token handed out, for leak checks. */
  readonly issuedTokens: string[] = [];
  readonly faults: Record<OfficialEndpoint, OfficialFault[]> = { token: [], surveys: [], responses: [] };
  tokenSeconds: number;
  tokenType: string;
  askScale: boolean;
  keyExpired: boolean;
  perMinute: number;
  pageDelayMs: number;
  now: () => number;
  private readonly tokens = new Map<string, number>();
  private window = { start: 0, count: 0 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly host: string;
  private readonly port: number;

  constructor(options: OfficialOptions = {}) {
    this.clientId = options.clientId ?? 'hj-client-5f3a9c';
    this.clientSecret = options.clientSecret ?? 'hj-secret-Zq8#wL2!vN5@kR7';
    this.siteId = options.siteId ?? '1234567';
    this.surveys = options.surveys ?? new Map<string, SurveyData | { file: string }>();
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    this.tokenSeconds = options.tokenSeconds ?? 3600;
    this.tokenType = options.tokenType ?? 'bearer';
    this.askScale = options.askScale ?? true;
    this.keyExpired = options.keyExpired ?? false;
    this.perMinute = options.perMinute ?? 3000;
    this.pageDelayMs = options.pageDelayMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  get apiUrl(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('official stand-in not started');
    return `http://${this.host}:${a.port}`;
  }

  /** A connector config for this stand-in (API-key mode). */
  config(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      credentials: { auth_type: 'api_key', client_id: this.clientId, client_secret: this.clientSecret },
      site_id: this.siteId,
      api_base_url: this.apiUrl,
      ...extra,
    };
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  fault(endpoint: OfficialEndpoint, ...faults: OfficialFault[]): void {
    this.faults[endpoint].push(...faults);
  }

  /** Ends every token, as when they expire. */
  expireTokens(): void {
    this.tokens.clear();
  }

  count(endpoint: OfficialEndpoint): number {
    return this.requests.filter((r) => r.endpoint === endpoint).length;
  }

  /** Adds responses to the top of a survey (they are the newest). */
  addResponses(surveyId: string, rows: string[][]): void {
    const survey = this.surveys.get(surveyId);
    if (!survey || 'file' in survey) throw new Error(`no generated survey ${surveyId}`);
    survey.rows.unshift(...rows);
  }

  /** The API's survey object of a survey (questions included). */
  surveyObject(id: string, withQuestions = true): Record<string, unknown> {
    const survey = this.data(id);
    const dates = survey.rows.map((r) => createdTime(r, survey.header)).sort();
    const first = dates[0] ?? '2023-01-01T00:00:00.000Z';
    const last = dates[dates.length - 1] ?? first;
    const created = new Date(Date.parse(first) - 86_400_000).toISOString();
    const object: Record<string, unknown> = {
      id,
      name: survey.name ?? `Survey ${id}`,
      type: 'popover',
      url: `https://surveys.example.com/${id}`,
      responses_url: `${this.server ? this.apiUrl : ''}/v1/sites/${this.siteId}/surveys/${id}/responses`,
      is_enabled: true,
      created_time: created,
      updated_time: last,
      sentiment_analysis_enabled: true,
    };
    if (withQuestions) object['questions'] = questionObjects(id, survey);
    return object;
  }

  /** The API's response object of an export row. */
  responseObject(id: string, row: readonly string[]): Record<string, unknown> {
    const survey = this.data(id);
    const h = survey.header;
    const at = (name: string): string => row[h.indexOf(name)] ?? '';
    const number = Number(at('Number'));
    const attributes = attributeColumns(survey)
      .map((name) => ({ name, value: at(name) }))
      .filter((a) => a.value !== '');
    const answers = questions(id, survey)
      .filter((q) => q.column >= 0)
      .map((q, k) => {
        const answer = row[q.column] ?? '';
        const tagsAt = h.indexOf(`Tags for: ${q.text}`, q.column + 1);
        const tags = tagsAt >= 0 && row[tagsAt] ? row[tagsAt].split(', ').map((name) => ({ name })) : [];
        return {
          question_id: q.id,
          answer: answer === '' ? null : answer,
          comment: answer !== '' && (number + k) % 4 === 1 ? `comment on ${number}: "why", \nbecause` : null,
          tags,
          sentiment: answer === '' ? null : SENTIMENTS[(number + k) % SENTIMENTS.length],
        };
      })
      .filter((a) => a.answer !== null || a.tags.length > 0);
    const response: Record<string, unknown> = {
      id: responseId(id, number),
      created_time: createdTime(row, h),
      is_complete: number % 7 !== 0,
      device: at('Device'),
      browser: at('Browser'),
      os: at('OS'),
      country: COUNTRY_CODES[at('Country')] ?? at('Country'),
      hotjar_user_id: at('Hotjar User ID'),
      recording_url: number % 3 === 0 ? null : `https://insights.hotjar.com/r?site=${this.siteId}&recording=${number}`,
      response_origin_url: at('Source URL'),
      window_size: { width: 1280, height: 720 },
      answers,
    };
    // user_attributes "may be missing" [clients]: left out on odd Numbers without attributes.
    if (attributes.length || number % 2 === 0) response['user_attributes'] = attributes;
    return response;
  }

  private data(id: string): SurveyData {
    const survey = this.surveys.get(id);
    if (!survey || 'file' in survey) throw new Error(`no generated survey ${id}`);
    return survey;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const list = /^\/v1\/sites\/([^/]+)\/surveys$/.exec(path);
    const responses = /^\/v1\/sites\/([^/]+)\/surveys\/([^/]+)\/responses$/.exec(path);
    const endpoint: OfficialEndpoint | 'unknown' =
      req.method === 'POST' && path === '/v1/oauth/token'
        ? 'token'
        : req.method === 'GET' && list
          ? 'surveys'
          : req.method === 'GET' && responses
            ? 'responses'
            : 'unknown';
    this.requests.push({ endpoint, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (endpoint === 'unknown') return json(res, 404, { message: 'Not found' });
    const limited = this.rateLimited();
    if (endpoint !== 'token' && this.pageDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.pageDelayMs));
    if (limited)
      return json(
        res,
        429,
        { message: 'Too many requests' },
        { 'retry-after': String(Math.max(1, Math.ceil((this.window.start + 60_000 - this.now()) / 1000))) },
      );
    const fault = this.faults[endpoint].shift();
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {};
      return json(res, fault.status, fault.body ?? { message: `status ${fault.status}` }, headers);
    }
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (endpoint === 'token') return this.token(req, res, body);
    const token = this.bearer(req);
    if (token === undefined) return json(res, 401, { message: 'Unauthorized' });
    if (fault?.kind === 'expire-token') {
      this.tokens.delete(token);
      return json(res, 401, { message: 'Token expired' });
    }
    const site = decodeURIComponent((list ?? responses)![1]!);
    if (site !== this.siteId) return json(res, 404, { message: 'Site not found' });
    const limit = url.searchParams.get('limit');
    const size = limit === null ? 20 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 100) return json(res, 400, { message: 'limit must be between 1 and 100' });
    const cursor = url.searchParams.get('cursor');
    if (list) {
      const ids = [...this.surveys.keys()];
      const start = cursor === null ? 0 : (decodeCursor(cursor)?.offset ?? -1);
      if (start < 0) return json(res, 400, { message: 'Invalid cursor' });
      const page = ids.slice(start, start + size);
      const next = start + size < ids.length ? encodeCursor({ offset: start + size }) : null;
      return this.page(
        req,
        res,
        page.map((id) => this.surveyObject(id, url.searchParams.get('with_questions') === 'true')),
        next,
        cursor,
        fault,
      );
    }
    const surveyId = decodeURIComponent(responses![2]!);
    const survey = this.surveys.get(surveyId);
    if (!survey || 'file' in survey) return json(res, 404, { message: 'Survey not found' });
    if (!this.askScale) return json(res, 403, { message: 'Survey responses export requires an Ask Scale plan' });
    const rows = survey.rows;
    const idAt = (i: number): string | undefined => {
      const row = rows[i];
      return row === undefined ? undefined : responseId(surveyId, Number(row[survey.header.indexOf('Number')]));
    };
    let start = 0;
    if (cursor !== null) {
      const c = decodeCursor(cursor);
      const after = c?.after;
      if (after !== undefined) {
        // The id is what counts (keyset); `at`, where it was when the cursor was made, only saves a
        // scan while no response was added above it.
        const at = typeof c?.at === 'number' && idAt(c.at) === after ? c.at : rows.findIndex((_, i) => idAt(i) === after);
        start = at + 1;
      } else start = c?.offset ?? -1;
      if (start < 0 || (after !== undefined && start === 0)) return json(res, 400, { message: 'Invalid cursor' });
    }
    // Only the page's responses are built.
    const page = rows.slice(start, start + size).map((row) => this.responseObject(surveyId, row));
    const last = page[page.length - 1];
    const next = start + size < rows.length && last ? encodeCursor({ after: String(last['id']), at: start + page.length - 1 }) : null;
    return this.page(req, res, page, next, cursor, fault);
  }

  private page(
    req: IncomingMessage,
    res: ServerResponse,
    results: unknown[],
    next: string | null,
    cursor: string | null,
    fault: OfficialFault | undefined,
  ): void {
    if (fault?.kind === 'empty-page') {
      // A fresh cursor to the same place: following it loses nothing.
      const same = cursor === null ? encodeCursor({ offset: 0, salt: randomBytes(4).toString('hex') }) : reSalt(cursor);
      return json(res, 200, { results: [], next_cursor: same });
    }
    if (fault?.kind === 'cursor-loop') return json(res, 200, { results, next_cursor: cursor ?? next });
    const text = JSON.stringify({ results, next_cursor: next });
    if (fault?.kind === 'half-page') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (fault?.kind === 'half-page-clean') {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      return void res.end(text.slice(0, Math.floor(text.length / 2)));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private token(req: IncomingMessage, res: ServerResponse, body: string): void {
    const form = new URLSearchParams(body);
    const keys = [...form.keys()].sort();
    const type = String(req.headers['content-type'] ?? '');
    if (
      !type.startsWith('application/x-www-form-urlencoded') ||
      req.headers.authorization !== undefined ||
      keys.join(',') !== 'client_id,client_secret,grant_type' ||
      form.get('grant_type') !== 'client_credentials'
    ) {
      return json(res, 400, {
        error: 'invalid_request',
        error_description: 'Expected a form with grant_type=client_credentials, client_id and client_secret',
      });
    }
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      return json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (this.keyExpired) return json(res, 401, { error: 'invalid_client', error_description: 'The API key has expired' });
    const token = `hjat_${randomBytes(24).toString('hex')}`;
    this.tokens.set(token, this.now() + this.tokenSeconds * 1000);
    this.issuedTokens.push(token);
    return json(res, 200, { access_token: token, token_type: this.tokenType, expires_in: this.tokenSeconds });
  }

  /** The live token a request carries, or undefined. */
  private bearer(req: IncomingMessage): string | undefined {
    const m = /^bearer (\S+)$/i.exec(String(req.headers.authorization ?? ''));
    const token = m?.[1];
    if (token === undefined) return undefined;
    const expires = this.tokens.get(token);
    if (expires === undefined) return undefined;
    if (this.now() >= expires) {
      this.tokens.delete(token);
      return undefined;
    }
    return token;
  }

  private rateLimited(): boolean {
    const now = this.now();
    if (now - this.window.start >= 60_000) this.window = { start: now, count: 0 };
    this.window.count++;
    return this.window.count > this.perMinute;
  }
}

export interface StandInQuestion {
  id: string;
  type: string;
  text: string;
  /** The export column holding its answers; -1 for a question that takes none. */
  column: number;
}

/** A survey's questions: every export column that is not fixed, an attribute or a Tags column, plus a thank-you. */
export function questions(surveyId: string, survey: SurveyData): StandInQuestion[] {
  const attributes = new Set(attributeColumns(survey));
  const out: StandInQuestion[] = [];
  survey.header.forEach((text, column) => {
    if (FIXED_COLUMNS.includes(text) || attributes.has(text) || text.startsWith('Tags for: ')) return;
    const type = /recommend|rate/i.test(text) ? 'nps' : out.length % 2 ? 'short-text' : 'long-text';
    out.push({ id: `q_${surveyId}_${out.length + 1}`, type, text, column });
  });
  out.push({ id: `q_${surveyId}_thanks`, type: 'thank-you', text: 'Thank you!', column: -1 });
  return out;
}

function questionObjects(surveyId: string, survey: SurveyData): Record<string, unknown>[] {
  return questions(surveyId, survey).map((q, k) => ({
    id: q.id,
    type: q.type,
    text: q.text,
    is_required: k === 0,
    image_url: null,
    // Both shapes public clients report: plain texts, and objects.
    choices:
      q.type === 'nps'
        ? []
        : k % 2
          ? [
              { text: 'Yes', allow_comment: true },
              { text: 'No', allow_comment: false },
            ]
          : ['Yes', 'No'],
    labels: q.type === 'nps' ? { low_label: 'Not likely', high_label: 'Very likely' } : null,
  }));
}

function attributeColumns(survey: SurveyData): string[] {
  return survey.attributes ?? survey.header.filter((h) => ATTRIBUTE_COLUMNS.includes(h));
}

/** A response id: a UUID derived from the survey and the export's Number (stable across requests). */
export function responseId(surveyId: string, number: number): string {
  const h = hexId(number, 7000 + (Number.parseInt(surveyId, 36) % 1000));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Date Submitted (UTC, file form) as RFC 3339 with milliseconds, derived from the Number. */
export function createdTime(row: readonly string[], header: readonly string[]): string {
  const date = row[header.indexOf('Date Submitted')] ?? '';
  const number = Number(row[header.indexOf('Number')] ?? 0);
  return `${date.replace(' ', 'T')}.${String((number * 37) % 1000).padStart(3, '0')}Z`;
}

interface Cursor {
  offset?: number | undefined;
  after?: string | undefined;
  at?: number | undefined;
  salt?: string | undefined;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    return typeof c === 'object' && c !== null ? c : undefined;
  } catch {
    return undefined;
  }
}

function reSalt(cursor: string): string {
  return encodeCursor({ ...decodeCursor(cursor), salt: randomBytes(4).toString('hex') });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
