/**
 * tap-hotjar's rules, in-process: the tap's commands (src/singer/cli.ts) against the stand-in over
 * loopback HTTP, without a child process (see inprocess/entry.ts; the tap's stderr lines are captured).
 * Every sync's stdout goes through the Singer checker. Each test has its own stand-in. The process
 * contract (discover, a sync, resume, CRITICAL, usage errors) is in singer.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { sampleSurveys } from '../devtools/stand-in/data.js';
import { tapEntry } from '../src/singer/cli.js';
import { runEntry } from './inprocess/entry.js';
import { expectNoLeaks, expectedRecord, tempDir, writeJson, type RunResult } from './helpers.js';
import { checkSingerOutput, type CheckedOutput } from './singer-checker.js';

vi.mock('node:worker_threads', async (original) => (await import('./inprocess/worker-threads.js')).withBuiltWorkers(await original()));

type TapArgs = Parameters<typeof tapEntry.run>[1];

const SITE = '1234567';
const STREAM = 'survey_responses';
let sandbox: HotjarSandbox;
let dir: string;
let configPath: string;

beforeEach(async () => {
  // The stand-in's sample surveys: 12 responses to checkout survey 111, 9 to NPS survey 222.
  sandbox = await new HotjarSandbox({ siteId: SITE, surveys: sampleSurveys() }).start();
  dir = tempDir();
  // One survey at a time: these tests compare both surveys' records in order.
  configPath = writeJson(dir, 'config.json', sandbox.config({ max_attempts: 2, max_retry_wait_seconds: 0.05, max_concurrent_surveys: 1 }));
});
afterEach(async () => {
  await sandbox.stop();
});

async function tap(args: TapArgs): Promise<RunResult> {
  const r = await runEntry(tapEntry, { config: configPath, ...args });
  expectNoLeaks(sandbox, r);
  return r;
}

function expectedFor(surveyId: string): Record<string, unknown>[] {
  const s = sandbox.surveys.get(surveyId) as { header: string[]; rows: string[][] };
  return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
}

const newestCursor = (surveyId: string): string => (sandbox.surveys.get(surveyId) as { rows: string[][] }).rows[0]![2]!.replace(' ', 'T');

/** A successful sync: exit 0, stdout passes the checker. */
async function sync(args: TapArgs): Promise<CheckedOutput & { run: RunResult }> {
  const r = await tap(args);
  expect(r.code, r.stderr).toBe(0);
  const out = checkSingerOutput(r.stdout);
  // survey_responses' records (the tap also syncs survey_answers when no catalog narrows it down).
  return { ...out, records: out.recordMessages.filter((m) => m.stream === STREAM).map((m) => m.record as Record<string, unknown>), run: r };
}

/** The discovered catalog with the stream's breadcrumb [] metadata changed. */
async function catalogWith(root: Record<string, unknown>, entry: Record<string, unknown> = {}): Promise<string> {
  const r = await tap({ discover: true });
  expect(r.code, r.stderr).toBe(0);
  const catalog = JSON.parse(r.stdout) as { streams: Record<string, unknown>[] };
  const stream = catalog.streams[0]! as { metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] };
  const meta = stream.metadata.find((m) => m.breadcrumb.length === 0)!;
  Object.assign(meta.metadata, root);
  Object.assign(stream, entry);
  return writeJson(tempDir(), 'catalog.json', catalog);
}

describe('sync', () => {
  it('with a selected catalog (--catalog, or --properties with the legacy stream-level flag) syncs the same', async () => {
    const all = [...expectedFor('111'), ...expectedFor('222')];
    expect((await sync({ catalog: await catalogWith({ selected: true }) })).records).toEqual(all);
    expect((await sync({ properties: await catalogWith({}, { selected: true }) })).records).toEqual(all);
  });

  it('emits no RECORD when the catalog does not select the stream', async () => {
    for (const path of [
      await catalogWith({ selected: false }),
      await catalogWith({ selected: false }, { selected: true }), // the metadata wins over the legacy flag
      await catalogWith({}), // discover's output as is: nothing selected yet
      writeJson(tempDir(), 'empty.json', { streams: [] }),
    ]) {
      const r = await tap({ catalog: path });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^INFO The catalog selects no stream/m);
    }
  });

  it('reads in full with FULL_TABLE whatever the state; incrementally otherwise', async () => {
    const future = writeJson(tempDir(), 'future.json', {
      bookmarks: {
        [STREAM]: { surveys: { '111': { 'Date Submitted': '2999-01-01T00:00:00' }, '222': { 'Date Submitted': '2999-01-01T00:00:00' } } },
      },
    });
    const full = await sync({ catalog: await catalogWith({ selected: true }, { replication_method: 'FULL_TABLE' }), state: future });
    expect(full.records).toEqual([...expectedFor('111'), ...expectedFor('222')]);
    const byMetadata = await sync({ catalog: await catalogWith({ selected: true, 'replication-method': 'FULL_TABLE' }), state: future });
    expect(byMetadata.records).toHaveLength(full.records.length);
    const incremental = await sync({ catalog: await catalogWith({ selected: true }), state: future });
    expect(incremental.records).toEqual([]);
    expect(incremental.schemas).toHaveLength(1);
    // The future date stays; the verified pass adds each survey's highest Number.
    const kept = (incremental.states.at(-1)!.bookmarks as Record<string, { surveys: Record<string, Record<string, unknown>> }>)[STREAM]!
      .surveys;
    for (const id of ['111', '222']) expect(kept[id]!['Date Submitted']).toBe('2999-01-01T00:00:00');
  });

  it('reports a failed survey as ERROR, syncs the others and exits 1', async () => {
    const cfg = writeJson(tempDir(), 'config.json', sandbox.config({ survey_ids: ['999', '111'] }));
    const r = await tap({ config: cfg });
    expect(r.code).toBe(1);
    const out = checkSingerOutput(r.stdout);
    expect(out.recordMessages.filter((m) => m.stream === STREAM).map((m) => m.record)).toEqual(expectedFor('111'));
    const top = Number((sandbox.surveys.get('111') as { rows: string[][] }).rows[0]![0]);
    expect((out.states.at(-1)!.bookmarks as Record<string, unknown>)[STREAM]).toEqual({
      surveys: { '111': { 'Date Submitted': newestCursor('111'), Number: top } },
    });
    expect(r.stderr).toMatch(/^ERROR .*999/m);
    expect(r.stderr).not.toMatch(/^CRITICAL/m);
  });
});

describe('discover', () => {
  it('leaves out a survey that cannot be read, with a WARNING; fails only when no survey can be read', async () => {
    const some = writeJson(dir, 'some.json', sandbox.config({ survey_ids: ['111', '999'], max_attempts: 1 }));
    const r = await runEntry(tapEntry, { config: some, discover: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^WARNING Survey 999 left out of the catalog's columns: .*999/m);
    const catalog = JSON.parse(r.stdout) as { streams: { tap_stream_id: string; schema: { properties: Record<string, unknown> } }[] };
    const responses = catalog.streams.find((s) => s.tap_stream_id === STREAM)!;
    for (const h of (sandbox.surveys.get('111') as { header: string[] }).header) expect(responses.schema.properties).toHaveProperty([h]);
    const none = writeJson(dir, 'none.json', sandbox.config({ survey_ids: ['998', '999'], max_attempts: 1 }));
    const failed = await runEntry(tapEntry, { config: none, discover: true });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^CRITICAL .*99[89]/m);
  });
});

describe('schema', () => {
  it('declares a question added since discover in a new SCHEMA before the first record that has it', async () => {
    const catalog = await catalogWith({ selected: true });
    // Someone adds a question to survey 222 after the catalog was made, and a response answers it.
    const s222 = sandbox.surveys.get('222') as { header: string[]; rows: string[][] };
    const question = 'Anything else? "new"';
    s222.header.push(question);
    for (const row of s222.rows) row.push('');
    s222.rows[0]![s222.header.length - 1] = 'the new answer';
    const out = await sync({ catalog }); // the checker validates every record against its stream's latest SCHEMA
    const schemas = out.schemas.filter((m) => m.stream === STREAM);
    expect(schemas).toHaveLength(2);
    const props = (i: number): Record<string, unknown> => (schemas[i]!.schema as { properties: Record<string, unknown> }).properties;
    expect(props(0)).not.toHaveProperty([question]);
    expect(props(1)).toHaveProperty([question]);
    expect((schemas[1]!.schema as { additionalProperties: unknown }).additionalProperties).toBe(false);
    // The new SCHEMA comes after survey 111's records and before survey 222's first.
    const lines = out.run.stdout.trim().split('\n');
    const second = lines.findIndex((l, i) => i > 0 && l.startsWith('{"type":"SCHEMA","stream":"survey_responses"'));
    const first222 = lines.findIndex((l) => l.includes('"survey_id":"222"'));
    expect(second).toBeGreaterThan(lines.findIndex((l) => l.includes('"survey_id":"111"')));
    expect(second).toBeLessThan(first222);
    expect(out.records.find((r) => r['survey_id'] === '222' && r[question] === 'the new answer')).toBeDefined();
    expect(out.run.stderr).toMatch(
      /^WARNING Survey 222 has a column .*It is emitted, and declared to the destination in an updated schema/m,
    );
  });

  it('leaves deselected properties out of SCHEMA and RECORDs; keys and the replication key stay', async () => {
    const r = await tap({ discover: true });
    const catalog = JSON.parse(r.stdout) as {
      streams: { tap_stream_id: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[];
    };
    const stream = catalog.streams.find((s) => s.tap_stream_id === STREAM)!;
    for (const m of stream.metadata) {
      if (m.breadcrumb.length === 0) m.metadata['selected'] = true;
      if (['Country', 'Hotjar User ID', 'Number'].includes(m.breadcrumb[1] ?? '')) m.metadata['selected'] = false;
    }
    const out = await sync({ catalog: writeJson(tempDir(), 'catalog.json', catalog) });
    const props = (out.schemas[0]!.schema as { properties: Record<string, unknown> }).properties;
    expect(props).not.toHaveProperty(['Country']);
    expect(props).not.toHaveProperty(['Hotjar User ID']);
    expect(props).toHaveProperty(['Number']);
    const all = [...expectedFor('111'), ...expectedFor('222')].map((rec) => {
      const rest = { ...rec };
      delete rest['Country'];
      delete rest['Hotjar User ID'];
      return rest;
    });
    expect(out.records).toEqual(all);
    expect(out.run.stderr).toMatch(
      /^WARNING The catalog deselects "Number" of survey_responses, a key or replication key: it is synced anyway\.$/m,
    );
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
      const out = await sync({ state: writeJson(d, name, content) });
      expect(out.records, name).toHaveLength(count);
    }
  });

  it('rejects a bad state with CRITICAL and nothing on stdout', async () => {
    const d = tempDir();
    for (const [content, text] of [
      ['{"bookmarks": ', /not valid JSON/],
      [{ bookmarks: { [STREAM]: { surveys: { '111': { 'Date Submitted': 'yesterday' } } } } }, /not a date-time/],
      [{ bookmarks: [] }, /"bookmarks" must be an object/],
      // A misspelt stream would be read again from the start, silently.
      [{ bookmarks: { survey_respones: { surveys: {} } } }, /"bookmarks" names "survey_respones", which this tap does not have/],
      [{ bookmarks: { [STREAM]: { surveys: {} }, survey_answer: {} } }, /names "survey_answer", which/],
    ] as const) {
      const r = await tap({ state: writeJson(d, 'state.json', content) });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^CRITICAL .*${text.source}`, 'm'));
    }
    expect(sandbox.requests).toHaveLength(0);
  });
});

describe('errors', () => {
  it('rejects bad catalogs with CRITICAL', async () => {
    const d = tempDir();
    for (const [catalog, text] of [
      [{ streams: 'all' }, /"streams"/],
      [{ streams: [{ tap_stream_id: 'heatmaps', selected: true }] }, /"heatmaps".*survey_responses/],
      [{ streams: [{ tap_stream_id: STREAM, selected: true, replication_method: 'LOG_BASED' }] }, /LOG_BASED/],
    ] as const) {
      const r = await tap({ catalog: writeJson(d, 'catalog.json', catalog) });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^CRITICAL .*${text.source}`, 'm'));
    }
    expect(sandbox.requests).toHaveLength(0);
  });
});
