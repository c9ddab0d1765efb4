/**
 * API-key mode, auto-discovery and the surveys stream end to end: the built CLIs (source-hotjar and
 * tap-hotjar) against both stand-ins over loopback HTTP, serving the SAME surveys (one shared Map), so a
 * switch of mode can be checked on one destination's columns. Every Airbyte message is validated against
 * the protocol schema, every Singer stdout through the Singer checker, and no secret (client secret,
 * password, any token the stand-in issued) may appear in any output.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, fileDate, generate, npsRow, type SurveyData } from '../devtools/stand-in/data.js';
import { HotjarOfficialStandIn, responseId } from '../devtools/stand-in/official.js';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import {
  ROOT,
  assertAllValid,
  byType,
  errors,
  records,
  runCli,
  states,
  statuses,
  tempDir,
  writeJson,
  type Message,
  type RunResult,
} from './helpers.js';
import { checkSingerOutput } from './singer-checker.js';

const SITE = '1234567';
const SECRET = 'cs-Very$ecret-🔑-do-not-leak';
const PASSWORD = 'pw-do-not-leak-🔒';
const TAP = join(ROOT, 'dist/singer/main.js');
let official: HotjarOfficialStandIn;
let sandbox: HotjarSandbox;
let shared: Map<string, SurveyData>;
let dir: string;

function freshSurveys(): Map<string, SurveyData> {
  return new Map([
    ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 130), name: 'Checkout' }],
    ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 9, Date.UTC(2023, 9, 1, 8, 0, 0), 3600), name: 'NPS' }],
  ]);
}

const apiConfig = (extra: Record<string, unknown> = {}): string =>
  writeJson(
    dir,
    `api-${Math.random().toString(36).slice(2)}.json`,
    official.config({ max_attempts: 4, max_retry_wait_seconds: 0.05, request_timeout_seconds: 2, max_concurrent_surveys: 1, ...extra }),
  );
const passwordConfig = (extra: Record<string, unknown> = {}): string =>
  writeJson(dir, `pw-${Math.random().toString(36).slice(2)}.json`, {
    credentials: { auth_type: 'password', email: sandbox.email, password: PASSWORD },
    site_id: SITE,
    base_url: sandbox.apiUrl,
    max_concurrent_surveys: 1,
    max_attempts: 2,
    max_retry_wait_seconds: 0.05,
    ...extra,
  });

function catalogOf(...streams: [string, 'incremental' | 'full_refresh'][]): string {
  return writeJson(dir, `cat-${Math.random().toString(36).slice(2)}.json`, {
    streams: streams.map(([name, mode]) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: mode,
      destination_sync_mode: 'append',
    })),
  });
}

function noLeaks(r: RunResult): void {
  const all = r.stdout + r.stderr;
  for (const secret of [SECRET, PASSWORD, ...official.issuedTokens, ...sandbox.issuedSecrets]) expect(all).not.toContain(secret);
  expect(all).not.toContain(encodeURIComponent(SECRET));
}

async function airbyte(args: string[]): Promise<RunResult> {
  const r = await runCli(args);
  assertAllValid(r);
  noLeaks(r);
  return r;
}

const status = (r: RunResult): { status: string; message: string } =>
  byType(r, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string; message: string };
const recordsOf = (r: RunResult, stream: string): Record<string, unknown>[] =>
  byType(r, 'RECORD')
    .map((m) => m['record'] as { stream: string; data: Record<string, unknown> })
    .filter((x) => x.stream === stream)
    .map((x) => x.data);
const lastStates = (r: RunResult): Message[] => {
  const last = new Map<string, Message>();
  for (const m of byType(r, 'STATE'))
    last.set((m['state'] as { stream: { stream_descriptor: { name: string } } }).stream.stream_descriptor.name, m['state'] as Message);
  return [...last.values()];
};
const streamState = (r: RunResult, stream = 'survey_responses'): Record<string, Record<string, unknown>> =>
  (
    states(r)
      .filter((s) => (s['stream'] as { stream_descriptor: { name: string } }).stream_descriptor.name === stream)
      .at(-1)!['stream'] as { stream_state: { surveys: Record<string, Record<string, unknown>> } }
  ).stream_state.surveys;
const ids = (surveyId: string): string[] => shared.get(surveyId)!.rows.map((row) => responseId(surveyId, Number(row[0])));
const catalogStreams = (r: RunResult): Record<string, unknown>[] =>
  (r.messages.find((m) => m.type === 'CATALOG')!['catalog'] as { streams: Record<string, unknown>[] }).streams;
const declared = (stream: Record<string, unknown>): string[] =>
  Object.keys((stream['json_schema'] as { properties: Record<string, unknown> }).properties);

beforeAll(async () => {
  shared = freshSurveys();
  official = await new HotjarOfficialStandIn({ siteId: SITE, surveys: shared, clientSecret: SECRET }).start();
  sandbox = await new HotjarSandbox({ siteId: SITE, surveys: shared, password: PASSWORD }).start();
  dir = tempDir();
});

afterAll(async () => {
  await official.stop();
  await sandbox.stop();
});

beforeEach(() => {
  const fresh = freshSurveys();
  for (const id of [...shared.keys()]) if (!fresh.has(id)) shared.delete(id);
  for (const [id, s] of fresh) shared.set(id, s);
  for (const list of Object.values(official.faults)) list.length = 0;
  official.askScale = true;
  official.keyExpired = false;
  sandbox.surveyListShape = 'object';
});

describe('spec', () => {
  it('offers both ways in under credentials, and api_base_url', async () => {
    const r = await airbyte(['spec']);
    const spec = (r.messages[0]!['spec'] as { connectionSpecification: { properties: Record<string, Record<string, unknown>> } })
      .connectionSpecification;
    const variants = spec.properties['credentials']!['oneOf'] as { properties: Record<string, { const?: string }> }[];
    expect(variants.map((v) => v.properties['auth_type']!.const)).toEqual(['api_key', 'password']);
    expect(spec.properties['api_base_url']!['default']).toBe('https://api.hotjar.io');
  });
});

describe('check', () => {
  it('proves an API key: SUCCEEDED naming the client and every survey of the site', async () => {
    const r = await airbyte(['check', '--config', apiConfig()]);
    expect(r.code).toBe(0);
    expect(status(r)).toEqual({
      status: 'SUCCEEDED',
      message: expect.stringMatching(
        /accepted the API key with client ID hj-client-5f3a9c; the responses of surveys 111, 222 of site 1234567 \(every survey the site lists\)/,
      ),
    });
  });

  it.each([
    [
      'a refused key',
      () => apiConfig({ credentials: { auth_type: 'api_key', client_id: official.clientId, client_secret: 'wrong-secret' } }),
      /refused the API key .*HTTP 401.*expire one year after they are created/,
    ],
    ['an expired key', () => ((official.keyExpired = true), apiConfig()), /Hotjar said: The API key has expired\. .*expire one year/],
    ['the wrong plan', () => ((official.askScale = false), apiConfig()), /HTTP 403.*needs the Ask Scale plan/],
    ['the wrong site', () => apiConfig({ site_id: '42' }), /knows no site 42 .*Check site_id/],
    ['an unknown survey', () => apiConfig({ survey_ids: ['111', '999'] }), /lists no survey 999 in site 1234567/],
    [
      'a refused password',
      () => passwordConfig({ credentials: { auth_type: 'password', email: sandbox.email, password: 'wrong-pw-🔒' }, survey_ids: ['111'] }),
      /two-factor authentication or single sign-on/,
    ],
  ])('names the fix for %s (FAILED, exit 0)', async (_what, config, message) => {
    const r = await airbyte(['check', '--config', config()]);
    expect(r.code).toBe(0);
    expect(status(r).status).toBe('FAILED');
    expect(status(r).message).toMatch(message);
    expect(r.stdout).not.toContain('wrong-secret');
    expect(r.stdout).not.toContain('wrong-pw-🔒');
  });

  it('names api_base_url when what answers there is no token endpoint (an HTML page, a redirect): FAILED, exit 0', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/moved')) res.writeHead(302, { location: 'https://example.com/' }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (const [base, message] of [
        [`http://127.0.0.1:${port}`, /answered something that is not JSON \(<html>.*Check api_base_url/],
        [`http://127.0.0.1:${port}/moved`, /answered with a redirect \(HTTP 302\).*Check api_base_url/],
      ] as const) {
        const r = await airbyte(['check', '--config', apiConfig({ api_base_url: base })]);
        expect(r.code).toBe(0);
        expect(status(r).status).toBe('FAILED');
        expect(status(r).message).toMatch(message);
        // A read ends at once: one config_error, not one per survey and stream.
        const cat = catalogOf(['survey_responses', 'incremental'], ['survey_answers', 'incremental'], ['surveys', 'full_refresh']);
        const read = await airbyte(['read', '--config', apiConfig({ api_base_url: base, survey_ids: ['111', '222'] }), '--catalog', cat]);
        expect(read.code).toBe(1);
        const traces = byType(read, 'TRACE').map((m) => m['trace'] as { type: string; error?: { message: string; failure_type: string } });
        expect(traces.filter((t) => t.type === 'ERROR').map((t) => t.error?.failure_type)).toEqual(['config_error']);
        expect(byType(read, 'STATE')).toEqual([]);
      }
    } finally {
      server.close();
    }
  });
});

describe('discover', () => {
  it('API-key mode: keyed by response_id, cursor Date Submitted, the surveys stream; every password-mode column declared too', async () => {
    const api = await airbyte(['discover', '--config', apiConfig()]);
    const pw = await airbyte(['discover', '--config', passwordConfig()]);
    expect(api.code).toBe(0);
    expect(pw.code).toBe(0);
    const [responses, answers, surveys] = catalogStreams(api);
    expect(catalogStreams(api).map((s) => s['name'])).toEqual(['survey_responses', 'survey_answers', 'surveys']);
    expect(responses).toMatchObject({
      source_defined_primary_key: [['response_id'], ['survey_id']],
      default_cursor_field: ['Date Submitted'],
      supported_sync_modes: ['full_refresh', 'incremental'],
    });
    expect(answers).toMatchObject({
      source_defined_primary_key: [['response_id'], ['survey_id'], ['question']],
      default_cursor_field: ['Date Submitted'],
    });
    expect(surveys).toMatchObject({
      source_defined_primary_key: [['site_id'], ['id']],
      supported_sync_modes: ['full_refresh'],
      source_defined_cursor: false,
    });
    expect(surveys).not.toHaveProperty('default_cursor_field');
    // The switch of mode: a table made by password mode keeps every column; API-key mode adds its own.
    const pwColumns = declared(catalogStreams(pw)[0]!);
    const apiColumns = declared(responses!);
    expect(apiColumns).toEqual(expect.arrayContaining(pwColumns));
    expect(apiColumns.filter((c) => !pwColumns.includes(c)).sort()).toEqual(
      [
        'response_id',
        'is_complete',
        'recording_url',
        ...['How would you rate your experience today?', 'What could we do better?\n(optional)'].flatMap((q) => [
          `Comment for: ${q}`,
          `Sentiment for: ${q}`,
        ]),
        ...NPS_HEADER.slice(9).flatMap((q) => [`Tags for: ${q}`, `Comment for: ${q}`, `Sentiment for: ${q}`]),
      ].sort(),
    );
  });
});

describe('read', () => {
  it("reads every survey in API-key mode; its records fill the password-mode table's columns with the same values", async () => {
    const full = catalogOf(['survey_responses', 'full_refresh'], ['survey_answers', 'full_refresh'], ['surveys', 'full_refresh']);
    const api = await airbyte(['read', '--config', apiConfig(), '--catalog', full]);
    const pw = await airbyte(['read', '--config', passwordConfig(), '--catalog', full]);
    expect(api.code, api.stderr).toBe(0);
    expect(pw.code).toBe(0);
    const apiRecords = recordsOf(api, 'survey_responses');
    const pwRecords = recordsOf(pw, 'survey_responses');
    expect(apiRecords.map((x) => x['response_id'])).toEqual([...ids('111'), ...ids('222')]);
    expect(apiRecords).toHaveLength(pwRecords.length);
    pwRecords.forEach((p, i) => {
      const a = apiRecords[i]!;
      for (const [key, value] of Object.entries(p)) {
        if (key === 'Number') expect(a).not.toHaveProperty(key);
        else if (key === 'Country') expect(a[key]).toMatch(/^[A-Z]{2}$/);
        else expect(a[key], key).toEqual(value);
      }
    });
    expect(recordsOf(api, 'surveys').map((s) => [s['site_id'], s['id'], s['name']])).toEqual([
      [SITE, '111', 'Checkout'],
      [SITE, '222', 'NPS'],
    ]);
    expect(recordsOf(pw, 'surveys').map((s) => [s['site_id'], s['id'], s['name'], s['type (internal)']])).toEqual([
      [SITE, '111', 'Checkout', 'POPOVER'],
      [SITE, '222', 'NPS', 'POPOVER'],
    ]);
    // survey_answers rows are the same (question, answer, tags) in both modes, keyed differently.
    const strip = (x: Record<string, unknown>): unknown => [x['survey_id'], x['Date Submitted'], x['question'], x['answer'], x['tags']];
    expect(
      recordsOf(api, 'survey_answers')
        .filter((x) => x['answer'] !== null)
        .map(strip),
    ).toEqual(recordsOf(pw, 'survey_answers').map(strip));
    expect(statuses(api).filter((s) => s === 'COMPLETE')).toHaveLength(3);
  });

  it('reads incrementally: from the saved state, exactly the new responses (one in the saved second), paging stops early', async () => {
    const cat = catalogOf(['survey_responses', 'incremental']);
    const config = apiConfig();
    const first = await airbyte(['read', '--config', config, '--catalog', cat]);
    expect(records(first)).toHaveLength(139);
    const statePath = writeJson(dir, 'api-state.json', lastStates(first));
    const top = shared.get('111')!.rows[0]!;
    const later = checkoutRow(Number(top[0]) + 2, fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) + 60_000));
    const sameSecond = checkoutRow(Number(top[0]) + 1, top[2]!);
    official.addResponses('111', [later, sameSecond]);
    const before = official.count('responses');
    const second = await airbyte(['read', '--config', config, '--catalog', cat, '--state', statePath]);
    expect(second.code).toBe(0);
    expect(records(second).map((x) => x['response_id'])).toEqual([
      responseId('111', Number(top[0]) + 2),
      responseId('111', Number(top[0]) + 1),
    ]);
    expect(official.count('responses') - before).toBe(2); // one page per survey
    expect(streamState(second)['111']).toEqual({
      'Date Submitted': later[2]!.replace(' ', 'T'),
      response_ids: [responseId('111', Number(top[0]) + 2)],
    });
  });

  it('leaves out a listed survey whose id cannot go in a URL, with a WARN; the others are read, configured or discovered', async () => {
    shared.set('weird id/with slash', { header: [...NPS_HEADER], rows: generate(npsRow, 2), name: 'Odd' });
    try {
      for (const ids of [['111'], undefined]) {
        const r = await airbyte([
          'read',
          '--config',
          apiConfig(ids ? { survey_ids: ids } : {}),
          '--catalog',
          catalogOf(['survey_responses', 'incremental']),
        ]);
        expect(r.code, r.stdout.slice(-1500)).toBe(0);
        const surveys = new Set(recordsOf(r, 'survey_responses').map((x) => x['survey_id']));
        expect([...surveys].sort()).toEqual(ids ?? ['111', '222']);
        const warns = byType(r, 'LOG')
          .map((m) => m['log'] as { level: string; message: string })
          .filter((l) => l.level === 'WARN')
          .map((l) => l.message);
        expect(
          warns.some((w) =>
            /listed 1 survey of site 1234567 whose id the connector cannot use in a URL \("weird id\/with slash"\); it is left out/.test(w),
          ),
        ).toBe(true);
      }
    } finally {
      shared.delete('weird id/with slash');
    }
  });

  it('reads surveys in full when a catalog asks for it incrementally, saying so in a WARN', async () => {
    const r = await airbyte(['read', '--config', apiConfig(), '--catalog', catalogOf(['surveys', 'incremental'])]);
    expect(r.code).toBe(0);
    expect(recordsOf(r, 'surveys').map((s) => s['id'])).toEqual(['111', '222']);
    const warns = byType(r, 'LOG')
      .map((m) => m['log'] as { level: string; message: string })
      .filter((l) => l.level === 'WARN')
      .map((l) => l.message);
    expect(warns).toContain('The catalog asks for incremental sync of surveys, which supports full refresh only: it is read in full.');
  });

  it('auto-discovery: a survey created between runs is read by the next run, from start_date, in both modes', async () => {
    const cat = catalogOf(['survey_responses', 'incremental'], ['surveys', 'full_refresh']);
    const start = '2023-10-01T10:00:00Z';
    for (const config of [apiConfig({ start_date: start }), passwordConfig({ start_date: start })]) {
      shared.delete('333');
      const first = await airbyte(['read', '--config', config, '--catalog', cat]);
      expect(first.code, first.stdout.slice(-2000)).toBe(0);
      expect(recordsOf(first, 'surveys').map((s) => s['id'])).toEqual(['111', '222']);
      const statePath = writeJson(dir, 'auto-state.json', lastStates(first));
      shared.set('333', { header: [...NPS_HEADER], rows: generate(npsRow, 6, Date.UTC(2023, 9, 1, 8, 0, 0), 3600), name: 'Created later' });
      const second = await airbyte(['read', '--config', config, '--catalog', cat, '--state', statePath]);
      expect(second.code).toBe(0);
      expect(recordsOf(second, 'surveys').map((s) => s['id'])).toEqual(['111', '222', '333']);
      const read333 = recordsOf(second, 'survey_responses').filter((x) => x['survey_id'] === '333');
      // From start_date: 6 hourly responses from 08:00, so those of 10:00 to 13:00.
      expect(read333.map((x) => x['Date Submitted'])).toEqual([
        '2023-10-01T13:00:00',
        '2023-10-01T12:00:00',
        '2023-10-01T11:00:00',
        '2023-10-01T10:00:00',
      ]);
      expect(recordsOf(second, 'survey_responses').filter((x) => x['survey_id'] !== '333')).toEqual([]);
      expect(Object.keys(streamState(second)).sort()).toEqual(['111', '222', '333']);
    }
  });

  it('password mode without survey_ids: a survey list it cannot read is a config_error asking for survey_ids', async () => {
    sandbox.surveyListShape = 'odd';
    const r = await airbyte(['read', '--config', passwordConfig(), '--catalog', catalogOf(['survey_responses', 'incremental'])]);
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([
      expect.objectContaining({
        failure_type: 'config_error',
        message: expect.stringMatching(/shape the connector does not know .*survey_ids/),
      }),
    ]);
    sandbox.surveyListShape = 'list';
    const ok = await airbyte(['read', '--config', passwordConfig(), '--catalog', catalogOf(['survey_responses', 'incremental'])]);
    expect(ok.code).toBe(0);
    expect(records(ok)).toHaveLength(139);
  });
});

describe('faults in API-key mode (CLI)', () => {
  const cat = (): string => catalogOf(['survey_responses', 'incremental']);
  const all = (): string[] => [...ids('111'), ...ids('222')];

  it.each([
    ['429 with Retry-After', [{ kind: 'status', status: 429, retryAfter: '1' }]],
    [
      'a burst of 5xx',
      [
        { kind: 'status', status: 502 },
        { kind: 'status', status: 503 },
        { kind: 'status', status: 500 },
      ],
    ],
    ['token expiry mid-read', [{ kind: 'none' }, { kind: 'expire-token' }]],
    ['a page that fails half way', [{ kind: 'none' }, { kind: 'half-page' }]],
    ['an empty page with a cursor', [{ kind: 'none' }, { kind: 'empty-page' }]],
  ] as const)('rides out %s: every response exactly once, COMPLETE, exit 0', async (_what, faults) => {
    official.fault('responses', ...faults);
    const r = await airbyte(['read', '--config', apiConfig(), '--catalog', cat()]);
    expect(r.code, r.stdout.slice(-1500)).toBe(0);
    expect(records(r).map((x) => x['response_id'])).toEqual(all());
    expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
  });

  it('a cursor loop fails that survey (TRACE naming the cursor), reads the other, keeps its state; exit 1', async () => {
    official.fault('responses', { kind: 'none' }, { kind: 'cursor-loop' });
    const statePath = writeJson(dir, 'loop-state.json', {
      surveys: { '111': { 'Date Submitted': '2000-01-01T00:00:00', response_ids: ['old'] } },
    });
    const r = await airbyte(['read', '--config', apiConfig(), '--catalog', cat(), '--state', statePath]);
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([
      expect.objectContaining({
        failure_type: 'system_error',
        message: expect.stringMatching(/gave the cursor ".+" a second time while paging the responses of survey 111/),
      }),
    ]);
    expect(records(r).filter((x) => x['survey_id'] === '222')).toHaveLength(9);
    expect(streamState(r)['111']).toEqual({ 'Date Submitted': '2000-01-01T00:00:00', response_ids: ['old'] });
    expect(statuses(r).at(-1)).toBe('INCOMPLETE');
  });

  it('a refused key ends the read with a config_error naming the fix; nothing is emitted', async () => {
    official.fault('token', { kind: 'status', status: 401, body: '{"error":"invalid_client","error_description":"revoked"}' });
    const r = await airbyte(['read', '--config', apiConfig(), '--catalog', cat()]);
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([
      expect.objectContaining({ failure_type: 'config_error', message: expect.stringMatching(/Hotjar said: revoked\..*expire one year/) }),
    ]);
    expect(records(r)).toEqual([]);
  });
});

describe('tap-hotjar in API-key mode', () => {
  const tap = (args: string[]): Promise<RunResult> => runCli(args, { bin: TAP });

  it('discovers response_id keys and the surveys stream (FULL_TABLE, not selected by default)', async () => {
    const r = await tap(['--config', apiConfig(), '--discover']);
    expect(r.code, r.stderr).toBe(0);
    noLeaks(r);
    const catalog = JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
    expect(catalog.streams.map((s) => [s['tap_stream_id'], s['key_properties'], s['replication_method']])).toEqual([
      ['survey_responses', ['response_id', 'survey_id'], 'INCREMENTAL'],
      ['survey_answers', ['response_id', 'survey_id', 'question'], 'INCREMENTAL'],
      ['surveys', ['site_id', 'id'], 'FULL_TABLE'],
    ]);
    const meta = (catalog.streams[2]!['metadata'] as { breadcrumb: string[]; metadata: Record<string, unknown> }[])[0]!;
    expect(meta.metadata['selected-by-default']).toBe(false);
  });

  it('syncs without a catalog (the response streams), bookmarks by (date, response ids), then resumes with only the new', async () => {
    const config = apiConfig();
    const first = await tap(['--config', config]);
    expect(first.code, first.stderr).toBe(0);
    noLeaks(first);
    const out = checkSingerOutput(first.stdout);
    expect(out.schemas.map((s) => [s.stream, s.key_properties])).toEqual([
      ['survey_responses', ['response_id', 'survey_id']],
      ['survey_answers', ['response_id', 'survey_id', 'question']],
    ]);
    expect(out.recordMessages.filter((m) => m.stream === 'survey_responses').map((m) => m.record['response_id'])).toEqual([
      ...ids('111'),
      ...ids('222'),
    ]);
    const bookmarks = out.states.at(-1)!.bookmarks as Record<string, { surveys: Record<string, { response_ids: string[] }> }>;
    expect(bookmarks['survey_responses']!.surveys['222']!.response_ids).toEqual([ids('222')[0]]);
    const statePath = writeJson(dir, 'singer-state.json', out.states.at(-1));
    const top = shared.get('222')!.rows[0]!;
    official.addResponses('222', [npsRow(Number(top[0]) + 1, top[2]!)]);
    const second = await tap(['--config', config, '--state', statePath]);
    expect(second.code, second.stderr).toBe(0);
    const out2 = checkSingerOutput(second.stdout);
    expect(out2.recordMessages.filter((m) => m.stream === 'survey_responses').map((m) => m.record['response_id'])).toEqual([
      responseId('222', Number(top[0]) + 1),
    ]);
  });

  it('syncs the surveys stream when the catalog selects it', async () => {
    const config = apiConfig();
    const discovered = JSON.parse((await tap(['--config', config, '--discover'])).stdout) as {
      streams: { tap_stream_id: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[];
    };
    for (const s of discovered.streams) s.metadata[0]!.metadata['selected'] = s.tap_stream_id === 'surveys';
    const r = await tap(['--config', config, '--catalog', writeJson(dir, 'singer-cat.json', discovered)]);
    expect(r.code, r.stderr).toBe(0);
    const out = checkSingerOutput(r.stdout);
    expect(out.schemas.map((s) => [s.stream, s.key_properties, s.bookmark_properties])).toEqual([['surveys', ['site_id', 'id'], []]]);
    expect(out.records.map((x) => [x['id'], x['name']])).toEqual([
      ['111', 'Checkout'],
      ['222', 'NPS'],
    ]);
    expect(official.count('responses')).toBeGreaterThan(0); // from earlier tests; this run asked for none:
    const before = official.count('responses');
    await tap(['--config', config, '--catalog', writeJson(dir, 'singer-cat2.json', discovered)]);
    expect(official.count('responses')).toBe(before);
  });
});
