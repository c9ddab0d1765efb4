/**
 * tap-hotjar end to end: the built Singer entry point against the Hotjar stand-in over loopback HTTP, for
 * the process contract (discover, a sync, resume from the last STATE, CRITICAL on errors, usage errors).
 * Every sync's stdout goes through the Singer checker (what real targets enforce). Each test has its own
 * stand-in, so the tests run concurrently. The tap's rules (catalog selection, FULL_TABLE, state and
 * catalog files, a failed survey) run in-process in singer.inprocess.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { checkoutRow, fileDate, sampleSurveys } from '../devtools/stand-in/data.js';
import { ROOT, expectedRecord, runCli, standIn, writeJson, type RunResult, type StandIn } from './helpers.js';
import { checkSingerOutput, type CheckedOutput } from './singer-checker.js';

const TAP = join(ROOT, 'dist/singer/main.js');
const SITE = '1234567';
const STREAM = 'survey_responses';

/** This test's own stand-in with the sample surveys: 12 responses to checkout survey 111, 9 to NPS survey 222. */
async function sample(test: TestContext): Promise<
  StandIn & {
    tap: (args: string[]) => Promise<RunResult>;
    expectedFor: (id: string) => Record<string, unknown>[];
    newestCursor: (id: string) => string;
    sync: (args: string[]) => Promise<CheckedOutput & { run: RunResult }>;
  }
> {
  const env = await standIn(test, { siteId: SITE, surveys: sampleSurveys() }, { max_attempts: 2, max_retry_wait_seconds: 0.05 });
  const tap = (args: string[]): Promise<RunResult> => runCli(args, { bin: TAP });
  return {
    ...env,
    tap,
    expectedFor: (id) => env.survey(id).rows.map((r) => expectedRecord(env.survey(id).header, r, SITE, id)),
    newestCursor: (id) => env.survey(id).rows[0]![2]!.replace(' ', 'T'),
    /** A successful sync: exit 0, no secret printed, stdout passes the checker. */
    sync: async (args) => {
      const r = await tap(['--config', env.configPath, ...args]);
      expect(r.code, r.stderr).toBe(0);
      env.noLeaks(r);
      const out = checkSingerOutput(r.stdout);
      // survey_responses' records (the tap also syncs survey_answers when no catalog narrows it down).
      return {
        ...out,
        records: out.recordMessages.filter((m) => m.stream === STREAM).map((m) => m.record as Record<string, unknown>),
        run: r,
      };
    },
  };
}

function schemaFile(): Record<string, unknown> {
  const schema = JSON.parse(readFileSync(join(ROOT, 'catalog/survey_responses.json'), 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  return schema;
}

// Each test spawns its own tap runs against its own stand-in: they run concurrently.
describe.concurrent('tap-hotjar end to end', () => {
  describe('discover', () => {
    it('prints the Singer catalog as one JSON object', async (test) => {
      const { tap, configPath, survey, noLeaks } = await sample(test);
      const r = await tap(['--config', configPath, '--discover']);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      const base = schemaFile();
      const catalog = JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
      expect(catalog.streams.map((x) => x['tap_stream_id'])).toEqual([STREAM, 'survey_answers', 'surveys']);
      const entry = catalog.streams[0]!;
      expect(entry).toMatchObject({
        stream: STREAM,
        key_properties: ['Number', 'survey_id'],
        replication_key: 'Date Submitted',
        replication_method: 'INCREMENTAL',
      });
      const schema = entry['schema'] as { properties: Record<string, unknown>; additionalProperties: boolean };
      // Every fixed column, then every column of both surveys' exports, declared.
      for (const key of Object.keys(base['properties'] as object)) expect(schema.properties).toHaveProperty([key]);
      for (const id of ['111', '222']) for (const h of survey(id).header) expect(schema.properties).toHaveProperty([h]);
      expect(schema.additionalProperties).toBe(false);
      const automatic = ['Number', 'Date Submitted', 'survey_id'];
      const meta = entry['metadata'] as { breadcrumb: string[]; metadata: Record<string, unknown> }[];
      expect(meta[0]).toEqual({
        breadcrumb: [],
        metadata: {
          inclusion: 'available',
          'selected-by-default': true,
          'table-key-properties': ['Number', 'survey_id'],
          'valid-replication-keys': ['Date Submitted'],
        },
      });
      expect(meta.slice(1)).toEqual(
        Object.keys(schema.properties).map((p) => ({
          breadcrumb: ['properties', p],
          metadata: { inclusion: automatic.includes(p) ? 'automatic' : 'available' },
        })),
      );
      noLeaks(r);
    });
  });

  describe('sync', () => {
    it('without a catalog syncs every response, row for row, SCHEMA first and a STATE after each survey', async (test) => {
      const { sync, survey, expectedFor, newestCursor } = await sample(test);
      const out = await sync([]);
      expect(out.records).toEqual([...expectedFor('111'), ...expectedFor('222')]);
      // One SCHEMA per stream, before its records, declaring every column of the exports.
      expect(out.schemas.map((m) => m.stream)).toEqual([STREAM, 'survey_answers']);
      const declared = (out.schemas[0]!.schema as { properties: Record<string, unknown> }).properties;
      for (const h of survey('111').header) expect(declared).toHaveProperty([h]);
      expect(out.schemas[0]).toMatchObject({ key_properties: ['Number', 'survey_id'], bookmark_properties: ['Date Submitted'] });
      expect(out.run.stdout.split('\n')[0]).toContain('"type":"SCHEMA"');
      // Every STATE carries every stream's bookmark; the last holds each survey's newest date and highest Number.
      const top = (id: string): number => Number(survey(id).rows[0]![0]);
      const position = (id: string) => ({ 'Date Submitted': newestCursor(id), Number: top(id) });
      expect(out.states.at(-1)).toEqual({
        bookmarks: {
          [STREAM]: { surveys: { '111': position('111'), '222': position('222') } },
          survey_answers: { surveys: { '111': position('111'), '222': position('222') } },
        },
      });
      for (const m of out.recordMessages) {
        expect([STREAM, 'survey_answers']).toContain(m.stream);
        expect(m.time_extracted).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      }
      // The awkward sample values really went through the checker.
      const values = out.records.flatMap((d) => Object.values(d)).filter((v): v is string => typeof v === 'string');
      expect(values.some((v) => v.includes('\n'))).toBe(true);
      expect(values.some((v) => v.includes('日本語'))).toBe(true);
      // Logs and stream status are `LEVEL message` lines on stderr.
      expect(out.run.stderr).toMatch(/^INFO Reading survey 111 /m);
      expect(out.run.stderr).toMatch(/^INFO Stream survey_responses: COMPLETE$/m);
      for (const line of out.run.stderr.trim().split('\n')) expect(line).toMatch(/^(DEBUG|INFO|WARNING|ERROR|CRITICAL) /);
    });
  });

  describe('resume', () => {
    it('from the last STATE value: exactly the new responses (by Number), nothing else', async (test) => {
      const { sandbox, dir, sync, survey, expectedFor, newestCursor } = await sample(test);
      const first = await sync([]);
      expect(first.records).toHaveLength(expectedFor('111').length + expectedFor('222').length);
      const s111 = survey('111');
      const newest = s111.rows[0]!;
      const topNumber = Number(newest[0]);
      const sameSecond = checkoutRow(topNumber + 1, newest[2]!);
      const later = checkoutRow(topNumber + 3, fileDate(Date.parse(`${newest[2]!.replace(' ', 'T')}Z`) + 60_000));
      sandbox.addResponses('111', [later, sameSecond]); // this test's own stand-in
      const statePath = writeJson(dir, 'state.json', first.states.at(-1));
      const second = await sync(['--state', statePath]);
      // Exact by Number: the two new responses only, no repeat of the boundary second.
      expect(second.records).toEqual([
        expectedRecord(s111.header, later, SITE, '111'),
        expectedRecord(s111.header, sameSecond, SITE, '111'),
      ]);
      expect((second.states.at(-1)!.bookmarks as Record<string, unknown>)[STREAM]).toEqual({
        surveys: {
          '111': { 'Date Submitted': later[2]!.replace(' ', 'T'), Number: topNumber + 3 },
          '222': { 'Date Submitted': newestCursor('222'), Number: Number(survey('222').rows[0]![0]) },
        },
      });
    });
  });

  describe('errors', () => {
    it('a wrong password or an invalid config: exit 1, CRITICAL on stderr, nothing on stdout, password never printed', async (test) => {
      const { tap, config, noLeaks } = await sample(test);
      const password = 'not-the-password-XYZ';
      const wrong = config({ password });
      const invalid = config({ survey_ids: ['1/../2'] });
      const [login, invalidConfig] = await Promise.all([tap(['--config', wrong]), tap(['--config', invalid, '--discover'])]);
      for (const [r, text] of [
        [login, /^CRITICAL .*login/m],
        [invalidConfig, /^CRITICAL .*survey_ids/m],
      ] as const) {
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(text);
        noLeaks(r);
      }
      expect(login.stderr).not.toContain(password);
    });

    it('prints help on stderr for usage errors (exit 2), nothing on stdout; --help exits 0; --version prints the version', async (test) => {
      const { tap, configPath } = await sample(test);
      const usage = [
        [],
        ['--discover'],
        ['--config'],
        ['--config', configPath, 'extra'],
        ['--config', configPath, '--catalog', 'a', '--properties', 'b'],
        ['--config', configPath, '--config', configPath],
      ];
      const runs = await Promise.all([...usage, ['--help']].map((args) => tap(args)));
      for (const [i, args] of usage.entries()) {
        const r = runs[i]!;
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/Options:/);
      }
      const help = runs[usage.length]!;
      expect(help.code).toBe(0);
      expect(help.stdout).toBe('');
      expect(help.stderr).toMatch(/--discover/);
      const version = await runCli(['--version'], { bin: TAP, text: true });
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect([version.code, version.stdout, version.stderr]).toEqual([0, `tap-hotjar ${pkg.version}\n`, '']);
    });
  });
});

describe('checker', () => {
  const schema = {
    type: 'SCHEMA',
    stream: 's',
    schema: { type: 'object', properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } },
    key_properties: ['id'],
  };
  const state = { type: 'STATE', value: { bookmarks: {} } };
  const lines = (...messages: unknown[]): string => messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n') + '\n';
  const record = (r: Record<string, unknown>) => ({ type: 'RECORD', stream: 's', record: r, time_extracted: '2024-01-01T00:00:00Z' });

  it('passes a good stream and returns what it saw', () => {
    const out = checkSingerOutput(
      lines(schema, record({ id: 1, at: '2024-02-29T10:00:00' }), record({ id: 2, at: '2024-01-01T10:00:00+02:00' }), state),
    );
    expect(out.records).toEqual([
      { id: 1, at: '2024-02-29T10:00:00' },
      { id: 2, at: '2024-01-01T10:00:00+02:00' },
    ]);
    expect(out.states).toEqual([{ bookmarks: {} }]);
    expect(out.schemas).toHaveLength(1);
  });

  it('catches what a target would refuse', () => {
    const cases: [string, RegExp][] = [
      [lines(schema, 'not json', state), /not JSON/],
      [lines(record({ id: 1 }), state), /before any SCHEMA/],
      [lines(schema, record({ id: 'x' }), state), /does not match/],
      [lines(schema, record({ id: 1, at: '2023-02-29T00:00:00' }), state), /does not match/],
      [lines(schema, record({ at: '2024-01-01T00:00:00' }), state), /key property "id"/],
      [lines(schema, { ...record({ id: 1 }), time_extracted: '2024-01-01T00:00:00' }, state), /time_extracted/],
      [lines(schema, record({ id: 1 })), /last message is RECORD/],
      [lines(schema, { type: 'STATE', value: {} }), /bookmarks/],
      [lines({ ...schema, schema: { type: 'object', properties: { id: { const: 1 } } } }, state), /"const" is not Draft 4/],
      [lines({ ...schema, key_properties: ['nope'] }, state), /not in the schema's properties/],
      [lines(schema, state).slice(0, -1), /partial/],
      ['', /missing, not a STATE/],
    ];
    for (const [stdout, error] of cases) expect(() => checkSingerOutput(stdout), stdout).toThrow(error);
  });
});
