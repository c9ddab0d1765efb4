/**
 * The connector end to end: the built CLI against the Hotjar stand-in over loopback HTTP.
 * Every message printed is validated against the official Airbyte protocol schema.
 */
import { readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { CHECKOUT_HEADER, NPS_HEADER, SAMPLE_SITE_ID, checkoutRow, fileDate, generate, npsRow, sampleSurveys } from '../devtools/stand-in/data.js';
import {
  ROOT,
  assertAllValid,
  byType,
  catalog,
  errors,
  expectedRecord,
  records,
  runCli,
  states,
  statuses,
  tempDir,
  writeJson,
  lastStateFile,
  type RunResult,
} from './helpers.js';

const SITE = '1234567';
let sandbox: HotjarSandbox;
let dir: string;
let configPath: string;
let catalogPath: string;
let fullCatalogPath: string;

function freshSurveys(): Map<string, { header: string[]; rows: string[][] }> {
  return new Map([
    ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 12) }],
    ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 9, Date.UTC(2023, 9, 1, 8, 0, 0), 3600) }],
  ]);
}

function expectedFor(surveyId: string): Record<string, unknown>[] {
  const s = sandbox.surveys.get(surveyId) as { header: string[]; rows: string[][] };
  return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
}

function noSecrets(result: RunResult): void {
  expect(result.stdout).not.toContain(sandbox.password);
  expect(result.stderr).not.toContain(sandbox.password);
}

beforeAll(async () => {
  sandbox = await new HotjarSandbox({ siteId: SITE, surveys: freshSurveys() }).start();
  dir = tempDir();
  configPath = writeJson(dir, 'config.json', sandbox.config({ max_attempts: 2, max_retry_wait_seconds: 0.05 }));
  catalogPath = writeJson(dir, 'catalog.json', catalog('incremental'));
  fullCatalogPath = writeJson(dir, 'full.json', catalog('full_refresh'));
});

afterAll(async () => {
  await sandbox.stop();
});

describe('spec', () => {
  it('prints one SPEC message whose connectionSpecification is spec.json', async () => {
    const r = await runCli(['spec']);
    expect(r.code).toBe(0);
    expect(r.messages).toHaveLength(1);
    assertAllValid(r);
    const spec = (r.messages[0]!['spec'] as Record<string, unknown>)['connectionSpecification'];
    expect(spec).toEqual(JSON.parse(readFileSync(join(ROOT, 'spec.json'), 'utf8')));
  });

  it('runs as an executable (the package bin), shebang flags and all', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(join(ROOT, 'dist/airbyte/main.js'), ['spec'], { encoding: 'utf8' });
    expect((JSON.parse(out.trim()) as { type: string }).type).toBe('SPEC');
  });

  it("obeys Airbyte's acceptance rules for specs", () => {
    const spec = JSON.parse(readFileSync(join(ROOT, 'spec.json'), 'utf8')) as Record<string, unknown>;
    const text = JSON.stringify(spec);
    // CAT's test_forbidden_complex_types; oneOf is allowed, under test_oneof_usage's rules (below).
    for (const banned of ['"$ref"', '"anyOf"', '"allOf"', '"not"', '"if"', '"then"', '"else"', '"patternProperties"']) expect(text).not.toContain(banned);
    expect(spec['additionalProperties']).not.toBe(false);
    const props = spec['properties'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['credentials', 'email', 'password', 'site_id', 'survey_ids', 'start_date', 'base_url', 'api_base_url']));
    for (const [name, prop] of Object.entries(props)) {
      const type = prop['type'];
      const single = typeof type === 'string' || (Array.isArray(type) && type.length === 2 && type.includes('null'));
      expect(single, `${name} has a single type`).toBe(true);
      expect(prop['title'], `${name} has a title`).toBeTypeOf('string');
      expect(prop['description'], `${name} has a description`).toBeTypeOf('string');
      expect(prop['additionalProperties'], name).not.toBe(false);
    }
    expect(props['password']!['airbyte_secret']).toBe(true);
    // Either credentials or the legacy top-level email/password: a rule the config loader checks.
    expect(spec['required']).toEqual(['site_id']);
    // test_oneof_usage: every oneOf sits in an object, each variant an object with properties, exactly one
    // common property with `const` in every variant; the variants' secrets are marked (test_secret_is_properly_marked).
    expect(text.match(/"oneOf"/g)).toHaveLength(1);
    const credentials = props['credentials']!;
    expect(credentials['type']).toBe('object');
    const variants = credentials['oneOf'] as { type: string; title: string; properties: Record<string, Record<string, unknown>>; required: string[] }[];
    expect(variants.map((v) => v.title)).toEqual(['API key', 'Email and password']);
    const common = Object.keys(variants[0]!.properties).filter((k) => variants.every((v) => k in v.properties));
    expect(common.filter((k) => variants.every((v) => 'const' in v.properties[k]!))).toEqual(['auth_type']);
    expect(variants.map((v) => v.properties['auth_type']!['const'])).toEqual(['api_key', 'password']);
    for (const v of variants) {
      expect(v.type).toBe('object');
      expect(v.required).toEqual(['auth_type', ...Object.keys(v.properties).filter((k) => k !== 'auth_type')]);
      expect(new Set(Object.values(v.properties).map((p) => p['order'])).size, v.title).toBe(Object.keys(v.properties).length);
    }
    expect(variants[0]!.properties['client_secret']!['airbyte_secret']).toBe(true);
    expect(variants[1]!.properties['password']!['airbyte_secret']).toBe(true);
    expect(variants[0]!.properties['client_id']!['airbyte_secret']).toBeUndefined();
    // test_duplicate_order at the top level.
    const orders = Object.values(props).map((p) => p['order']);
    expect(new Set(orders).size).toBe(orders.length);
  });
});

describe('check', () => {
  const status = (r: RunResult): { status: string; message?: string } => {
    expect(r.code).toBe(0);
    expect(r.messages.filter((m) => m.type === 'CONNECTION_STATUS')).toHaveLength(1);
    assertAllValid(r);
    noSecrets(r);
    return byType(r, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string; message?: string };
  };

  it('succeeds with good credentials and surveys', async () => {
    const exportsBefore = sandbox.count('export');
    const s = status(await runCli(['check', '--config', configPath]));
    expect(s.status).toBe('SUCCEEDED');
    expect(sandbox.count('export') - exportsBefore).toBe(2);
  });

  it('fails naming the field for an invalid config', async () => {
    const bad = writeJson(dir, 'bad-site.json', { ...sandbox.config(), site_id: '12/../34' });
    const s = status(await runCli(['check', '--config', bad]));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('site_id');
    const missing = writeJson(dir, 'missing.json', { email: 'a@b.c', site_id: '1', survey_ids: ['1'] });
    const m = status(await runCli(['check', '--config', missing]));
    expect(m.message).toContain('password');
  });

  it('fails for a wrong password, mentioning 2FA and SSO', async () => {
    const bad = writeJson(dir, 'wrong.json', sandbox.config({ password: 'not-the-password-XYZ' }));
    const r = await runCli(['check', '--config', bad]);
    const s = status(r);
    expect(s.status).toBe('FAILED');
    expect(s.message).toMatch(/two-factor/);
    expect(s.message).toMatch(/SSO/);
    expect(r.stdout).not.toContain('not-the-password-XYZ');
  });

  it('fails naming an unknown survey', async () => {
    const bad = writeJson(dir, 'unknown-survey.json', sandbox.config({ survey_ids: ['111', '999'] }));
    const s = status(await runCli(['check', '--config', bad]));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('survey 999');
  });

  it('fails naming an unknown site', async () => {
    const bad = writeJson(dir, 'unknown-site.json', sandbox.config({ site_id: 42 }));
    const s = status(await runCli(['check', '--config', bad]));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('site 42');
  });

  it('reports an outage (Hotjar unreachable) as a transient TRACE error with exit 1, not FAILED', async () => {
    const bad = writeJson(dir, 'unreachable.json', sandbox.config({ base_url: 'http://127.0.0.1:9/api', max_attempts: 2, max_retry_wait_seconds: 0.01 }));
    const r = await runCli(['check', '--config', bad]);
    expect(r.code).toBe(1);
    assertAllValid(r);
    expect(r.messages.some((m) => m.type === 'CONNECTION_STATUS')).toBe(false);
    const traces = r.messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    const error = (traces[0]!['trace'] as { error: { message: string; failure_type: string } }).error;
    expect(error.failure_type).toBe('transient_error');
    expect(error.message).toMatch(/login failed after 2 attempts/);
    expect(error.message).toContain('ECONNREFUSED');
  });
});

describe('discover', () => {
  it("publishes both streams; survey_responses declares every column of every survey's export", async () => {
    const downloadsBefore = sandbox.count('download');
    const r = await runCli(['discover', '--config', configPath]);
    expect(r.code).toBe(0);
    assertAllValid(r);
    expect(r.messages).toHaveLength(1);
    const streams = (r.messages[0]!['catalog'] as { streams: Record<string, unknown>[] }).streams;
    expect(streams.map((s) => s['name'])).toEqual(['survey_responses', 'survey_answers', 'surveys']);
    expect(streams[2]).toMatchObject({ supported_sync_modes: ['full_refresh'], source_defined_cursor: false, source_defined_primary_key: [['site_id'], ['id']] });
    expect(streams[0]).toMatchObject({
      supported_sync_modes: ['full_refresh', 'incremental'],
      source_defined_cursor: true,
      default_cursor_field: ['Date Submitted'],
      source_defined_primary_key: [['Number'], ['survey_id']],
    });
    expect(streams[1]).toMatchObject({ source_defined_primary_key: [['Number'], ['survey_id'], ['question']] });
    const schema = streams[0]!['json_schema'] as Record<string, Record<string, Record<string, unknown>>>;
    expect(schema['additionalProperties']).toBe(false);
    expect(schema['properties']!['Date Submitted']).toMatchObject({ format: 'date-time', airbyte_type: 'timestamp_without_timezone' });
    expect(schema['properties']!['Number']!['type']).toBe('integer');
    // The union in a stable order: fixed columns, then survey 111's header, then survey 222's new ones.
    const keys = Object.keys(schema['properties']!);
    const h111 = (sandbox.surveys.get('111') as { header: string[] }).header;
    const h222 = (sandbox.surveys.get('222') as { header: string[] }).header;
    for (const h of [...h111, ...h222]) expect(keys).toContain(h);
    expect(keys.indexOf(h111.at(-1)!)).toBeLessThan(keys.indexOf(h222.at(-1)!));
    for (const h of [...h111, ...h222]) if (!['Number', 'Date Submitted'].includes(h)) expect(schema['properties']![h]!['type']).toEqual(expect.arrayContaining(['null', 'string']));
    // Each header was read from its export (one download per survey).
    expect(sandbox.count('download') - downloadsBefore).toBe(2);
  });

  it('fails naming the survey when one export cannot be read', async () => {
    const bad = writeJson(tempDir(), 'unknown.json', sandbox.config({ survey_ids: ['111', '999'] }));
    const r = await runCli(['discover', '--config', bad]);
    expect(r.code).toBe(1);
    assertAllValid(r);
    const error = (r.messages.find((m) => m.type === 'TRACE')!['trace'] as { error: { message: string; failure_type: string } }).error;
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain('survey 999');
  });
});

describe('read', () => {
  it('reads two surveys in full, row for row as in the source', async () => {
    const r = await runCli(['read', '--config', configPath, '--catalog', fullCatalogPath]);
    expect(r.code).toBe(0);
    assertAllValid(r);
    noSecrets(r);
    const got = records(r);
    expect(got).toEqual([...expectedFor('111'), ...expectedFor('222')]);
    // The sample data holds every awkward case; make sure the comparison really covered them.
    const values = got.flatMap((d) => Object.values(d)).filter((v): v is string => typeof v === 'string');
    expect(values.some((v) => v.includes('\n'))).toBe(true);
    expect(values.some((v) => v.includes('"'))).toBe(true);
    expect(values.some((v) => v.includes(',') && !v.startsWith('http'))).toBe(true);
    expect(values.some((v) => v.includes('日本語'))).toBe(true);
    expect(got.some((d) => Object.values(d).includes(null))).toBe(true);
    expect(Object.keys(got[0]!)).toContain('What could we do better?\n(optional)');
    // Every record validates against the discovered schema (date-time without zone, as Airbyte means it).
    const schema = JSON.parse(readFileSync(join(ROOT, 'catalog/survey_responses.json'), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/ } });
    const validate = ajv.compile(schema);
    for (const d of got) expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    // One STATE after each survey, with counts; stream status in order.
    expect(states(r).map((s) => (s['sourceStats'] as { recordCount: number }).recordCount)).toEqual([12, 9]);
    expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
  });

  it('never sends Hotjar credentials to the download host, which is another address', async () => {
    const before = sandbox.requests.length;
    const r = await runCli(['read', '--config', configPath, '--catalog', fullCatalogPath]);
    expect(r.code).toBe(0);
    // Only this read's requests: one download per survey.
    const downloads = sandbox.requests.slice(before).filter((q) => q.endpoint === 'download');
    expect(downloads).toHaveLength(2);
    expect(downloads.every((d) => d.hadCredentials === false)).toBe(true);
    expect(new URL(sandbox.downloadOrigin).hostname).not.toBe(new URL(sandbox.apiUrl).hostname);
  });

  it('syncs incrementally by Number: exactly the new responses, late arrivals included, no boundary repeat', async () => {
    const d = tempDir();
    const first = await runCli(['read', '--config', configPath, '--catalog', catalogPath]);
    expect(first.code).toBe(0);
    assertAllValid(first);
    expect(records(first)).toHaveLength(21);
    const state = states(first).at(-1)!;
    const cursors = (state['stream'] as { stream_state: { surveys: Record<string, Record<string, string | number>> } }).stream_state.surveys;
    const survey = sandbox.surveys.get('111') as { rows: string[][] };
    const newest = survey.rows[0]!;
    expect(cursors['111']).toEqual({ 'Date Submitted': newest[2]!.replace(' ', 'T'), Number: Number(newest[0]) });

    // Three new responses: one later, one delivered late (dated a day before the cursor), one in the cursor's own second.
    const topNumber = Number(newest[0]);
    const at = Date.parse(`${newest[2]!.replace(' ', 'T')}Z`);
    const later = checkoutRow(topNumber + 3, fileDate(at + 60_000));
    const lateArrival = checkoutRow(topNumber + 2, fileDate(at - 86_400_000));
    const sameSecond = checkoutRow(topNumber + 1, newest[2]!);
    sandbox.addResponses('111', [later, lateArrival, sameSecond]);
    const statePath = lastStateFile(d, first);
    let second: Awaited<ReturnType<typeof runCli>>;
    try {
      second = await runCli(['read', '--config', configPath, '--catalog', catalogPath, '--state', statePath]);
    } finally {
      survey.rows.splice(0, 3); // this test's own responses: later tests see the stand-in as it was
    }
    expect(second.code).toBe(0);
    assertAllValid(second);
    const s111 = sandbox.surveys.get('111') as { header: string[] };
    expect(records(second)).toEqual([
      expectedRecord(s111.header, later, SITE, '111'),
      expectedRecord(s111.header, lateArrival, SITE, '111'),
      expectedRecord(s111.header, sameSecond, SITE, '111'),
    ]);
    const after = (states(second).at(-1)!['stream'] as { stream_state: { surveys: Record<string, Record<string, string | number>> } }).stream_state.surveys;
    expect(after['111']).toEqual({ 'Date Submitted': later[2]!.replace(' ', 'T'), Number: topNumber + 3 });
    expect(after['222']).toEqual(cursors['222']);
  });

});

describe('bad input', () => {
  const expectConfigTrace = (r: RunResult, text: RegExp): void => {
    expect(r.code).toBe(1);
    assertAllValid(r);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('config_error');
    expect(errs[0]!.message).toMatch(text);
    noSecrets(r);
  };

  it('reports an invalid config in discover and read as a config_error TRACE', async () => {
    // (An empty survey_ids is valid since issue 10: every survey of the site.)
    const bad = writeJson(tempDir(), 'bad.json', { ...sandbox.config(), survey_ids: ['1/../2'] });
    expectConfigTrace(await runCli(['discover', '--config', bad]), /survey_ids/);
    expectConfigTrace(await runCli(['read', '--config', bad, '--catalog', catalogPath]), /survey_ids/);
  });

  it('reports an unknown stream in the catalog', async () => {
    const cat = writeJson(tempDir(), 'cat.json', catalog('incremental', 'heatmaps'));
    expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', cat]), /"heatmaps".*survey_responses/);
  });

  it('reports unreadable and invalid catalog and state files', async () => {
    const d = tempDir();
    expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', join(d, 'nope.json')]), /does not exist/);
    const notJson = writeJson(d, 'state.json', '{"surveys": ');
    expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', catalogPath, '--state', notJson]), /not valid JSON/);
    const badCursor = writeJson(d, 'state2.json', { 'Date Submitted': 'yesterday' });
    expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', catalogPath, '--state', badCursor]), /not a date-time/);
    const locked = writeJson(d, 'locked.json', '[]');
    chmodSync(locked, 0o000);
    if (process.getuid?.() !== 0) {
      expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', catalogPath, '--state', locked]), /permission/);
    }
    const wrongShape = writeJson(d, 'cat.json', { streams: 'all' });
    expectConfigTrace(await runCli(['read', '--config', configPath, '--catalog', wrongShape]), /streams/);
  });

  it('prints help on stderr for usage errors (exit 2), nothing on stdout; --help on any command exits 0', async () => {
    for (const args of [[], ['frobnicate'], ['check'], ['read', '--config', configPath]]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/Options:/);
    }
    for (const args of [['--help'], ['read', '--help'], ['check', '-h']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/Options:/);
    }
  });
});

describe('integration_tests fixtures', () => {
  const fixture = (name: string): string => join(ROOT, 'integration_tests', name);
  const sampleConfig = (): string => {
    const cfg = JSON.parse(readFileSync(fixture('sample_config.json'), 'utf8')) as Record<string, unknown>;
    // The fixture points at the stand-in's default port (18080); this suite's stand-in has its own port.
    return writeJson(tempDir(), 'sample_config.json', { ...cfg, base_url: sandbox.apiUrl });
  };

  it("expected_records.jsonl is the stand-in's sample surveys, mapped", () => {
    const lines = readFileSync(fixture('expected_records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stream: string; data: unknown });
    const want = [...sampleSurveys()].flatMap(([id, survey]) => survey.rows.map((row) => expectedRecord(survey.header, row, SAMPLE_SITE_ID, id)));
    expect(lines.map((l) => l.stream)).toEqual(want.map(() => 'survey_responses'));
    expect(lines.map((l) => l.data)).toEqual(want);
  });

  it('sample_config.json passes check; invalid_config.json fails it', async () => {
    const ok = await runCli(['check', '--config', sampleConfig()]);
    assertAllValid(ok);
    expect((byType(ok, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string }).status).toBe('SUCCEEDED');
    const bad = await runCli(['check', '--config', fixture('invalid_config.json')]);
    assertAllValid(bad);
    const s = byType(bad, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string; message: string };
    expect(s.status).toBe('FAILED');
    for (const field of ['password', 'site_id', 'survey_ids', 'base_url']) expect(s.message).toContain(field);
  });

  it('sample_state.json reads from its cursors on; abnormal_state.json reads nothing', async () => {
    const cfg = sampleConfig();
    const cat = fixture('configured_catalog.json');
    const r = await runCli(['read', '--config', cfg, '--catalog', cat, '--state', fixture('sample_state.json')]);
    expect(r.code).toBe(0);
    assertAllValid(r);
    const got = records(r);
    expect(got.length).toBeGreaterThan(0);
    for (const d of got) {
      const cursor = d['survey_id'] === '111' ? '2023-09-27T23:44:32' : '2023-10-01T12:00:00';
      expect(d['Date Submitted'] as string >= cursor).toBe(true);
    }
    const expected = [...expectedFor('111'), ...expectedFor('222')].filter(
      (d) => (d['Date Submitted'] as string) >= (d['survey_id'] === '111' ? '2023-09-27T23:44:32' : '2023-10-01T12:00:00'),
    );
    expect(got).toEqual(expected);
    const abnormal = await runCli(['read', '--config', cfg, '--catalog', cat, '--state', fixture('abnormal_state.json')]);
    expect(abnormal.code).toBe(0);
    assertAllValid(abnormal);
    expect(records(abnormal)).toHaveLength(0);
    expect(states(abnormal).length).toBeGreaterThan(0);
  });
});
