/**
 * tap-hotjar end to end: the built Singer entry point against the Hotjar stand-in over loopback HTTP.
 * Every sync's stdout goes through the Singer checker (what real targets enforce).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, fileDate, generate, npsRow } from '../devtools/stand-in/data.js';
import { ROOT, expectedRecord, runCli, tempDir, writeJson, type RunResult } from './helpers.js';
import { checkSingerOutput, type CheckedOutput } from './singer-checker.js';

const TAP = join(ROOT, 'dist/singer/main.js');
const SITE = '1234567';
const STREAM = 'survey_responses';
let sandbox: HotjarSandbox;
let dir: string;
let configPath: string;

const tap = (args: string[]): Promise<RunResult> => runCli(args, { bin: TAP });

function expectedFor(surveyId: string): Record<string, unknown>[] {
  const s = sandbox.surveys.get(surveyId) as { header: string[]; rows: string[][] };
  return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
}

const newestCursor = (surveyId: string): string => (sandbox.surveys.get(surveyId) as { rows: string[][] }).rows[0]![2]!.replace(' ', 'T');

function noSecrets(r: RunResult): void {
  expect(r.stdout).not.toContain(sandbox.password);
  expect(r.stderr).not.toContain(sandbox.password);
}

/** A successful sync: exit 0, stdout passes the checker. */
async function sync(args: string[]): Promise<CheckedOutput & { run: RunResult }> {
  const r = await tap(['--config', configPath, ...args]);
  expect(r.code, r.stderr).toBe(0);
  noSecrets(r);
  const out = checkSingerOutput(r.stdout);
  // survey_responses' records (the tap also syncs survey_answers when no catalog narrows it down).
  return { ...out, records: out.recordMessages.filter((m) => m.stream === STREAM).map((m) => m.record as Record<string, unknown>), run: r };
}

function schemaFile(): Record<string, unknown> {
  const schema = JSON.parse(readFileSync(join(ROOT, 'catalog/survey_responses.json'), 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  return schema;
}

async function discovered(): Promise<{ streams: Record<string, unknown>[] }> {
  const r = await tap(['--config', configPath, '--discover']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
}

/** The discovered catalog with the stream's breadcrumb [] metadata changed. */
async function catalogWith(root: Record<string, unknown>, entry: Record<string, unknown> = {}): Promise<string> {
  const catalog = await discovered();
  const stream = catalog.streams[0]! as { metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] };
  const meta = stream.metadata.find((m) => m.breadcrumb.length === 0)!;
  Object.assign(meta.metadata, root);
  Object.assign(stream, entry);
  return writeJson(tempDir(), 'catalog.json', catalog);
}

beforeAll(async () => {
  sandbox = await new HotjarSandbox({
    siteId: SITE,
    surveys: new Map([
      ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 12) }],
      ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 9, Date.UTC(2023, 9, 1, 8, 0, 0), 3600) }],
    ]),
  }).start();
  dir = tempDir();
  configPath = writeJson(dir, 'config.json', sandbox.config({ max_attempts: 2, max_retry_wait_seconds: 0.05 }));
});

afterAll(async () => {
  await sandbox.stop();
});

describe('discover', () => {
  it('prints the Singer catalog as one JSON object', async () => {
    const r = await tap(['--config', configPath, '--discover']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const base = schemaFile();
    const catalog = JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
    expect(catalog.streams.map((x) => x['tap_stream_id'])).toEqual([STREAM, 'survey_answers', 'surveys']);
    const entry = catalog.streams[0]!;
    expect(entry).toMatchObject({ stream: STREAM, key_properties: ['Number', 'survey_id'], replication_key: 'Date Submitted', replication_method: 'INCREMENTAL' });
    const schema = entry['schema'] as { properties: Record<string, unknown>; additionalProperties: boolean };
    // Every fixed column, then every column of both surveys' exports, declared.
    for (const key of Object.keys(base['properties'] as object)) expect(schema.properties).toHaveProperty([key]);
    for (const id of ['111', '222']) for (const h of (sandbox.surveys.get(id) as { header: string[] }).header) expect(schema.properties).toHaveProperty([h]);
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
        'forced-replication-method': 'INCREMENTAL',
      },
    });
    expect(meta.slice(1)).toEqual(Object.keys(schema.properties).map((p) => ({ breadcrumb: ['properties', p], metadata: { inclusion: automatic.includes(p) ? 'automatic' : 'available' } })));
    noSecrets(r);
  });

  it('rejects an invalid config with CRITICAL on stderr and nothing on stdout', async () => {
    // (An empty survey_ids is valid since issue 10: every survey of the site.)
    const bad = writeJson(tempDir(), 'bad.json', { ...sandbox.config(), survey_ids: ['1/../2'] });
    const r = await tap(['--config', bad, '--discover']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^CRITICAL .*survey_ids/m);
    noSecrets(r);
  });
});

describe('sync', () => {
  it('without a catalog syncs every response, row for row, SCHEMA first and a STATE after each survey', async () => {
    const out = await sync([]);
    expect(out.records).toEqual([...expectedFor('111'), ...expectedFor('222')]);
    // One SCHEMA per stream, before its records, declaring every column of the exports.
    expect(out.schemas.map((m) => m.stream)).toEqual([STREAM, 'survey_answers']);
    const declared = (out.schemas[0]!.schema as { properties: Record<string, unknown> }).properties;
    for (const h of (sandbox.surveys.get('111') as { header: string[] }).header) expect(declared).toHaveProperty([h]);
    expect(out.schemas[0]).toMatchObject({ key_properties: ['Number', 'survey_id'], bookmark_properties: ['Date Submitted'] });
    expect(out.run.stdout.split('\n')[0]).toContain('"type":"SCHEMA"');
    // Every STATE carries every stream's bookmark; the last holds each survey's newest date and highest Number.
    const top = (id: string): number => Number((sandbox.surveys.get(id) as { rows: string[][] }).rows[0]![0]);
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

  it('with a selected catalog (--catalog, or --properties with the legacy stream-level flag) syncs the same', async () => {
    const all = [...expectedFor('111'), ...expectedFor('222')];
    expect((await sync(['--catalog', await catalogWith({ selected: true })])).records).toEqual(all);
    expect((await sync(['--properties', await catalogWith({}, { selected: true })])).records).toEqual(all);
  });

  it('emits no RECORD when the catalog does not select the stream', async () => {
    for (const path of [
      await catalogWith({ selected: false }),
      await catalogWith({ selected: false }, { selected: true }), // the metadata wins over the legacy flag
      await catalogWith({}), // discover's output as is: nothing selected yet
      writeJson(tempDir(), 'empty.json', { streams: [] }),
    ]) {
      const r = await tap(['--config', configPath, '--catalog', path]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^INFO The catalog selects no stream/m);
    }
  });

  it('reads in full with FULL_TABLE whatever the state; incrementally otherwise', async () => {
    const future = writeJson(tempDir(), 'future.json', {
      bookmarks: { [STREAM]: { surveys: { '111': { 'Date Submitted': '2999-01-01T00:00:00' }, '222': { 'Date Submitted': '2999-01-01T00:00:00' } } } },
    });
    const full = await sync(['--catalog', await catalogWith({ selected: true }, { replication_method: 'FULL_TABLE' }), '--state', future]);
    expect(full.records).toEqual([...expectedFor('111'), ...expectedFor('222')]);
    const byMetadata = await sync(['--catalog', await catalogWith({ selected: true, 'replication-method': 'FULL_TABLE' }), '--state', future]);
    expect(byMetadata.records).toHaveLength(full.records.length);
    const incremental = await sync(['--catalog', await catalogWith({ selected: true }), '--state', future]);
    expect(incremental.records).toEqual([]);
    expect(incremental.schemas).toHaveLength(1);
    // The future date stays; the verified pass adds each survey's highest Number.
    const kept = (incremental.states.at(-1)!.bookmarks as Record<string, { surveys: Record<string, Record<string, unknown>> }>)[STREAM]!.surveys;
    for (const id of ['111', '222']) expect(kept[id]!['Date Submitted']).toBe('2999-01-01T00:00:00');
  });

  it('reports a failed survey as ERROR, syncs the others and exits 1', async () => {
    const cfg = writeJson(tempDir(), 'config.json', sandbox.config({ survey_ids: ['999', '111'] }));
    const r = await tap(['--config', cfg]);
    expect(r.code).toBe(1);
    const out = checkSingerOutput(r.stdout);
    expect(out.recordMessages.filter((m) => m.stream === STREAM).map((m) => m.record)).toEqual(expectedFor('111'));
    const top = Number((sandbox.surveys.get('111') as { rows: string[][] }).rows[0]![0]);
    expect((out.states.at(-1)!.bookmarks as Record<string, unknown>)[STREAM]).toEqual({ surveys: { '111': { 'Date Submitted': newestCursor('111'), Number: top } } });
    expect(r.stderr).toMatch(/^ERROR .*999/m);
    expect(r.stderr).not.toMatch(/^CRITICAL/m);
  });
});

describe('state', () => {
  it('accepts an empty file, {}, {"bookmarks": …}, its {"value": …} wrapper and a hand-written cursor', async () => {
    const d = tempDir();
    const total = expectedFor('111').length + expectedFor('222').length;
    const only222 = { surveys: { '111': { 'Date Submitted': '2999-01-01T00:00:00' } } };
    const cases: [string, unknown, number][] = [
      ['empty.json', '', total],
      ['object.json', '{}', total],
      ['bookmarks.json', { bookmarks: { [STREAM]: only222 } }, expectedFor('222').length],
      ['value.json', { type: 'STATE', value: { bookmarks: { [STREAM]: only222 } } }, expectedFor('222').length],
      ['no-bookmark.json', { bookmarks: {} }, total],
      ['hand.json', { 'Date Submitted': '2999-01-01 00:00:00' }, 0],
    ];
    for (const [name, content, count] of cases) {
      const out = await sync(['--state', writeJson(d, name, content)]);
      expect(out.records, name).toHaveLength(count);
    }
  });

  it('rejects a bad state with CRITICAL and nothing on stdout', async () => {
    const d = tempDir();
    for (const [content, text] of [
      ['{"bookmarks": ', /not valid JSON/],
      [{ bookmarks: { [STREAM]: { surveys: { '111': { 'Date Submitted': 'yesterday' } } } } }, /not a date-time/],
      [{ bookmarks: [] }, /"bookmarks" must be an object/],
    ] as const) {
      const r = await tap(['--config', configPath, '--state', writeJson(d, 'state.json', content)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^CRITICAL .*${text.source}`, 'm'));
    }
  });
});

describe('errors', () => {
  it('a wrong password: exit 1, CRITICAL about the login, nothing on stdout, password never printed', async () => {
    const password = 'not-the-password-XYZ';
    const cfg = writeJson(tempDir(), 'wrong.json', sandbox.config({ password }));
    const r = await tap(['--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^CRITICAL .*login/m);
    expect(r.stderr).not.toContain(password);
    noSecrets(r);
  });

  it('rejects bad catalogs with CRITICAL', async () => {
    const d = tempDir();
    for (const [catalog, text] of [
      [{ streams: 'all' }, /"streams"/],
      [{ streams: [{ tap_stream_id: 'heatmaps', selected: true }] }, /"heatmaps".*survey_responses/],
      [{ streams: [{ tap_stream_id: STREAM, selected: true, replication_method: 'LOG_BASED' }] }, /LOG_BASED/],
    ] as const) {
      const r = await tap(['--config', configPath, '--catalog', writeJson(d, 'catalog.json', catalog)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^CRITICAL .*${text.source}`, 'm'));
    }
  });

  it('prints help on stderr for usage errors (exit 2), nothing on stdout', async () => {
    for (const args of [[], ['--discover'], ['--config'], ['--config', configPath, 'extra'], ['--config', configPath, '--catalog', 'a', '--properties', 'b']]) {
      const r = await tap(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/Options:/);
    }
    const help = await tap(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toMatch(/--discover/);
  });
});

describe('resume', () => {
  it('from the last STATE value: exactly the new responses (by Number), nothing else', async () => {
    const first = await sync([]);
    expect(first.records).toHaveLength(expectedFor('111').length + expectedFor('222').length);
    const survey = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const newest = survey.rows[0]!;
    const topNumber = Number(newest[0]);
    const sameSecond = checkoutRow(topNumber + 1, newest[2]!);
    const later = checkoutRow(topNumber + 3, fileDate(Date.parse(`${newest[2]!.replace(' ', 'T')}Z`) + 60_000));
    sandbox.addResponses('111', [later, sameSecond]);
    const statePath = writeJson(tempDir(), 'state.json', first.states.at(-1));
    const second = await sync(['--state', statePath]);
    const npsTop = (sandbox.surveys.get('222') as { rows: string[][] }).rows[0]!;
    survey.rows.splice(0, 2); // this test's own responses: the stand-in stays as other tests expect it
    // Exact by Number: the two new responses only, no repeat of the boundary second.
    expect(second.records).toEqual([expectedRecord(survey.header, later, SITE, '111'), expectedRecord(survey.header, sameSecond, SITE, '111')]);
    expect((second.states.at(-1)!.bookmarks as Record<string, unknown>)[STREAM]).toEqual({
      surveys: {
        '111': { 'Date Submitted': later[2]!.replace(' ', 'T'), Number: topNumber + 3 },
        '222': { 'Date Submitted': newestCursor('222'), Number: Number(npsTop[0]) },
      },
    });
  });
});

describe('checker', () => {
  const schema = { type: 'SCHEMA', stream: 's', schema: { type: 'object', properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } }, key_properties: ['id'] };
  const state = { type: 'STATE', value: { bookmarks: {} } };
  const lines = (...messages: unknown[]): string => messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n') + '\n';
  const record = (r: Record<string, unknown>) => ({ type: 'RECORD', stream: 's', record: r, time_extracted: '2024-01-01T00:00:00Z' });

  it('passes a good stream and returns what it saw', () => {
    const out = checkSingerOutput(lines(schema, record({ id: 1, at: '2024-02-29T10:00:00' }), record({ id: 2, at: '2024-01-01T10:00:00+02:00' }), state));
    expect(out.records).toEqual([{ id: 1, at: '2024-02-29T10:00:00' }, { id: 2, at: '2024-01-01T10:00:00+02:00' }]);
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
