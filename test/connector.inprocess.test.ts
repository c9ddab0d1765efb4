/**
 * The Airbyte commands' rules, in-process: `check`, `discover` and `read` of src/airbyte run against the
 * stand-in over loopback HTTP, without a child process (see inprocess/entry.ts). Every message is
 * validated against the Airbyte protocol schema. Each test has its own stand-in. The process contract
 * (exit codes of the real bin, usage errors, the full read line by line) is in connector.test.ts.
 */
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { checkoutRow, fileDate, sampleSurveys } from '../devtools/stand-in/data.js';
import { airbyteEntry, type AirbyteArgs } from '../src/airbyte/cli.js';
import { runEntry } from './inprocess/entry.js';
import {
  ROOT,
  assertAllValid,
  expectNoLeaks,
  byType,
  catalog,
  errors,
  expectedRecord,
  lastStateFile,
  records,
  states,
  tempDir,
  writeJson,
  type RunResult,
} from './helpers.js';

vi.mock('node:worker_threads', async (original) => (await import('./inprocess/worker-threads.js')).withBuiltWorkers(await original()));

const SITE = '1234567';
let sandbox: HotjarSandbox;
let dir: string;
let configPath: string;
let catalogPath: string;

beforeEach(async () => {
  // The stand-in's sample surveys: 12 responses to checkout survey 111, 9 to NPS survey 222.
  sandbox = await new HotjarSandbox({ siteId: SITE, surveys: sampleSurveys() }).start();
  dir = tempDir();
  configPath = writeJson(dir, 'config.json', sandbox.config({ max_attempts: 2, max_retry_wait_seconds: 0.05 }));
  catalogPath = writeJson(dir, 'catalog.json', catalog('incremental'));
});
afterEach(async () => {
  await sandbox.stop();
});

async function run(command: 'check' | 'discover' | 'read', args: Omit<AirbyteArgs, '_'>): Promise<RunResult> {
  const r = await runEntry(airbyteEntry, { _: [command], ...args });
  assertAllValid(r);
  expectNoLeaks(sandbox, r);
  return r;
}

function expectedFor(surveyId: string): Record<string, unknown>[] {
  const s = sandbox.surveys.get(surveyId) as { header: string[]; rows: string[][] };
  return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
}

const connectionStatus = (r: RunResult): { status: string; message?: string } => {
  expect(r.code).toBe(0);
  expect(byType(r, 'CONNECTION_STATUS')).toHaveLength(1);
  return byType(r, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string; message?: string };
};

describe('check', () => {
  it('fails naming the field for an invalid config, before any request', async () => {
    const bad = writeJson(dir, 'bad-site.json', { ...sandbox.config(), site_id: '12/../34' });
    const s = connectionStatus(await run('check', { config: bad }));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('site_id');
    const missing = writeJson(dir, 'missing.json', { email: 'a@b.c', site_id: '1', survey_ids: ['1'] });
    const m = connectionStatus(await run('check', { config: missing }));
    expect(m.status).toBe('FAILED');
    expect(m.message).toContain('password');
    expect(sandbox.requests).toHaveLength(0);
  });

  it('fails for a wrong password, mentioning 2FA and SSO, after one login attempt', async () => {
    const r = await run('check', { config: writeJson(dir, 'wrong.json', sandbox.config({ password: 'not-the-password-XYZ' })) });
    const s = connectionStatus(r);
    expect(s.status).toBe('FAILED');
    expect(s.message).toMatch(/two-factor/);
    expect(s.message).toMatch(/SSO/);
    expect(r.stdout).not.toContain('not-the-password-XYZ');
    expect([sandbox.count('login'), sandbox.count('export')]).toEqual([1, 0]);
  });

  it('fails naming an unknown survey', async () => {
    const s = connectionStatus(
      await run('check', { config: writeJson(dir, 'unknown-survey.json', sandbox.config({ survey_ids: ['111', '999'] })) }),
    );
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('survey 999');
  });

  it('fails naming an unknown site', async () => {
    const s = connectionStatus(await run('check', { config: writeJson(dir, 'unknown-site.json', sandbox.config({ site_id: 42 })) }));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('site 42');
  });

  it('reports an outage as a transient TRACE error with exit 1, not FAILED, after the attempt budget', async () => {
    sandbox.fault('login', { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const r = await run('check', { config: configPath });
    expect(r.code).toBe(1);
    expect(byType(r, 'CONNECTION_STATUS')).toHaveLength(0);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('transient_error');
    expect(errs[0]!.message).toMatch(/login failed after 2 attempts; the last answer was HTTP 503/);
    expect(sandbox.count('login')).toBe(2);
  });
});

describe('discover', () => {
  it('fails naming the survey when one export cannot be read (config_error TRACE, exit 1)', async () => {
    const r = await run('discover', { config: writeJson(dir, 'unknown.json', sandbox.config({ survey_ids: ['111', '999'] })) });
    expect(r.code).toBe(1);
    expect(byType(r, 'CATALOG')).toHaveLength(0);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('config_error');
    expect(errs[0]!.message).toContain('survey 999');
  });

  // discover reads headers side by side (DISCOVER_CONCURRENCY): the calls share one login in flight, so a
  // wrong password is tried once (an account-lockout risk otherwise).
  it('logs in once for all surveys, and tries a wrong password once', async () => {
    const ok = await run('discover', { config: configPath });
    expect(ok.code).toBe(0);
    expect(sandbox.count('login')).toBe(1);
    const wrong = await run('discover', { config: writeJson(dir, 'wrong.json', sandbox.config({ password: 'not-the-password-XYZ' })) });
    expect(wrong.code).toBe(1);
    expect(sandbox.count('login')).toBe(2);
  });
});

describe('read', () => {
  it('syncs incrementally by Number: exactly the new responses, late arrivals included, no boundary repeat', async () => {
    const first = await run('read', { config: configPath, catalog: catalogPath });
    expect(first.code).toBe(0);
    expect(records(first)).toHaveLength(21);
    const cursors = (states(first).at(-1)!['stream'] as { stream_state: { surveys: Record<string, Record<string, string | number>> } })
      .stream_state.surveys;
    const survey = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const newest = survey.rows[0]!;
    expect(cursors['111']).toEqual({ 'Date Submitted': newest[2]!.replace(' ', 'T'), Number: Number(newest[0]) });

    // Three new responses: one later, one delivered late (dated a day before the cursor), one in the cursor's own second.
    const topNumber = Number(newest[0]);
    const at = Date.parse(`${newest[2]!.replace(' ', 'T')}Z`);
    const later = checkoutRow(topNumber + 3, fileDate(at + 60_000));
    const lateArrival = checkoutRow(topNumber + 2, fileDate(at - 86_400_000));
    const sameSecond = checkoutRow(topNumber + 1, newest[2]!);
    sandbox.addResponses('111', [later, lateArrival, sameSecond]);
    const second = await run('read', { config: configPath, catalog: catalogPath, state: lastStateFile(dir, first) });
    expect(second.code).toBe(0);
    expect(records(second)).toEqual([
      expectedRecord(survey.header, later, SITE, '111'),
      expectedRecord(survey.header, lateArrival, SITE, '111'),
      expectedRecord(survey.header, sameSecond, SITE, '111'),
    ]);
    const after = (states(second).at(-1)!['stream'] as { stream_state: { surveys: Record<string, Record<string, string | number>> } })
      .stream_state.surveys;
    expect(after['111']).toEqual({ 'Date Submitted': later[2]!.replace(' ', 'T'), Number: topNumber + 3 });
    expect(after['222']).toEqual(cursors['222']);
  });
});

describe('bad input', () => {
  const expectConfigTrace = (r: RunResult, text: RegExp): void => {
    expect(r.code).toBe(1);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('config_error');
    expect(errs[0]!.message).toMatch(text);
    expect(byType(r, 'RECORD')).toHaveLength(0);
  };

  it('reports an invalid config in discover and read as a config_error TRACE', async () => {
    const bad = writeJson(dir, 'bad.json', { ...sandbox.config(), survey_ids: ['1/../2'] });
    expectConfigTrace(await run('discover', { config: bad }), /survey_ids/);
    expectConfigTrace(await run('read', { config: bad, catalog: catalogPath }), /survey_ids/);
    expect(sandbox.requests).toHaveLength(0);
  });

  it('reports an unknown stream in the catalog', async () => {
    const cat = writeJson(dir, 'cat.json', catalog('incremental', 'heatmaps'));
    expectConfigTrace(await run('read', { config: configPath, catalog: cat }), /"heatmaps".*survey_responses/);
  });

  it('reports unreadable and invalid catalog and state files', async () => {
    expectConfigTrace(await run('read', { config: configPath, catalog: join(dir, 'nope.json') }), /does not exist/);
    const notJson = writeJson(dir, 'state.json', '{"surveys": ');
    expectConfigTrace(await run('read', { config: configPath, catalog: catalogPath, state: notJson }), /not valid JSON/);
    const badCursor = writeJson(dir, 'state2.json', { 'Date Submitted': 'yesterday' });
    expectConfigTrace(await run('read', { config: configPath, catalog: catalogPath, state: badCursor }), /not a date-time/);
    const locked = writeJson(dir, 'locked.json', '[]');
    chmodSync(locked, 0o000);
    if (process.getuid?.() !== 0) {
      expectConfigTrace(await run('read', { config: configPath, catalog: catalogPath, state: locked }), /permission/);
    }
    const wrongShape = writeJson(dir, 'cat.json', { streams: 'all' });
    expectConfigTrace(await run('read', { config: configPath, catalog: wrongShape }), /streams/);
    expect(sandbox.requests).toHaveLength(0);
  });
});

describe('integration_tests fixtures', () => {
  const fixture = (name: string): string => join(ROOT, 'integration_tests', name);
  const sampleConfig = (): string => {
    const cfg = JSON.parse(readFileSync(fixture('sample_config.json'), 'utf8')) as Record<string, unknown>;
    // The fixture points at the stand-in's default port (18080); this test's stand-in has its own port.
    return writeJson(dir, 'sample_config.json', { ...cfg, base_url: sandbox.apiUrl });
  };

  it('sample_config.json passes check; invalid_config.json fails it', async () => {
    const ok = connectionStatus(await run('check', { config: sampleConfig() }));
    expect(ok.status).toBe('SUCCEEDED');
    const s = connectionStatus(await run('check', { config: fixture('invalid_config.json') }));
    expect(s.status).toBe('FAILED');
    for (const field of ['password', 'site_id', 'survey_ids', 'base_url']) expect(s.message).toContain(field);
  });

  it('sample_state.json reads from its cursors on; abnormal_state.json reads nothing', async () => {
    const cfg = sampleConfig();
    const cat = fixture('configured_catalog.json');
    const r = await run('read', { config: cfg, catalog: cat, state: fixture('sample_state.json') });
    expect(r.code).toBe(0);
    const got = records(r);
    expect(got.length).toBeGreaterThan(0);
    const cursorOf = (d: Record<string, unknown>): string => (d['survey_id'] === '111' ? '2023-09-27T23:44:32' : '2023-10-01T12:00:00');
    for (const d of got) expect((d['Date Submitted'] as string) >= cursorOf(d)).toBe(true);
    expect(got).toEqual([...expectedFor('111'), ...expectedFor('222')].filter((d) => (d['Date Submitted'] as string) >= cursorOf(d)));
    const abnormal = await run('read', { config: cfg, catalog: cat, state: fixture('abnormal_state.json') });
    expect(abnormal.code).toBe(0);
    expect(records(abnormal)).toHaveLength(0);
    expect(states(abnormal).length).toBeGreaterThan(0);
  });
});
