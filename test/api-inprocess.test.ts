/**
 * API-key mode in-process: the real TokenAuthenticator, ApiClient and ApiSource against the official
 * API's stand-in over loopback HTTP (in this process, so clocks and faults are in the test's hands),
 * and the one read driver over them with a recording sink. Every fault of the matrix that applies to the
 * new mode, the token's life, the rate cap, incremental reads by (date, response id), the early stop,
 * header growth, and the column mapping against password mode's export of the same sample surveys.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.js';
import { AuthError, ConfigError, SystemError, TransientError } from '../src/core/errors.js';
import { clearSecrets, mask } from '../src/core/secrets.js';
import { ApiClient } from '../src/hotjar/api/client.js';
import { RateLimiter } from '../src/hotjar/api/rate-limit.js';
import { ApiSource } from '../src/hotjar/api/source.js';
import { TokenAuthenticator } from '../src/hotjar/api/token.js';
import { connect } from '../src/hotjar/connect.js';
import { Http } from '../src/hotjar/http.js';
import type { SurveySource } from '../src/hotjar/source.js';
import { readStreams } from '../src/streams/driver.js';
import { EMPTY_STATE, type StreamState } from '../src/streams/state.js';
import type { StreamName } from '../src/streams/stream.js';
import { surveyAnswersApiKey } from '../src/streams/survey-answers.js';
import { surveyResponsesApiKey } from '../src/streams/survey-responses.js';
import { surveysStream } from '../src/streams/surveys.js';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, fileDate, generate, npsRow, type SurveyData } from '../devtools/stand-in/data.js';
import { HotjarOfficialStandIn, createdTime, responseId } from '../devtools/stand-in/official.js';
import { RecordingSink, streamPlan } from './inprocess/fakes.js';

const SITE = '1234567';
const R: StreamName = 'survey_responses';
const A: StreamName = 'survey_answers';
let standIn: HotjarOfficialStandIn;
let clock: number;

function surveys(): Map<string, SurveyData> {
  return new Map([
    ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 250), name: 'Checkout', attributes: ['User ID'] }],
    ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 9, Date.UTC(2023, 9, 1, 8, 0, 0), 3600), name: 'NPS' }],
  ]);
}

interface Rig {
  source: ApiSource;
  auth: TokenAuthenticator;
  logs: string[];
  close(): Promise<void>;
}

function rig(options: { maxAttempts?: number; maxRetryWaitMs?: number; perSecond?: number; clientSecret?: string } = {}): Rig {
  const logs: string[] = [];
  const http = new Http({
    maxAttempts: options.maxAttempts ?? 4,
    maxRetryWaitMs: options.maxRetryWaitMs ?? 20,
    timeoutMs: 2000,
    deadlineMs: 5000,
    log: (m) => logs.push(m),
  });
  const limiter = new RateLimiter(options.perSecond ?? 1000);
  const auth = new TokenAuthenticator(http, {
    apiBaseUrl: standIn.apiUrl,
    clientId: standIn.clientId,
    clientSecret: options.clientSecret ?? standIn.clientSecret,
    limiter,
    now: () => clock,
  });
  const client = new ApiClient(http, auth, { apiBaseUrl: standIn.apiUrl, siteId: SITE, limiter });
  const source = new ApiSource(client, { siteId: SITE, log: (m) => logs.push(m) });
  return { source, auth, logs, close: () => http.close() };
}

async function read(
  r: { source: SurveySource },
  surveyIds: string[],
  states: Partial<Record<StreamName, StreamState>> = {},
  startDate?: string,
  maxConcurrentSurveys?: number,
): Promise<RecordingSink> {
  const sink = new RecordingSink();
  await readStreams(
    r.source,
    {
      siteId: SITE,
      surveyIds,
      startDate,
      maxConcurrentSurveys,
      streams: [
        streamPlan(surveyResponsesApiKey, { state: states[R] ?? EMPTY_STATE }),
        streamPlan(surveyAnswersApiKey, { state: states[A] ?? EMPTY_STATE }),
      ],
    },
    sink,
  );
  return sink;
}

/** The response ids of a survey in the stand-in, newest first. */
function ids(surveyId: string): string[] {
  const s = standIn.surveys.get(surveyId) as SurveyData;
  return s.rows.map((row) => responseId(surveyId, Number(row[0])));
}

const idsOf = (sink: RecordingSink, name: StreamName = R): unknown[] => sink.recordsOf(name).map((r) => r['response_id']);
const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];
const requests = (kind: 'token' | 'surveys' | 'responses'): number => standIn.count(kind);
const lastState = (sink: RecordingSink, name: StreamName = R): StreamState['surveys'] =>
  (sink.lastState(name)?.blob as { surveys: StreamState['surveys'] }).surveys;

beforeAll(async () => {
  standIn = await new HotjarOfficialStandIn({ siteId: SITE, surveys: surveys(), now: () => clock }).start();
});

afterAll(async () => {
  await standIn.stop();
});

beforeEach(() => {
  clock = Date.UTC(2025, 0, 1);
  standIn.requests.length = 0;
  for (const list of Object.values(standIn.faults)) list.length = 0;
  standIn.expireTokens();
  standIn.tokenSeconds = 3600;
  standIn.tokenType = 'bearer';
  standIn.askScale = true;
  standIn.keyExpired = false;
  standIn.perMinute = 3000;
  standIn.pageDelayMs = 0;
  for (const [id, s] of surveys()) standIn.surveys.set(id, s);
  for (const id of [...standIn.surveys.keys()]) if (!['111', '222'].includes(id)) standIn.surveys.delete(id);
});

afterEach(() => clearSecrets());

describe('a full read', () => {
  it('reads every response once, newest first, page by page (100 a page), and saves (newest second, its ids)', async () => {
    const r = rig();
    const sink = await read(r, ['111', '222']);
    await r.close();
    expect(idsOf(sink)).toEqual([...ids('111'), ...ids('222')]);
    expect(sink.failuresOf(R)).toEqual([]);
    expect(sink.statusesOf(R)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    // 250 responses: three pages of 100 for survey 111, one for 222; the list once; one token.
    const pages = standIn.requests.filter((q) => q.endpoint === 'responses');
    expect(pages.map((q) => new URL(q.url, 'http://x').searchParams.get('limit'))).toEqual(['100', '100', '100', '100']);
    expect(requests('surveys')).toBe(1);
    expect(requests('token')).toBe(1);
    const s111 = standIn.surveys.get('111') as SurveyData;
    expect(lastState(sink)['111']).toEqual({ 'Date Submitted': s111.rows[0]![2]!.replace(' ', 'T'), response_ids: [ids('111')[0]] });
    expect(lastState(sink, A)['111']).toEqual(lastState(sink)['111']);
  });

  it("streams: the first page's records are out before the second page is asked for (flat memory)", async () => {
    const r = rig();
    const pass = await r.source.open('111');
    const it = pass.rows[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value).toHaveLength(101); // the header and one page
    expect(requests('responses')).toBe(1);
    await pass.close();
    await r.close();
    expect(requests('responses')).toBe(1);
  });

  it('gives survey_answers one record per answer with its question id, tags, comment and sentiment', async () => {
    const r = rig();
    const sink = await read(r, ['111']);
    await r.close();
    const answers = sink.recordsOf(A);
    const expected = (standIn.surveys.get('111') as SurveyData).rows.flatMap((row) => {
      const response = standIn.responseObject('111', row) as {
        id: string;
        user_attributes?: { name: string; value: string }[];
        answers: Record<string, unknown>[];
      };
      const date = createdTime(row, CHECKOUT_HEADER).slice(0, 19);
      const attributes = (response.user_attributes ?? []).map((a) => ({
        question_id: null,
        question: a.name,
        position: 0,
        answer: a.value,
        tags: null,
        comment: null,
        sentiment: null,
      }));
      const questions = response.answers.map((a) => ({
        question_id: a['question_id'],
        question: CHECKOUT_HEADER[CHECKOUT_HEADER.indexOf('User ID') + (a['question_id'] === 'q_111_1' ? 1 : 3)],
        position: a['question_id'] === 'q_111_1' ? 1 : 2,
        answer: a['answer'],
        tags: (a['tags'] as { name: string }[]).map((t) => t.name).join(', ') || null,
        comment: a['comment'],
        sentiment: a['sentiment'],
      }));
      return [...attributes, ...questions].map((x) => ({
        site_id: SITE,
        survey_id: '111',
        response_id: response.id,
        'Date Submitted': date,
        ...x,
      }));
    });
    expect(answers.map((a) => ({ ...a }))).toEqual(
      expected.map((e) => ({
        site_id: e.site_id,
        survey_id: e.survey_id,
        response_id: e.response_id,
        'Date Submitted': e['Date Submitted'],
        question_id: e.question_id,
        question: e.question,
        position: e.position,
        answer: e.answer,
        tags: e.tags,
        comment: e.comment,
        sentiment: e.sentiment,
      })),
    );
    expect(answers.some((a) => a['comment'] !== null)).toBe(true);
    expect(answers.some((a) => a['answer'] === null && a['tags'] !== null)).toBe(true);
  });
});

describe('the same sample surveys in both modes', () => {
  it('read the same columns with the same values (Country excepted: the API gives a code), plus the API-only ones', async () => {
    const r = rig();
    const sink = await read(r, ['111', '222']);
    await r.close();
    const records = sink.recordsOf(R);
    let compared = 0;
    for (const id of ['111', '222']) {
      const s = standIn.surveys.get(id) as SurveyData;
      s.rows.forEach((row) => {
        const record = records.find((x) => x['response_id'] === responseId(id, Number(row[0])))!;
        s.header.forEach((column, i) => {
          const cell = row[i]! === '' ? null : row[i]!;
          if (column === 'Number') return expect(record).not.toHaveProperty('Number');
          if (column === 'Country') return expect(record[column]).toMatch(/^[A-Z]{2}$/);
          if (column === 'Date Submitted') return expect(record[column]).toBe(row[i]!.replace(' ', 'T'));
          expect(record[column], `${id} ${row[0]} ${column}`).toEqual(cell);
          compared++;
        });
        expect(Object.keys(record)).toEqual(
          expect.arrayContaining(['response_id', 'is_complete', 'recording_url', 'site_id', 'survey_id']),
        );
      });
    }
    expect(compared).toBeGreaterThan(250 * 10);
  });
});

describe('incremental by (date, response id)', () => {
  it('emits exactly the new responses: a later one, and one in the saved second with another id; stops early', async () => {
    const first = rig();
    const one = await read(first, ['111', '222']);
    await first.close();
    const states = { [R]: { surveys: mapState(lastState(one)) }, [A]: { surveys: mapState(lastState(one, A)) } };
    const s = standIn.surveys.get('111') as SurveyData;
    const top = s.rows[0]!;
    const topNumber = Number(top[0]);
    const later = checkoutRow(topNumber + 2, fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) + 5000));
    const sameSecond = checkoutRow(topNumber + 1, top[2]!);
    standIn.addResponses('111', [later, sameSecond]);
    standIn.requests.length = 0;
    const second = rig();
    const two = await read(second, ['111', '222'], states);
    await second.close();
    expect(idsOf(two)).toEqual([responseId('111', topNumber + 2), responseId('111', topNumber + 1)]);
    // Early stop: one page per survey, not the 3 pages of survey 111.
    expect(requests('responses')).toBe(2);
    expect(lastState(two)['111']).toEqual({
      'Date Submitted': later[2]!.replace(' ', 'T'),
      response_ids: [responseId('111', topNumber + 2)],
    });
    expect(lastState(two)['222']).toEqual(lastState(one)['222']);
    // A third read with nothing new emits nothing and keeps the state.
    const third = rig();
    const three = await read(third, ['111'], { [R]: { surveys: mapState(lastState(two)) } });
    await third.close();
    expect(idsOf(three)).toEqual([]);
    expect(lastState(three)['111']).toEqual(lastState(two)['111']);
  });

  it('a same-second response arriving after the read is caught next time (the ids of that second are saved)', async () => {
    const s = standIn.surveys.get('222') as SurveyData;
    const top = s.rows[0]!;
    const r1 = rig();
    const one = await read(r1, ['222']);
    await r1.close();
    standIn.addResponses('222', [npsRow(Number(top[0]) + 1, top[2]!)]);
    const r2 = rig();
    const two = await read(r2, ['222'], { [R]: { surveys: mapState(lastState(one)) } });
    await r2.close();
    expect(idsOf(two)).toEqual([responseId('222', Number(top[0]) + 1)]);
    expect((lastState(two)['222'] as { response_ids: string[] }).response_ids.sort()).toEqual(
      [responseId('222', Number(top[0])), responseId('222', Number(top[0]) + 1)].sort(),
    );
  });

  it('a state from password mode (date and Number) is read inclusively by date, and moves to (date, ids)', async () => {
    const s = standIn.surveys.get('222') as SurveyData;
    const cut = s.rows[3]![2]!.replace(' ', 'T');
    const r = rig();
    const sink = await read(r, ['222'], { [R]: { surveys: { '222': { date: cut, number: 4 } } } });
    await r.close();
    expect(idsOf(sink)).toEqual(ids('222').slice(0, 4));
    expect(lastState(sink)['222']).toEqual({ 'Date Submitted': s.rows[0]![2]!.replace(' ', 'T'), response_ids: [ids('222')[0]] });
  });

  it('start_date bounds the read and stops the paging early on a first read', async () => {
    const s = standIn.surveys.get('111') as SurveyData;
    const start = s.rows[30]![2]!.replace(' ', 'T');
    const r = rig();
    const sink = await read(r, ['111'], {}, start);
    await r.close();
    expect(idsOf(sink)).toEqual(ids('111').slice(0, 31));
    expect(requests('responses')).toBe(1);
  });
});

describe('header growth', () => {
  it('a user attribute first seen on a later page becomes a column then, nothing lost, earlier columns in place', async () => {
    const s = standIn.surveys.get('111') as SurveyData;
    // Only a response on the third page has a "Plan" attribute.
    s.header.push('Plan');
    s.attributes = ['User ID', 'Plan'];
    for (const [i, row] of s.rows.entries()) row.push(i === 220 ? 'enterprise' : '');
    const r = rig();
    const sink = await read(r, ['111']);
    await r.close();
    const records = sink.recordsOf(R);
    expect(records).toHaveLength(250);
    expect(records[220]!['Plan']).toBe('enterprise');
    expect(records.filter((x) => 'Plan' in x)).toHaveLength(50); // the third page's records carry the new column
    expect(sink.recordsOf(A).filter((a) => a['question'] === 'Plan')).toEqual([
      expect.objectContaining({ answer: 'enterprise', question_id: null, position: 3 }),
    ]);
  });
});

describe('the token', () => {
  it('is asked for with exactly the client-credentials form, once, and reused by every call', async () => {
    const r = rig();
    await read(r, ['111', '222']);
    await r.close();
    const tokenRequests = standIn.requests.filter((q) => q.endpoint === 'token');
    expect(tokenRequests).toHaveLength(1);
    const form = new URLSearchParams(tokenRequests[0]!.body);
    expect([...form.keys()]).toEqual(['grant_type', 'client_id', 'client_secret']);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(tokenRequests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(tokenRequests[0]!.headers.authorization).toBeUndefined();
    expect(r.auth.issued).toBe(1);
  });

  it('sends the secret only to the token endpoint and the token only to the API calls; both are masked', async () => {
    const before = standIn.issuedTokens.length;
    const r = rig();
    await read(r, ['222']);
    await r.close();
    const issued = standIn.issuedTokens.slice(before);
    for (const q of standIn.requests) {
      const seen = JSON.stringify(q);
      if (q.endpoint === 'token') continue;
      expect(seen).not.toContain(standIn.clientSecret);
      expect(q.headers.authorization).toBe(`Bearer ${standIn.issuedTokens.at(-1)!}`);
    }
    expect(issued).toHaveLength(1);
    for (const token of issued) expect(mask(`a ${token} b`)).toBe('a ********** b');
    expect(mask(standIn.clientSecret)).toBe('**********');
  });

  it('is renewed shortly before it expires, before the call that would have sent it stale (no 401, no gap)', async () => {
    standIn.tokenSeconds = 600;
    const r = rig();
    const pass = await r.source.open('111');
    const it = pass.rows[Symbol.asyncIterator]();
    await it.next();
    expect(r.auth.issued).toBe(1);
    clock += 540_000 - 1; // just before "60 s before expiry"
    await it.next();
    expect(r.auth.issued).toBe(1);
    clock += 2; // inside the last minute
    await it.next();
    expect(r.auth.issued).toBe(2);
    await pass.close();
    await r.close();
    expect(standIn.requests.filter((q) => q.endpoint === 'responses')).toHaveLength(3);
    expect(standIn.requests.every((q) => q.endpoint === 'token' || q.headers.authorization !== undefined)).toBe(true);
    const answered401 = standIn.requests.length - standIn.requests.filter((q) => q.endpoint === 'token').length - 3 - 1;
    expect(answered401).toBe(0);
  });

  it('a page over 64 MiB fails the survey with a system error that says so, not a config error', async () => {
    // A 200 answer larger than the connector reads into memory.
    standIn.fault('responses', { kind: 'status', status: 200, body: 'x'.repeat(65 * 1024 * 1024) });
    const r = rig({ maxAttempts: 1 });
    const sink = await read(r, ['111']);
    await r.close();
    const failure = sink.failuresOf('survey_responses')[0];
    expect(failure?.failureType).toBe('system_error');
    expect(failure?.message).toMatch(
      /answered the responses of survey 111 \(page 1\) with more than 64 MiB in one page, more than the connector holds at once; report it/,
    );
  });

  it('a retry after a wait that reached the renewal window carries a renewed token, not the one of the failed attempt', async () => {
    standIn.tokenSeconds = 600;
    const r = rig();
    const pass = await r.source.open('111');
    const it = pass.rows[Symbol.asyncIterator]();
    await it.next();
    standIn.fault('responses', { kind: 'status', status: 429, retryAfter: '0' });
    // The wait before the retry (logged as it starts) takes the clock into the token's last minute.
    const push = r.logs.push.bind(r.logs);
    r.logs.push = (...m: string[]): number => {
      if (m.some((x) => / failed: HTTP 429/.test(x))) clock += 545_000;
      return push(...m);
    };
    await it.next();
    await pass.close();
    await r.close();
    // The stand-in is shared by this file's tests: this test's requests and tokens are the last ones.
    const pages = standIn.requests.filter((q) => q.endpoint === 'responses').slice(-3);
    const [first, failed, retried] = pages.map((q) => q.headers.authorization);
    expect(failed).toBe(first);
    expect(retried).not.toBe(failed);
    expect(retried).toBe(`Bearer ${standIn.issuedTokens.at(-1)!}`);
    expect(r.auth.issued).toBe(2);
  });

  it('expiring mid-read (401) is renewed once and the call repeated: every response once', async () => {
    standIn.fault('responses', { kind: 'none' }, { kind: 'expire-token' });
    const r = rig();
    const sink = await read(r, ['111']);
    await r.close();
    expect(idsOf(sink)).toEqual(ids('111'));
    expect(r.auth.issued).toBe(2);
  });

  it("refused twice in a row for the same call is an AuthError naming the key's one-year life", async () => {
    standIn.fault('responses', { kind: 'expire-token' }, { kind: 'expire-token' });
    const r = rig();
    const sink = new RecordingSink();
    await expect(
      readStreams(r.source, { siteId: SITE, surveyIds: ['111', '222'], streams: [streamPlan(surveyResponsesApiKey)] }, sink),
    ).rejects.toThrow(AuthError);
    await r.close();
    expect(sink.statusesOf(R)).toEqual(['STARTED', 'INCOMPLETE']);
  });

  it.each([
    ['Bearer', true],
    ['bearer', true],
    ['BEARER', true],
    ['mac', false],
  ])('token_type %s is %s accepted', async (type, ok) => {
    standIn.tokenType = type;
    const r = rig();
    const attempt = r.source.listSurveys();
    if (ok) await expect(attempt).resolves.toHaveLength(2);
    else await expect(attempt).rejects.toThrow(/type "mac".*only knows Bearer/);
    await r.close();
  });

  it('a refused key says to check it and that keys die after a year; an expired key quotes Hotjar', async () => {
    const wrong = rig({ clientSecret: 'not-the-secret' });
    await expect(wrong.source.listSurveys()).rejects.toThrow(AuthError);
    await expect(wrong.source.listSurveys()).rejects.toThrow(
      /refused the API key with client ID .* \(HTTP 401\)\. Hotjar said: Client authentication failed\. Check client_id and client_secret\. Hotjar API keys expire one year after/,
    );
    await wrong.close();
    expect(standIn.requests.filter((q) => q.endpoint === 'token')).toHaveLength(2); // never retried
    standIn.keyExpired = true;
    const expired = rig();
    await expect(expired.source.verify(['111'])).rejects.toThrow(/Hotjar said: The API key has expired/);
    await expired.close();
  });
});

describe('limits and outages', () => {
  it('429 with Retry-After: waits as asked (within max_retry_wait), then goes on', async () => {
    standIn.fault('responses', { kind: 'status', status: 429, retryAfter: '0.4' });
    const r = rig({ maxRetryWaitMs: 450 });
    const started = performance.now();
    const sink = await read(r, ['222']);
    const took = performance.now() - started;
    await r.close();
    expect(idsOf(sink)).toEqual(ids('222'));
    expect(took).toBeGreaterThanOrEqual(400);
    expect(r.logs.some((l) => /attempt 1 of 4 failed: HTTP 429 .*asked to wait 0\.4 s/.test(l))).toBe(true);
  });

  it('a burst of 5xx within the attempt budget is ridden out; beyond it the survey fails as transient, the others are read', async () => {
    standIn.fault('responses', { kind: 'status', status: 503 }, { kind: 'status', status: 502 }, { kind: 'reset' });
    const r = rig();
    const sink = await read(r, ['222']);
    await r.close();
    expect(idsOf(sink)).toEqual(ids('222'));
    const burst = Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 500 }));
    standIn.fault('responses', ...burst);
    const r2 = rig();
    const failing = await read(r2, ['111', '222']);
    await r2.close();
    expect(failing.failuresOf(R)[0]).toBeInstanceOf(TransientError);
    expect(failing.failuresOf(R)[0]?.message).toMatch(/responses of survey 111 \(page 1\) failed after 4 attempts.*HTTP 500/);
    expect(idsOf(failing)).toEqual(ids('222'));
    expect(lastState(failing)['111']).toBeUndefined();
  });

  it.each(['half-page', 'half-page-clean'] as const)(
    'a page cut half way (%s) is asked for again: every response exactly once',
    async (kind) => {
      standIn.fault('responses', { kind: 'none' }, { kind });
      const r = rig();
      const sink = await read(r, ['111']);
      await r.close();
      expect(idsOf(sink)).toEqual(ids('111'));
      expect(distinct(idsOf(sink))).toHaveLength(250);
      expect(requests('responses')).toBe(4);
    },
  );

  it('an empty page that gives a cursor is followed (nothing lost); more than three in a row stop the survey', async () => {
    standIn.fault('responses', { kind: 'none' }, { kind: 'empty-page' });
    const r = rig();
    const sink = await read(r, ['111']);
    await r.close();
    expect(idsOf(sink)).toEqual(ids('111'));
    standIn.fault('responses', { kind: 'none' }, ...Array.from({ length: 4 }, () => ({ kind: 'empty-page' as const })));
    const r2 = rig();
    const stuck = await read(r2, ['111', '222']);
    await r2.close();
    expect(stuck.failuresOf(R)[0]).toBeInstanceOf(SystemError);
    expect(stuck.failuresOf(R)[0]?.message).toMatch(
      /4 empty pages in a row that still gave a next cursor while paging the responses of survey 111 \(last cursor "/,
    );
    expect(idsOf(stuck)).toEqual([...ids('111').slice(0, 100), ...ids('222')]);
    expect(lastState(stuck)['111']).toBeUndefined();
  });

  it('a cursor loop stops the survey naming the cursor, before the looping page is emitted; the position stays', async () => {
    standIn.fault('responses', { kind: 'none' }, { kind: 'cursor-loop' });
    const r = rig();
    const sink = await read(r, ['111', '222'], { [R]: { surveys: { '111': { date: '2000-01-01T00:00:00', ids: ['x'] } } } });
    await r.close();
    const [error] = sink.failuresOf(R);
    expect(error).toBeInstanceOf(SystemError);
    expect(error?.message).toMatch(/gave the cursor "[A-Za-z0-9_-]+" a second time while paging the responses of survey 111 \(page 2\)/);
    expect(idsOf(sink)).toEqual([...ids('111').slice(0, 100), ...ids('222')]);
    expect(lastState(sink)['111']).toEqual({ 'Date Submitted': '2000-01-01T00:00:00', response_ids: ['x'] });
  });
});

describe('check: the plan, the site, the survey ids', () => {
  it('a site without Ask Scale: 403 on responses names the plan', async () => {
    standIn.askScale = false;
    const r = rig();
    await expect(r.source.verify(['111'])).rejects.toThrow(ConfigError);
    await expect(r.source.verify(['111'])).rejects.toThrow(
      /refused the responses of survey 111 in site 1234567 \(HTTP 403.*Ask Scale plan/,
    );
    await r.close();
  });

  it('a survey id the site does not list is an error naming it (and the ids it does list)', async () => {
    const r = rig();
    await expect(r.source.verify(['111', '999'])).rejects.toThrow(/lists no survey 999 in site 1234567 \(it lists 111, 222\)/);
    await r.close();
  });

  it('the surveys list gives every field, and a survey added later is listed by the next run', async () => {
    const r = rig();
    const list = await r.source.listSurveys();
    await r.close();
    expect(list.map((s) => s.id)).toEqual(['111', '222']);
    const record = JSON.parse(surveysStream.record(SITE, list[0]!)) as Record<string, unknown>;
    expect(record).toMatchObject({
      site_id: SITE,
      id: '111',
      name: 'Checkout',
      type: 'popover',
      is_enabled: true,
      sentiment_analysis_enabled: true,
    });
    expect((record['questions'] as { id: string }[]).map((q) => q.id)).toEqual(['q_111_1', 'q_111_2', 'q_111_thanks']);
    standIn.surveys.set('333', { header: [...NPS_HEADER], rows: generate(npsRow, 3), name: 'Later' });
    const r2 = rig();
    expect((await r2.source.listSurveys()).map((s) => s.id)).toEqual(['111', '222', '333']);
    await r2.close();
  });
});

describe('the rate cap', () => {
  it('spaces calls at the configured rate', async () => {
    const r = rig({ perSecond: 20 });
    const started = performance.now();
    await read(r, ['111', '222']); // token + list + 4 pages = 6 requests, within the burst of 20
    const burstOnly = performance.now() - started;
    await r.close();
    const slow = rig({ perSecond: 4 });
    const t0 = performance.now();
    await read(slow, ['111', '222']); // 6 requests, 4 in the burst, then 2 more at 4/s
    const capped = performance.now() - t0;
    await slow.close();
    expect(capped).toBeGreaterThanOrEqual(450);
    expect(burstOnly).toBeLessThan(capped);
  });

  it("connect() caps at the config's max_requests_per_second", async () => {
    const config = parseConfig({
      credentials: { auth_type: 'api_key', client_id: standIn.clientId, client_secret: standIn.clientSecret },
      site_id: SITE,
      api_base_url: standIn.apiUrl,
      max_requests_per_second: 3,
    });
    expect(config.max_requests_per_second).toBe(3);
    const source = connect(config, () => undefined);
    const t0 = performance.now();
    const sink = await read({ source }, ['111', '222']); // 6 requests: 3 in the burst, then 3 more at 3/s
    const elapsed = performance.now() - t0;
    await source.close();
    expect(idsOf(sink)).toEqual([...ids('111'), ...ids('222')]);
    expect(standIn.requests.length).toBe(6);
    // At the default (40 a second) all six fit in the burst and take a few ms.
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });
});

describe('surveys side by side', () => {
  it('pages of different surveys are asked for at the same time: with 100 ms a page, 4 surveys take about as long as one', async () => {
    standIn.pageDelayMs = 100;
    for (const id of ['333', '444']) standIn.surveys.set(id, { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 250), name: id });
    const all = ['111', '333', '444', '222'];
    const r = rig();
    const t0 = performance.now();
    const serial = await read(r, all, {}, undefined, 1);
    const serialMs = performance.now() - t0;
    const t1 = performance.now();
    const side = await read(r, all, {}, undefined, 4);
    const sideMs = performance.now() - t1;
    await r.close();
    // One after another: the list, then 3 + 3 + 3 + 1 pages, ~1.1 s. Side by side (the list is kept from the
    // first read): about the longest survey, 3 pages, ~0.3 s.
    expect(serialMs).toBeGreaterThanOrEqual(1000);
    expect(sideMs).toBeLessThan(serialMs * 0.6);
    expect(idsOf(side).sort()).toEqual(idsOf(serial).sort());
    expect(idsOf(side)).toHaveLength(250 * 3 + 9);
  });
});

function mapState(blob: Record<string, unknown>): StreamState['surveys'] {
  const out: StreamState['surveys'] = {};
  for (const [id, v] of Object.entries(blob)) {
    const e = v as { 'Date Submitted'?: string; response_ids?: string[] };
    out[id] = { ...(e['Date Submitted'] ? { date: e['Date Submitted'] } : {}), ...(e.response_ids ? { ids: e.response_ids } : {}) };
  }
  return out;
}
