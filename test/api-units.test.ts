/**
 * The pure parts of issue 10 (API-key mode, auto-discovery, the surveys stream), tested directly: the
 * config's two ways in, the position by (date, response id), the API flavour of the header layout, the
 * mapping of API responses onto the export's columns, the tolerant internal survey list, and the rate cap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, secretPaths } from '../src/core/config.js';
import { ConfigError } from '../src/core/errors.js';
import { loadSpec } from '../src/core/spec-file.js';
import { clearSecrets, mask } from '../src/core/secrets.js';
import { DEFAULT_REQUESTS_PER_SECOND, RateLimiter } from '../src/hotjar/api/rate-limit.js';
import { API_COLUMNS, COMMENT_FOR, ResponseRows, SENTIMENT_FOR, TAGS_FOR, questionsOf } from '../src/hotjar/api/rows.js';
import { DECLARED_SURVEY_FIELDS, parseInternalSurveyList } from '../src/hotjar/export/survey-list.js';
import { errorText } from '../src/hotjar/api/token.js';
import { API_FIXED_COLUMNS, COMMENT_PREFIX, SENTIMENT_PREFIX, TAGS_PREFIX, layout } from '../src/streams/columns.js';
import { STATE_STREAM_NAMES, streamByName, streamsFor } from '../src/streams/catalog.js';
import { advance, canStopByDate, dateBound, isNewById, parseStreamState, toStateBlob } from '../src/streams/state.js';
import { surveysStream } from '../src/streams/surveys.js';
import { readStreams } from '../src/streams/driver.js';
import { EMPTY_STATE, type StreamState } from '../src/streams/state.js';
import { FakeSource, RecordingSink, readPlan, streamPlan } from './inprocess/fakes.js';
import { parseStateFile } from '../src/streams/state-file.js';

describe('config: two ways in', () => {
  afterEach(() => clearSecrets());
  const base = { site_id: '123' };
  const apiKey = { auth_type: 'api_key', client_id: 'cid-1', client_secret: 'csecret-XYZ-42' };

  it('takes an API key in credentials, with opaque survey ids, and masks the client secret', () => {
    const config = parseConfig({ ...base, credentials: apiKey, survey_ids: ['survey_9f1c-2', 77] });
    expect(config.credentials).toEqual(apiKey);
    expect(config.survey_ids).toEqual(['survey_9f1c-2', '77']);
    expect(config.api_base_url).toBe('https://api.hotjar.io');
    expect(mask('secret csecret-XYZ-42 here')).toBe('secret ********** here');
  });

  it('takes email and password inside credentials, and masks the nested password', () => {
    const config = parseConfig({ ...base, credentials: { auth_type: 'password', email: 'a@b.c', password: 'nested-pw-77' } });
    expect(config.credentials).toEqual({ auth_type: 'password', email: 'a@b.c', password: 'nested-pw-77' });
    expect(config.survey_ids).toEqual([]);
    expect(mask('x nested-pw-77 y')).toBe('x ********** y');
  });

  it('normalises a flat (pre-credentials) config, and lets credentials win when both are given', () => {
    expect(parseConfig({ ...base, email: 'a@b.c', password: 'flat-pw' }).credentials).toEqual({
      auth_type: 'password',
      email: 'a@b.c',
      password: 'flat-pw',
    });
    const both = parseConfig({ ...base, email: 'a@b.c', password: 'flat-pw', credentials: apiKey });
    expect(both.credentials).toEqual(apiKey);
    expect(both).not.toHaveProperty('email');
    expect(both).not.toHaveProperty('password');
  });

  it('finds every airbyte_secret of the spec, nested ones included', () => {
    expect(
      secretPaths(loadSpec())
        .map((p) => p.join('.'))
        .sort(),
    ).toEqual(['credentials.client_secret', 'credentials.password', 'password']);
  });

  it.each([
    [{}, /"credentials" is required but missing/],
    [{ email: 'a@b.c' }, /"password" is required but missing/],
    [{ password: 'x' }, /"email" is required but missing/],
    [{ credentials: 'key' }, /"credentials" must be an object/],
    [{ credentials: { auth_type: 'oauth' } }, /"credentials.auth_type" must be "api_key" .* or "password"/],
    [{ credentials: { auth_type: 'api_key', client_id: 'x' } }, /"credentials.client_secret" is required but missing/],
    [{ credentials: { auth_type: 'api_key', client_id: '', client_secret: 's' } }, /"credentials.client_id" must be a non-empty string/],
    [{ credentials: { auth_type: 'password', email: 'a@b.c' } }, /"credentials.password" is required but missing/],
    [{ credentials: { ...apiKey, client_id: 'x'.repeat(1025) } }, /"credentials.client_id" must NOT have more than 1024 characters/],
    [{ credentials: apiKey, api_base_url: 'http://api.example.com' }, /"api_base_url" uses plain http/],
    [{ credentials: apiKey, survey_ids: ['a/b'] }, /"survey_ids.0" must be an ID of letters/],
    [{ email: 'a@b.c', password: 'p', survey_ids: ['survey_1'] }, /"survey_ids.0" must be a numeric ID .* email and password/],
  ])('refuses %o, naming what is wrong', (patch, message) => {
    expect(() => parseConfig({ ...base, ...patch }, 'cfg.json')).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, ...patch }, 'cfg.json')).toThrow(message);
  });

  it('never prints a secret in a refusal', () => {
    let text = '';
    try {
      parseConfig({ site_id: 'bad', credentials: { auth_type: 'api_key', client_id: 'c', client_secret: 'leak-me-not-999' } });
    } catch (err) {
      text = mask((err as Error).message);
    }
    expect(text).toMatch(/site_id/);
    expect(text).not.toContain('leak-me-not-999');
  });
});

describe('state: position by (date, response id)', () => {
  const D = '2024-05-01T10:00:00';

  it('isNewById: later second, or the saved second with an unseen id; date-only positions are inclusive; start_date always', () => {
    const p = { date: D, ids: ['a', 'b'] };
    expect(isNewById(p, 'z', '2024-05-01T10:00:01', undefined)).toBe(true);
    expect(isNewById(p, 'c', D, undefined)).toBe(true);
    expect(isNewById(p, 'a', D, undefined)).toBe(false);
    expect(isNewById(p, 'z', '2024-05-01T09:59:59', undefined)).toBe(false);
    expect(isNewById({ date: D }, 'a', D, undefined)).toBe(true);
    expect(isNewById({ date: D, number: 7 }, 'a', '2024-05-01T09:00:00', undefined)).toBe(false);
    expect(isNewById({}, 'a', '2000-01-01T00:00:00', undefined)).toBe(true);
    expect(isNewById({}, 'a', '2024-01-01T00:00:00', '2024-01-02T00:00:00')).toBe(false);
  });

  it('canStopByDate: only with a floor, after two rows in order, strictly below the floor', () => {
    expect(canStopByDate(undefined, '2000-01-01T00:00:00', 9)).toBe(false);
    expect(canStopByDate(D, '2024-05-01T09:59:59', 1)).toBe(false);
    expect(canStopByDate(D, '2024-05-01T09:59:59', 2)).toBe(true);
    expect(canStopByDate(D, D, 5)).toBe(false);
    expect(canStopByDate(D, '2024-04-01T00:00:00', Number.NEGATIVE_INFINITY)).toBe(false);
    expect(dateBound({ date: D }, '2024-06-01T00:00:00')).toBe('2024-06-01T00:00:00');
    expect(dateBound({}, undefined)).toBeUndefined();
  });

  it('advance by id: a later second replaces the ids, the same second adds to them, an older one changes nothing; a Number is dropped', () => {
    const pass = (date: string, ids: string[]) => ({ maxNumber: undefined, newestEmitted: undefined, newest: { date, ids } });
    expect(advance({}, pass(D, ['x', 'y']))).toEqual({ date: D, ids: ['x', 'y'] });
    expect(advance({ date: D, ids: ['a'] }, pass(D, ['a', 'b']))).toEqual({ date: D, ids: ['a', 'b'] });
    expect(advance({ date: D, ids: ['a'] }, pass('2024-05-02T00:00:00', ['q']))).toEqual({ date: '2024-05-02T00:00:00', ids: ['q'] });
    expect(advance({ date: D, ids: ['a'] }, pass('2024-04-02T00:00:00', ['q']))).toEqual({ date: D, ids: ['a'] });
    expect(advance({ date: D, number: 12 }, pass(D, ['n']))).toEqual({ date: D, ids: ['n'] });
    // An empty pass (no rows) keeps the position.
    expect(advance({ date: D, ids: ['a'] }, { maxNumber: undefined, newestEmitted: undefined })).toEqual({ date: D, ids: ['a'] });
  });

  it('reads and writes response_ids; a list without a date, or not of strings, is refused', () => {
    const state = parseStreamState({ surveys: { s1: { 'Date Submitted': D, response_ids: ['b', 'a'] } } });
    expect(state.surveys['s1']).toEqual({ date: D, ids: ['b', 'a'] });
    expect(toStateBlob(state, [])).toEqual({ surveys: { s1: { 'Date Submitted': D, response_ids: ['a', 'b'] } } });
    expect(() => parseStreamState({ surveys: { s1: { response_ids: ['a'] } } })).toThrow(/response_ids of survey s1/);
    expect(() => parseStreamState({ surveys: { s1: { 'Date Submitted': D, response_ids: [1] } } })).toThrow(ConfigError);
  });

  it('a legacy state file {"surveys": …} still means every stream, though "surveys" is now also a stream', () => {
    const found = parseStateFile({ surveys: { '7': { 'Date Submitted': D } } }, STATE_STREAM_NAMES);
    expect([...found.keys()]).toEqual(['survey_responses', 'survey_answers']);
    expect(found.get('survey_answers')?.surveys['7']).toEqual({ date: D });
  });
});

describe('catalog per mode', () => {
  it('keys API-key mode by response_id, keeps the cursor, and the surveys stream by site and id', () => {
    expect(streamsFor('api_key').map((s) => [s.name, s.primaryKey, s.cursorField])).toEqual([
      ['survey_responses', [['response_id'], ['survey_id']], ['Date Submitted']],
      ['survey_answers', [['response_id'], ['survey_id'], ['question']], ['Date Submitted']],
      ['surveys', [['site_id'], ['id']], []],
    ]);
    expect(streamsFor('password').map((s) => s.primaryKey[0])).toEqual([['Number'], ['Number'], ['site_id']]);
    expect(streamByName('surveys', 'api_key')).toBe(surveysStream);
  });

  it('the API-key survey_responses schema declares every password-mode column (a switch keeps the table)', () => {
    const pw = streamByName('survey_responses', 'password')!.schema() as { properties: Record<string, unknown> };
    const api = streamByName('survey_responses', 'api_key')!.schema() as {
      properties: Record<string, { type: unknown }>;
      required: string[];
    };
    for (const key of Object.keys(pw.properties)) expect(api.properties, key).toHaveProperty([key]);
    expect(api.properties['Number']!.type).toEqual(['null', 'integer']);
    expect(api.required).not.toContain('Number');
    for (const key of ['response_id', 'is_complete', 'recording_url']) expect(api.properties).toHaveProperty([key]);
  });

  it('surveys.json declares the fields password mode renames "(internal)"', () => {
    const props = Object.keys((surveysStream.schema() as { properties: Record<string, unknown> }).properties);
    expect(props.filter((p) => p !== 'id' && p !== 'name').sort()).toEqual([...DECLARED_SURVEY_FIELDS].sort());
  });

  it("a surveys record: site_id first (the connector's), every field, id as text", () => {
    const data = JSON.parse(
      surveysStream.record('9', { id: '5', fields: { id: '5', site_id: 'theirs', name: 'N', extra: [1] } }),
    ) as Record<string, unknown>;
    expect(data).toEqual({ site_id: '9', id: '5', name: 'N', extra: [1] });
    expect(Object.keys(data)[0]).toBe('site_id');
  });
});

describe('columns: the API flavour', () => {
  const q = 'How was it?';
  const header = [...API_FIXED_COLUMNS, 'Plan', q, `${TAGS_PREFIX}${q}`, `${COMMENT_PREFIX}${q}`, `${SENTIMENT_PREFIX}${q}`];

  it('has response_id and no Number; pairs Tags, Comment and Sentiment with their question; attributes are answer columns', () => {
    const l = layout(header);
    expect(l.flavour).toBe('api');
    expect(l.answers).toEqual([
      { index: 11, question: 'Plan', tagsIndex: -1, commentIndex: -1, sentimentIndex: -1 },
      { index: 12, question: q, tagsIndex: 13, commentIndex: 14, sentimentIndex: 15 },
    ]);
  });

  it('does not pair Comment or Sentiment columns in a CSV export (they are just columns there)', () => {
    const l = layout(['Number', 'Date Submitted', q, `${COMMENT_PREFIX}${q}`]);
    expect(l.flavour).toBe('export');
    expect(l.answers.map((a) => a.question)).toEqual([q, `${COMMENT_PREFIX}${q}`]);
  });

  it('rows.ts and columns.ts agree on the fixed columns and prefixes', () => {
    expect([...API_COLUMNS.fixed, ...API_COLUMNS.own]).toEqual(API_FIXED_COLUMNS);
    expect([TAGS_FOR, COMMENT_FOR, SENTIMENT_FOR]).toEqual([TAGS_PREFIX, COMMENT_PREFIX, SENTIMENT_PREFIX]);
  });
});

describe("API responses in the export's columns (rows.ts)", () => {
  const survey = {
    questions: [
      { id: 'q1', type: 'long-text', text: 'Why?' },
      { id: 2, type: 'multiple-option', text: 'Which?' },
      { id: 'q3', type: 'statement', text: 'Read this' },
      { id: 'q4', type: 'thank-you', text: 'Thanks' },
      { id: 'q5', type: 'nps' },
      'not a question',
    ],
  };
  const response = {
    id: 'r-1',
    created_time: '2024-03-01T23:30:15.987+02:00',
    is_complete: false,
    device: 'mobile',
    browser: 'Safari',
    os: 'iOS',
    country: 'FR',
    hotjar_user_id: 'abcdef0123456789',
    recording_url: null,
    response_origin_url: 'https://x.example/p?q=1',
    user_attributes: [
      { name: 'Plan', value: 'pro' },
      { name: 'Seats', value: 12 },
    ],
    answers: [
      { question_id: 'q1', answer: 'Because\n"yes"', comment: 'c1', tags: [{ name: 'Pricing' }, { name: 'UX' }], sentiment: 'negative' },
      { question_id: 2, answer: ['A', 'B'], comment: null, tags: [], sentiment: null },
      { question_id: 2, answer: 'C', tags: ['plain'] },
      { question_id: 'q5', answer: 9 },
    ],
  };

  it('lays out fixed, own, attribute and question columns, skipping questions that take no answer', () => {
    const rows = new ResponseRows(questionsOf(survey));
    expect(rows.learn([response])).toBe(false);
    const header = rows.header();
    expect(header.slice(0, 13)).toEqual([...API_COLUMNS.fixed, ...API_COLUMNS.own, 'Plan', 'Seats']);
    expect(header.slice(13)).toEqual(
      ['Why?', 'Which?', 'Question q5'].flatMap((t) => [t, `Tags for: ${t}`, `Comment for: ${t}`, `Sentiment for: ${t}`]),
    );
    expect(rows.questionIdOf(13)).toBe('q1');
    expect(rows.questionIdOf(17)).toBe('2');
    expect(rows.questionIdOf(14)).toBeUndefined();
  });

  it('maps a response: UTC to the second, User from the user id, tags joined, non-text answers as JSON, repeated answers joined', () => {
    const rows = new ResponseRows(questionsOf(survey));
    rows.learn([response]);
    const h = rows.header();
    const r = rows.row(response);
    const at = (name: string): string | undefined => r[h.indexOf(name)];
    expect(at('Date Submitted')).toBe('2024-03-01T21:30:15');
    expect(at('User')).toBe('abcdef01');
    expect(at('Hotjar User ID')).toBe('abcdef0123456789');
    expect(at('Source URL')).toBe('https://x.example/p?q=1');
    expect(at('Country')).toBe('FR');
    expect([at('response_id'), at('is_complete'), at('recording_url')]).toEqual(['r-1', 'false', '']);
    expect([at('Plan'), at('Seats')]).toEqual(['pro', '12']);
    expect([at('Why?'), at('Tags for: Why?'), at('Comment for: Why?'), at('Sentiment for: Why?')]).toEqual([
      'Because\n"yes"',
      'Pricing, UX',
      'c1',
      'negative',
    ]);
    expect([at('Which?'), at('Tags for: Which?')]).toEqual(['["A","B"], C', 'plain']);
    expect(at('Question q5')).toBe('9');
  });

  it('names an attribute or question "Number" as "Number (2)": the header never reads as an export keyed by Number', async () => {
    const questions = [{ id: 'q1', text: 'Number', type: 'short-text' }];
    const at = (id: string, number: string, time: string): Record<string, unknown> => ({
      id,
      created_time: time,
      user_attributes: [{ name: 'Number', value: number }],
      answers: [{ question_id: 'q1', answer: `answer ${id}` }],
    });
    const first = [at('r7', '7', '2024-05-02T10:00:05Z'), at('r5', '5', '2024-05-02T09:00:00Z')];
    const rows = new ResponseRows(questions);
    rows.learn(first);
    const header = rows.header();
    expect(header).not.toContain('Number');
    expect(header.filter((h) => h === 'Number (2)')).toHaveLength(2);
    const responses = streamByName('survey_responses', 'api_key')!;
    const read = async (list: Record<string, unknown>[], state: StreamState = EMPTY_STATE): Promise<RecordingSink> => {
      const sink = new RecordingSink();
      const source = new FakeSource({ s1: { header, rows: list.map((r) => rows.row(r)) } });
      await readStreams(source, readPlan(['s1'], [streamPlan(responses, { state })]), sink);
      return sink;
    };
    const one = await read(first);
    expect(one.recordsOf('survey_responses').map((r) => r['response_id'])).toEqual(['r7', 'r5']);
    expect(one.recordsOf('survey_responses')[0]).toMatchObject({ 'Number (2)': '7', 'Number (2) (2)': 'answer r7' });
    expect(one.recordsOf('survey_responses')[0]).not.toHaveProperty(['Number']);
    const blob = one.lastState('survey_responses')!.blob;
    expect(blob).toEqual({ surveys: { s1: { 'Date Submitted': '2024-05-02T10:00:05', response_ids: ['r7'] } } });
    // A later response whose attribute is lower than the first ones is new all the same (by time and id).
    const two = await read([at('r2', '2', '2024-05-03T08:00:00Z'), ...first], parseStreamState(blob));
    expect(two.recordsOf('survey_responses').map((r) => r['response_id'])).toEqual(['r2']);
  });

  it('does not stop early on rows of one second: oldest first with a tie at the top is read in full', async () => {
    const at = (id: string, time: string): Record<string, unknown> => ({ id, created_time: time, answers: [] });
    // Oldest first (the API's order is newest first; this is the order it is not).
    const list = [
      at('r1', '2024-05-02T08:00:00.100Z'),
      at('r2', '2024-05-02T08:00:00.200Z'),
      at('r3', '2024-05-02T09:00:00Z'),
      at('r4', '2024-05-02T10:00:05Z'),
      at('r5', '2024-05-02T10:30:00Z'),
      at('r6', '2024-05-02T11:00:00Z'),
    ];
    const rows = new ResponseRows([]);
    rows.learn(list);
    const sink = new RecordingSink();
    const state = parseStreamState({ surveys: { s1: { 'Date Submitted': '2024-05-02T10:00:05', response_ids: ['r4'] } } });
    const source = new FakeSource({ s1: { header: rows.header(), rows: list.map((r) => rows.row(r)) } });
    await readStreams(source, readPlan(['s1'], [streamPlan(streamByName('survey_responses', 'api_key')!, { state })]), sink);
    expect(sink.recordsOf('survey_responses').map((r) => r['response_id'])).toEqual(['r5', 'r6']);
  });

  it('keeps a created_time that is no date-time as it is (the reader reports it), and survives junk', () => {
    const rows = new ResponseRows([]);
    rows.learn([{ created_time: 'yesterday' }, 42]);
    expect(rows.row({ created_time: 'yesterday' })[1]).toBe('yesterday');
    expect(rows.row(42)).toEqual(new Array(11).fill(''));
  });

  it('adds columns first seen on a later page at the end, and says so', () => {
    const rows = new ResponseRows(questionsOf(survey));
    rows.learn([{ id: 'a', answers: [] }]);
    const before = rows.header();
    expect(rows.learn([{ id: 'b', answers: [] }])).toBe(false);
    expect(
      rows.learn([{ id: 'c', user_attributes: [{ name: 'Late', value: 'x' }], answers: [{ question_id: 'zz', answer: 'orphan' }] }]),
    ).toBe(true);
    const after = rows.header();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toEqual([
      'Late',
      'Question zz',
      'Tags for: Question zz',
      'Comment for: Question zz',
      'Sentiment for: Question zz',
    ]);
    expect(rows.questionIdOf(before.length + 1)).toBe('zz');
  });

  it('reads the error text public clients read from a token error', () => {
    expect(errorText('{"error":"invalid_client","error_description":"Client authentication failed"}')).toBe('Client authentication failed');
    expect(errorText('{"msg":"nope"}')).toBe('nope');
    expect(errorText('<html>')).toBeUndefined();
  });
});

describe('password mode: the internal survey list, read tolerantly', () => {
  it('takes a bare list or an object holding one list; numeric ids become text', () => {
    expect(parseInternalSurveyList([{ id: 1, name: 'A' }], '9').map((s) => s.id)).toEqual(['1']);
    expect(parseInternalSurveyList({ surveys: [{ id: '2', title: 'B' }], total: 1 }, '9')).toEqual([
      { id: '2', fields: { id: '2', name: 'B', title: 'B' } },
    ]);
    expect(parseInternalSurveyList({ a: [], b: [{ id: 3 }] }, '9').map((s) => s.id)).toEqual(['3']);
    expect(parseInternalSurveyList([], '9')).toEqual([]);
  });

  it('keeps every field, renaming the ones the official API declares to "<name> (internal)"', () => {
    const [s] = parseInternalSurveyList([{ id: 4, name: 7, type: 'POPOVER', questions: 3, status: 'ACTIVE' }], '9');
    expect(s!.fields).toEqual({
      id: '4',
      name: null,
      'name (internal)': 7,
      'type (internal)': 'POPOVER',
      'questions (internal)': 3,
      status: 'ACTIVE',
    });
  });

  it.each([
    [{ data: { items: [{ id: 1 }] } }, /shape the connector does not know .*survey_ids/],
    ['surveys', /shape the connector does not know/],
    [[{ name: 'no id' }], /entry 0 .* no usable "id".*survey_ids/],
    [[{ id: '../1' }], /entry 0/],
    [{ a: [{ id: 1 }], b: [{ id: 2 }] }, /shape the connector does not know/],
  ])('asks for survey_ids when the answer does not fit (%j)', (body, message) => {
    expect(() => parseInternalSurveyList(body, '9')).toThrow(ConfigError);
    expect(() => parseInternalSurveyList(body, '9')).toThrow(message);
  });
});

describe('the request-rate cap', () => {
  it('lets a burst through, then spaces requests at the rate', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      10,
      10,
      () => now,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
    );
    for (let i = 0; i < 25; i++) await limiter.take();
    expect(waits.length).toBe(15);
    expect(now).toBeCloseTo(1500, 0);
  });

  it('defaults to 40 a second: 80% of the 3,000 a minute public clients cite, the same default as spec.json', () => {
    expect(DEFAULT_REQUESTS_PER_SECOND).toBe(40);
    expect(new RateLimiter().perSecond).toBe(DEFAULT_REQUESTS_PER_SECOND);
    expect(DEFAULT_REQUESTS_PER_SECOND * 60).toBeLessThanOrEqual(0.8 * 3000);
    const prop = (loadSpec()['properties'] as Record<string, Record<string, unknown>>)['max_requests_per_second'];
    expect(prop).toMatchObject({ type: 'integer', default: DEFAULT_REQUESTS_PER_SECOND, minimum: 1, maximum: 50, group: 'advanced' });
  });

  it('max_requests_per_second: the default when absent, the value given, 1–50 only', () => {
    const config = (extra: Record<string, unknown>): ReturnType<typeof parseConfig> =>
      parseConfig({ site_id: '123', credentials: { auth_type: 'api_key', client_id: 'c', client_secret: 's' }, ...extra });
    expect(config({}).max_requests_per_second).toBe(DEFAULT_REQUESTS_PER_SECOND);
    expect(config({ max_requests_per_second: 7 }).max_requests_per_second).toBe(7);
    for (const bad of [0, 51, 2.5, '10']) expect(() => config({ max_requests_per_second: bad })).toThrow(/"max_requests_per_second"/);
  });
});
