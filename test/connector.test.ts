/**
 * The connector end to end: the built CLI against the Hotjar stand-in over loopback HTTP, for what only a
 * real process shows (exit codes, stdout line by line, usage errors). Every message printed is validated
 * against the official Airbyte protocol schema. Each test has its own stand-in, so the tests run concurrently. The commands' rules
 * (each check FAILED case, incremental reads, bad files) run in-process in connector.inprocess.test.ts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { describe, expect, it, type TestContext } from 'vitest';
import { SAMPLE_SITE_ID, sampleSurveys } from '../devtools/stand-in/data.js';
import {
  ROOT,
  assertAllValid,
  byType,
  catalog,
  errors,
  expectedAnswers,
  expectedRecord,
  recordsOf,
  runCli,
  standIn,
  states,
  statuses,
  writeJson,
  type RunResult,
  type StandIn,
} from './helpers.js';

const SITE = '1234567';

/** This test's own stand-in with the sample surveys: 12 responses to checkout survey 111, 9 to NPS survey 222. */
const sample = (test: TestContext): Promise<StandIn> =>
  standIn(test, { siteId: SITE, surveys: sampleSurveys() }, { max_attempts: 2, max_retry_wait_seconds: 0.05 });

// Each test spawns its own CLI runs against its own stand-in: they run concurrently.
describe.concurrent('source-hotjar end to end', () => {
  describe('spec', () => {
    it('prints one SPEC message whose connectionSpecification is spec.json; the package bin runs as an executable, shebang flags and all', async () => {
      const r = await runCli(['spec']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.messages).toHaveLength(1);
      assertAllValid(r);
      const spec = (r.messages[0]!['spec'] as Record<string, unknown>)['connectionSpecification'];
      expect(spec).toEqual(JSON.parse(readFileSync(join(ROOT, 'spec.json'), 'utf8')));
      const { stdout } = await promisify(execFile)(join(ROOT, 'dist/airbyte/main.js'), ['spec'], { encoding: 'utf8' });
      expect(stdout).toBe(r.stdout);
    });

    it("obeys Airbyte's acceptance rules for specs", () => {
      const spec = JSON.parse(readFileSync(join(ROOT, 'spec.json'), 'utf8')) as Record<string, unknown>;
      const text = JSON.stringify(spec);
      // CAT's test_forbidden_complex_types; oneOf is allowed, under test_oneof_usage's rules (below).
      for (const banned of ['"$ref"', '"anyOf"', '"allOf"', '"not"', '"if"', '"then"', '"else"', '"patternProperties"'])
        expect(text).not.toContain(banned);
      expect(spec['additionalProperties']).not.toBe(false);
      const props = spec['properties'] as Record<string, Record<string, unknown>>;
      expect(Object.keys(props)).toEqual(
        expect.arrayContaining(['credentials', 'email', 'password', 'site_id', 'survey_ids', 'start_date', 'base_url', 'api_base_url']),
      );
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
      const variants = credentials['oneOf'] as {
        type: string;
        title: string;
        properties: Record<string, Record<string, unknown>>;
        required: string[];
      }[];
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
    const status = (r: RunResult, noLeaks: StandIn['noLeaks']): { status: string; message?: string } => {
      expect(r.code).toBe(0);
      expect(r.messages.filter((m) => m.type === 'CONNECTION_STATUS')).toHaveLength(1);
      assertAllValid(r);
      noLeaks(r);
      return byType(r, 'CONNECTION_STATUS')[0]!['connectionStatus'] as { status: string; message?: string };
    };

    it('answers SUCCEEDED with good credentials and surveys, FAILED (exit 0) for a wrong password', async (test) => {
      const { sandbox, config, configPath, noLeaks } = await sample(test);
      const wrong = config({ password: 'not-the-password-XYZ' });
      const [good, bad] = await Promise.all([runCli(['check', '--config', configPath]), runCli(['check', '--config', wrong])]);
      expect(status(good, noLeaks).status).toBe('SUCCEEDED');
      // Both surveys were asked for; the wrong password never got past the login.
      expect(sandbox.count('export')).toBe(2);
      const s = status(bad, noLeaks);
      expect(s.status).toBe('FAILED');
      expect(s.message).toMatch(/two-factor/);
      expect(s.message).toMatch(/SSO/);
      expect(bad.stdout).not.toContain('not-the-password-XYZ');
    });

    it('warns about a config key it does not know, naming the one meant (a typo must not pass unnoticed)', async (test) => {
      const { config, noLeaks } = await sample(test);
      const r = await runCli(['check', '--config', config({ surveys_id: ['111'] })]);
      expect(status(r, noLeaks).status).toBe('SUCCEEDED');
      const logs = byType(r, 'LOG').map((m) => m['log'] as { level: string; message: string });
      expect(logs).toContainEqual({
        level: 'WARN',
        message: expect.stringMatching(
          /has key this connector does not know, ignored: "surveys_id" \(did you mean "survey_ids"\?\)/,
        ) as unknown,
      });
    });

    it('reports an outage (Hotjar unreachable) as a transient TRACE error with exit 1, not FAILED', async (test) => {
      const { config, noLeaks } = await sample(test);
      const bad = config({ base_url: 'http://127.0.0.1:9/api', max_attempts: 2, max_retry_wait_seconds: 0.01 });
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
      noLeaks(r);
    });
  });

  describe('discover', () => {
    it("publishes both streams; survey_responses declares every column of every survey's export", async (test) => {
      const { sandbox, configPath, survey, noLeaks } = await sample(test);
      const r = await runCli(['discover', '--config', configPath]);
      expect(r.code).toBe(0);
      assertAllValid(r);
      noLeaks(r);
      expect(r.messages).toHaveLength(1);
      const streams = (r.messages[0]!['catalog'] as { streams: Record<string, unknown>[] }).streams;
      expect(streams.map((s) => s['name'])).toEqual(['survey_responses', 'survey_answers', 'surveys']);
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
      const h111 = survey('111').header;
      const h222 = survey('222').header;
      for (const h of [...h111, ...h222]) expect(keys).toContain(h);
      expect(keys.indexOf(h111.at(-1)!)).toBeLessThan(keys.indexOf(h222.at(-1)!));
      for (const h of [...h111, ...h222])
        if (!['Number', 'Date Submitted'].includes(h))
          expect(schema['properties']![h]!['type']).toEqual(expect.arrayContaining(['null', 'string']));
      // Each header was read from its export (one download per survey).
      expect(sandbox.count('download')).toBe(2);
    });
  });

  describe('read', () => {
    it('reads both streams in full, row for row as in the source, every line valid; credentials never reach the download host', async (test) => {
      const { sandbox, dir, configPath, survey, noLeaks } = await sample(test);
      const cat = writeJson(dir, 'full.json', catalog('full_refresh', ['survey_responses', 'survey_answers']));
      const r = await runCli(['read', '--config', configPath, '--catalog', cat]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.endsWith('\n')).toBe(true);
      assertAllValid(r);
      noLeaks(r);
      const got = recordsOf(r, 'survey_responses');
      const rowsOf = (id: string): string[][] => survey(id).rows;
      expect(got).toEqual(['111', '222'].flatMap((id) => rowsOf(id).map((row) => expectedRecord(survey(id).header, row, SITE, id))));
      const answers = recordsOf(r, 'survey_answers');
      expect(answers).toEqual(
        ['111', '222'].flatMap((id) => rowsOf(id).flatMap((row) => expectedAnswers(survey(id).header, row, SITE, id))),
      );
      expect(byType(r, 'RECORD')).toHaveLength(got.length + answers.length);
      // The sample data holds every awkward case; make sure the comparison really covered them.
      const values = got.flatMap((d) => Object.values(d)).filter((v): v is string => typeof v === 'string');
      expect(values.some((v) => v.includes('\n'))).toBe(true);
      expect(values.some((v) => v.includes('"'))).toBe(true);
      expect(values.some((v) => v.includes(',') && !v.startsWith('http'))).toBe(true);
      expect(values.some((v) => v.includes('日本語'))).toBe(true);
      expect(got.some((d) => Object.values(d).includes(null))).toBe(true);
      expect(Object.keys(got[0]!)).toContain('What could we do better?\n(optional)');
      expect(answers.some((a) => a['tags'] !== null)).toBe(true);
      // Every record validates against its stream's schema (date-time without zone, as Airbyte means it).
      const ajv = new Ajv({ strict: false, formats: { 'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/ } });
      for (const [stream, data] of [
        ['survey_responses', got],
        ['survey_answers', answers],
      ] as const) {
        const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, `catalog/${stream}.json`), 'utf8')) as Record<string, unknown>);
        for (const d of data) expect(validate(d), `${stream}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
      // One STATE per stream after each survey, with counts; each stream's statuses in order.
      const countsOf = (stream: string): number[] =>
        states(r)
          .filter((s) => (s['stream'] as { stream_descriptor: { name: string } }).stream_descriptor.name === stream)
          .map((s) => (s['sourceStats'] as { recordCount: number }).recordCount);
      expect(countsOf('survey_responses')).toEqual([12, 9]);
      const answersOf = (id: string): number => answers.filter((a) => a['survey_id'] === id).length;
      expect(countsOf('survey_answers')).toEqual([answersOf('111'), answersOf('222')]);
      expect(statuses(r)).toEqual(['STARTED', 'STARTED', 'RUNNING', 'RUNNING', 'COMPLETE', 'COMPLETE']);
      // One download per survey (both streams from one pass), from another address, with no Hotjar credential.
      const downloads = sandbox.requests.filter((q) => q.endpoint === 'download');
      expect(downloads).toHaveLength(2);
      expect(downloads.every((d) => d.hadCredentials === false)).toBe(true);
      expect(new URL(sandbox.downloadOrigin).hostname).not.toBe(new URL(sandbox.apiUrl).hostname);
    });

    it('reads surveys side by side by default (max_concurrent_surveys): each survey in order, each STATE right after its last record, one login', async (test) => {
      const { sandbox, dir, config, survey } = await sample(test);
      // Exports take a while to build, so both surveys' passes are under way at once.
      sandbox.exportDelayMs = 150;
      // No max_concurrent_surveys in the config: the default (4).
      const r = await runCli([
        'read',
        '--config',
        config({ max_concurrent_surveys: undefined }),
        '--catalog',
        writeJson(dir, 'c.json', catalog('full_refresh')),
      ]);
      expect(r.code, r.stderr).toBe(0);
      assertAllValid(r);
      const got = recordsOf(r, 'survey_responses');
      for (const id of ['111', '222']) {
        expect(got.filter((d) => d['survey_id'] === id)).toEqual(
          survey(id).rows.map((row) => expectedRecord(survey(id).header, row, SITE, id)),
        );
      }
      // Each survey's STATE is the one that adds its position, with its own count, after its last record;
      // nothing of this survey comes between: only what the other survey, read at the same time, says
      // (its records, STATE, LOG and TRACE lines, progress).
      type State = { sourceStats: { recordCount: number }; stream: { stream_state: { surveys: Record<string, unknown> } } };
      const messages = r.messages;
      const surveyOf = (m: Record<string, unknown>): unknown =>
        ((m['record'] as { data?: Record<string, unknown> } | undefined)?.data ?? {})['survey_id'];
      const addedBy = new Map<string, number>();
      messages.forEach((m, i) => {
        if (m.type !== 'STATE') return;
        for (const id of Object.keys((m['state'] as State).stream.stream_state.surveys)) if (!addedBy.has(id)) addedBy.set(id, i);
      });
      for (const [id, count] of [
        ['111', 12],
        ['222', 9],
      ] as const) {
        const last = messages.findLastIndex((m) => m.type === 'RECORD' && surveyOf(m) === id);
        const at = addedBy.get(id)!;
        expect(at, id).toBeGreaterThan(last);
        expect((messages[at]!['state'] as State).sourceStats.recordCount).toBe(count);
        const between = messages.slice(last + 1, at);
        expect(
          between.filter((m) => JSON.stringify(m).includes(`"${id}"`) || JSON.stringify(m).includes(`survey ${id}`)),
          id,
        ).toEqual([]);
        // The survey's summary LOG comes after its STATE.
        const summary = messages.findIndex((m) => m.type === 'LOG' && JSON.stringify(m).includes(`Survey ${id}: `));
        expect(summary, id).toBeGreaterThan(at);
      }
      expect(states(r)).toHaveLength(2);
      expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      // Both exports were asked for before either was answered; the session was shared.
      const exportsAt = sandbox.requests.map((q, i) => (q.endpoint === 'export' ? i : -1)).filter((i) => i >= 0);
      const firstDownload = sandbox.requests.findIndex((q) => q.endpoint === 'download');
      expect(exportsAt).toHaveLength(2);
      expect(exportsAt[1]).toBeLessThan(firstDownload);
      expect(sandbox.requests.filter((q) => q.endpoint === 'login')).toHaveLength(1);
    });
  });

  describe('bad input', () => {
    it('reports an invalid config and a missing catalog file as a config_error TRACE with exit 1', async (test) => {
      const { sandbox, dir, config, configPath, noLeaks } = await sample(test);
      const bad = config({ survey_ids: ['1/../2'] });
      const runs = await Promise.all([
        runCli(['discover', '--config', bad]),
        runCli(['read', '--config', configPath, '--catalog', join(dir, 'nope.json')]),
      ]);
      for (const [r, text] of [
        [runs[0], /survey_ids/],
        [runs[1], /does not exist/],
      ] as const) {
        expect(r.code).toBe(1);
        assertAllValid(r);
        const errs = errors(r);
        expect(errs).toHaveLength(1);
        expect(errs[0]!.failure_type).toBe('config_error');
        expect(errs[0]!.message).toMatch(text);
        noLeaks(r);
      }
      expect(sandbox.requests).toHaveLength(0);
    });

    it('prints help on stderr for usage errors (exit 2), nothing on stdout; --help on any command exits 0', async (test) => {
      const { configPath } = await sample(test);
      const usage = [
        [],
        ['frobnicate'],
        ['check'],
        ['read', '--config', configPath],
        ['check', '--config', configPath, '--config', configPath],
      ];
      const help = [['--help'], ['read', '--help'], ['check', '-h']];
      const runs = await Promise.all([...usage, ...help].map((args) => runCli(args)));
      for (const [i, args] of [...usage, ...help].entries()) {
        const r = runs[i]!;
        expect(r.code, args.join(' ')).toBe(i < usage.length ? 2 : 0);
        expect(r.stdout, args.join(' ')).toBe('');
        expect(r.stderr).toMatch(/Options:/);
      }
      expect(runs[4]!.stderr).toMatch(/--config is given more than once; give it once\./);
    });
  });

  describe('integration_tests fixtures', () => {
    it("expected_records.jsonl is the stand-in's sample surveys, mapped", () => {
      const lines = readFileSync(join(ROOT, 'integration_tests', 'expected_records.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { stream: string; data: unknown });
      const want = [...sampleSurveys()].flatMap(([id, s]) => s.rows.map((row) => expectedRecord(s.header, row, SAMPLE_SITE_ID, id)));
      expect(lines.map((l) => l.stream)).toEqual(want.map(() => 'survey_responses'));
      expect(lines.map((l) => l.data)).toEqual(want);
    });
  });
});
