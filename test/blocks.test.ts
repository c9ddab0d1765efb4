/**
 * The block path (streams/block-pool.ts, block-worker.ts) against the row path, in-process: the same
 * verified CSV file read both ways by the one driver must give the same records, STATE, statuses,
 * failures and messages, in the same order — whatever the file holds (quotes, line breaks and CRLF in
 * cells, a BOM, CRLF line ends, bytes that are not UTF-8, a bad value or broken CSV part way, an early
 * stop inside a block). Tiny pieces (a few hundred bytes) make every file many blocks.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parse as parseAll } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFraming } from '../src/airbyte/messages.js';
import { CsvLayoutScanner, csvParseOptions } from '../src/core/csv.js';
import { DataError } from '../src/core/errors.js';
import type { SurveyInfo, SurveyPass, SurveySource } from '../src/hotjar/source.js';
import { BlockPool } from '../src/streams/block-pool.js';
import { readStreams, type ReadPlan, type StreamSink } from '../src/streams/driver.js';
import { EMPTY_STATE, type StreamState } from '../src/streams/state.js';
import type { StreamName } from '../src/streams/stream.js';
import { surveyAnswers } from '../src/streams/survey-answers.js';
import { surveyResponses } from '../src/streams/survey-responses.js';
import { RecordingSink, SITE, header, row, streamPlan } from './inprocess/fakes.js';

const MAX = 1024 * 1024;
const R: StreamName = 'survey_responses';
const A: StreamName = 'survey_answers';
const Q = 'What could we do better?\n(optional)';
const HEADER = header('User ID', 'How was it?', 'Tags for: How was it?', Q, 'Qu’est-ce qui vous a plu ? 🙂');

let dir: string;
let pool: BlockPool;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'blocks-test-'));
  // The built worker (test/global-setup.ts builds dist/ before any test).
  pool = new BlockPool(2, new URL('../dist/streams/block-worker.js', import.meta.url));
});
afterAll(() => pool.close());

/** One CSV field as Hotjar writes it (every field quoted, quotes doubled). */
const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`;
function csv(rows: string[][], eol = '\n', bom = ''): Buffer {
  return Buffer.from(bom + rows.map((r) => r.map(quote).join(',')).join(eol) + eol);
}

/** n responses, newest first, with every awkward kind of cell. */
function responses(n: number, top = 5000): string[][] {
  const answers = [
    'Great, "really" great',
    'slow\ncheckout\nagain',
    'café naïve 日本語 🎉',
    'a,b,c',
    '',
    'Line one\r\nline two',
    '""',
    ' padded ',
  ];
  return Array.from({ length: n }, (_, i) => {
    const number = top - i * 2;
    const second = 59 - (i % 60);
    return row({
      number,
      date: `2024-03-${String(28 - Math.floor(i / 60)).padStart(2, '0')} 10:${String(59 - (i % 60)).padStart(2, '0')}:${String(second).padStart(2, '0')}`,
      extra: [
        i % 3 ? `ext-${i}` : '',
        answers[i % answers.length]!,
        i % 2 ? 'Positive, Pricing' : '',
        answers[(i + 3) % answers.length]!,
        i % 5 ? '' : 'Très bien 🙂',
      ],
    });
  });
}

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A source serving CSV files: rows parsed as the row path parses them, and the file for the block path. */
class FileSource implements SurveySource {
  constructor(
    private readonly files: Record<string, string>,
    private readonly pieceBytes: number,
  ) {}
  async verify(): Promise<void> {}
  async columns(): Promise<string[]> {
    return [];
  }
  async listSurveys(): Promise<SurveyInfo[]> {
    return [];
  }
  async close(): Promise<void> {}
  async open(surveyId: string): Promise<SurveyPass> {
    const path = this.files[surveyId]!;
    const bytes = readFileSync(path);
    const scanner = new CsvLayoutScanner(this.pieceBytes);
    for (let i = 0; i < bytes.length; i += 1000) scanner.feed(bytes.subarray(i, i + 1000)); // chunk ends anywhere
    const layout = scanner.finish();
    async function* rows(): AsyncGenerator<string[][]> {
      const parser = Readable.from([bytes]).pipe(parse(csvParseOptions(MAX)));
      let batch: string[][] = [];
      try {
        for await (const record of parser as AsyncIterable<string[]>) {
          batch.push(record);
          if (batch.length === 7) {
            yield batch;
            batch = [];
          }
        }
      } catch (err) {
        if (batch.length) yield batch;
        throw new DataError(`The export of survey ${surveyId} is not valid CSV: ${(err as Error).message}.`);
      }
      if (batch.length) yield batch;
    }
    return {
      rows: rows(),
      bytes: bytes.length,
      csvFile: layout ? { path, layout, maxRecordBytes: MAX } : undefined,
      close: async () => {},
    };
  }
}

/** A RecordingSink that takes records as framed Airbyte bytes too (the block path), or only as data (the row path). */
class Sink extends RecordingSink {
  private readonly sinks = new Map<string, StreamSink>();
  constructor(readonly bytes: boolean) {
    super();
  }
  override stream(name: StreamName): StreamSink {
    const inner = super.stream(name);
    const sink = this.bytes ? { ...inner, framing: recordFraming(name) } : inner;
    this.sinks.set(name, sink);
    return sink;
  }
  recordBytes?(bytes: Uint8Array, written: () => void): undefined;
}
function sinkFor(blocks: boolean): Sink {
  const sink = new Sink(blocks);
  if (blocks) {
    const sinks = (sink as unknown as { sinks: Map<string, StreamSink> }).sinks;
    sink.recordBytes = (bytes, written) => {
      for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
        if (!line) continue;
        const m = JSON.parse(line) as { type: string; record: { stream: string; data: unknown; emitted_at: number } };
        expect(m.type).toBe('RECORD');
        expect(typeof m.record.emitted_at).toBe('number');
        void sinks.get(m.record.stream)!.record(JSON.stringify(m.record.data));
      }
      written();
      return undefined;
    };
  }
  return sink;
}

interface Run {
  sink: Sink;
  failures: string[];
  error?: string;
}

async function read(
  files: Record<string, string>,
  plan: Omit<ReadPlan, 'siteId' | 'surveyIds'>,
  blocks: boolean,
  pieceBytes = 300,
): Promise<Run> {
  // 300-byte pieces: a block (8 pieces) holds a handful of rows, so every file is many blocks.
  const sink = sinkFor(blocks);
  const source = new FileSource(files, pieceBytes);
  try {
    const result = await readStreams(source, { siteId: SITE, surveyIds: Object.keys(files), ...plan }, sink, undefined, { pool });
    return { sink, failures: result.failures.map((f) => `${f.surveyId}: ${f.error.message}`) };
  } catch (err) {
    return { sink, failures: [], error: (err as Error).message };
  }
}

/**
 * Reads both ways and expects the same everything. `brokenCsv`: the file is not valid CSV part way;
 * which rows before the break are emitted has always depended on how the bytes were cut (the row
 * path drops the rows of the chunk that holds the break), so there the block path's records may run
 * further, but start the same; the failure, STATE and statuses are the same.
 */
async function same(files: Record<string, string>, plan: Omit<ReadPlan, 'siteId' | 'surveyIds'>, brokenCsv = false): Promise<Run> {
  const rows = await read(files, plan, false);
  const blocks = await read(files, plan, true);
  for (const name of plan.streams.map((s) => s.definition.name)) {
    const got = blocks.sink.recordsOf(name);
    expect(brokenCsv ? got.slice(0, rows.sink.recordsOf(name).length) : got).toEqual(rows.sink.recordsOf(name));
    const counts = (run: Run): unknown[] => run.sink.statesOf(name).map((s) => (brokenCsv ? s.blob : s));
    expect(counts(blocks)).toEqual(counts(rows));
    expect(blocks.sink.statusesOf(name)).toEqual(rows.sink.statusesOf(name));
  }
  if (!brokenCsv) expect(blocks.sink.events).toEqual(rows.sink.events);
  if (!brokenCsv) expect(blocks.sink.logs).toEqual(rows.sink.logs);
  expect(blocks.failures).toEqual(rows.failures);
  expect(blocks.error).toEqual(rows.error);
  return blocks;
}

const both = (state: StreamState = EMPTY_STATE) => [streamPlan(surveyResponses, { state }), streamPlan(surveyAnswers, { state })];

describe('block path = row path', () => {
  it('reads a file of every awkward cell identically, both streams, many blocks', async () => {
    const run = await same({ '11': file('a.csv', csv([HEADER, ...responses(300)])) }, { streams: both() });
    expect(run.sink.recordsOf(R)).toHaveLength(300);
    expect(run.sink.recordsOf(A).length).toBeGreaterThan(300);
    expect(run.sink.recordsOf(R).some((r) => r[Q] === 'Line one\r\nline two')).toBe(true);
  });

  it('reads a file with a BOM and CRLF line ends identically', async () => {
    await same({ '11': file('b.csv', csv([HEADER, ...responses(120)], '\r\n', '\ufeff')) }, { streams: both() });
  });

  it('reads two surveys side by side identically per survey', async () => {
    const files = { '11': file('c1.csv', csv([HEADER, ...responses(150)])), '12': file('c2.csv', csv([HEADER, ...responses(90, 9000)])) };
    const rows = await read(files, { streams: both(), maxConcurrentSurveys: 2 }, false);
    const blocks = await read(files, { streams: both(), maxConcurrentSurveys: 2 }, true);
    for (const id of ['11', '12']) {
      expect(blocks.sink.recordsOf(R).filter((r) => r['survey_id'] === id)).toEqual(
        rows.sink.recordsOf(R).filter((r) => r['survey_id'] === id),
      );
    }
    // Which survey ends last depends on timing; the positions do not.
    expect(blocks.sink.lastState(R)?.blob).toEqual(rows.sink.lastState(R)?.blob);
    // Records of the two surveys interleave: each STATE counts the stream's records since its previous
    // STATE, whichever survey they came from (the protocol's recordCount), on both paths.
    for (const run of [rows, blocks]) {
      for (const name of [R, A]) {
        expect(run.sink.statesOf(name).map((x) => x.recordCount)).toEqual(run.sink.recordsBetweenStates(name));
        expect(run.sink.statesOf(name).reduce((n, x) => n + x.recordCount, 0)).toBe(run.sink.recordsOf(name).length);
      }
    }
    expect(blocks.sink.events.indexOf(`${R}:STATE`)).toBeLessThan(blocks.sink.events.lastIndexOf(`${R}:RECORD`)); // they did interleave
  });

  it("counts a row split between two STATEs: another survey's STATE while the first answers' status waits", async () => {
    // Survey 11's first block is written in two parts: up to where survey_answers' first lines begin (the
    // row's survey_responses line is in the first part), then the rest, after survey_answers' RUNNING.
    // That status is slow (stdout backpressure), and survey 12 ends meanwhile: its STATE must count the
    // split row's survey_responses record, which was written before it.
    const files = { '11': file('s1.csv', csv([HEADER, ...responses(40)])), '12': file('s2.csv', csv([HEADER, ...responses(5, 9000)])) };
    const sink = sinkFor(true);
    const stream = sink.stream.bind(sink);
    let slowed = false;
    sink.stream = (name) => {
      const s = stream(name);
      return {
        ...s,
        status: (status) => {
          const r = s.status(status);
          if (name !== A || status !== 'RUNNING' || slowed) return r;
          slowed = true;
          return new Promise((resolve) => setTimeout(resolve, 300));
        },
      };
    };
    await readStreams(
      new FileSource(files, 300),
      { siteId: SITE, surveyIds: ['11', '12'], streams: both(), maxConcurrentSurveys: 2 },
      sink,
      undefined,
      {
        pool,
      },
    );
    for (const name of [R, A]) expect(sink.statesOf(name).map((x) => x.recordCount)).toEqual(sink.recordsBetweenStates(name));
    expect(sink.statesOf(R)).toHaveLength(2);
  });

  it('stops early inside a block exactly where the row path stops', async () => {
    const state: StreamState = { surveys: { '11': { number: 5000 - 2 * 97, date: '2024-03-27T00:00:00' } } };
    const run = await same({ '11': file('d.csv', csv([HEADER, ...responses(400)])) }, { streams: both(state) });
    expect(run.sink.recordsOf(R)).toHaveLength(97);
    expect(run.sink.logs.some((l) => /stopped early/.test(l.message))).toBe(true);
  });

  it('filters by start_date and per stream identically', async () => {
    const state: StreamState = { surveys: { '11': { number: 5000 - 2 * 30 } } };
    await same(
      { '11': file('e.csv', csv([HEADER, ...responses(200)])) },
      { streams: [streamPlan(surveyResponses), streamPlan(surveyAnswers, { state })], startDate: '2024-03-27T10:30:00' },
    );
  });

  it('fails on a bad Number deep in the file with the same line, and the same records before it', async () => {
    const rows = responses(250);
    rows[180]![0] = '0042';
    const run = await same({ '11': file('f.csv', csv([HEADER, ...rows])) }, { streams: both() });
    expect(run.failures[0]).toMatch(/survey 11 has a bad value at line \d+, column "Number": "0042"/);
    expect(run.sink.recordsOf(R)).toHaveLength(180);
  });

  it('fails on a date in the future deep in the file identically', async () => {
    const rows = responses(250);
    rows[200]![2] = '2999-01-01 00:00:00';
    const run = await same({ '11': file('g.csv', csv([HEADER, ...rows])) }, { streams: [streamPlan(surveyResponses)] });
    expect(run.failures[0]).toMatch(/column "Date Submitted": 2999-01-01 00:00:00 is more than a day in the future/);
  });

  it('fails on broken CSV deep in the file with the same message', async () => {
    const good = csv([HEADER, ...responses(250)]).toString('utf8');
    const at = good.indexOf('"ext-151"');
    const broken = good.slice(0, at) + '"ext"151"' + good.slice(at + '"ext-151"'.length);
    const run = await same({ '11': file('h.csv', Buffer.from(broken)) }, { streams: both() }, true);
    expect(run.failures[0]).toMatch(/not valid CSV: Invalid Closing Quote/);
  });

  it('fails on a row with a missing column deep in the file with the same message', async () => {
    const rows = responses(250);
    rows[222]!.pop();
    const run = await same({ '11': file('i.csv', csv([HEADER, ...rows])) }, { streams: both() }, true);
    expect(run.failures[0]).toMatch(/Invalid Record Length/);
  });

  it('reads bytes that are not UTF-8 as the row path does (replacement characters)', async () => {
    const bytes = csv([HEADER, ...responses(60)]);
    const at = bytes.indexOf(Buffer.from('Très'));
    bytes[at + 2] = 0xe8; // a lone latin1 "è" where UTF-8 has two bytes
    await same({ '11': file('j.csv', bytes) }, { streams: both() });
  });

  it('warns about duplicated Numbers identically', async () => {
    const rows = responses(100);
    rows[70]![0] = rows[69]![0]!;
    const run = await same({ '11': file('k.csv', csv([HEADER, ...rows])) }, { streams: [streamPlan(surveyResponses)] });
    expect(run.sink.warnings().some((w) => /more than once/.test(w))).toBe(true);
  });

  it('handles a header-only file and a file whose header is the whole file', async () => {
    await same({ '11': file('l.csv', csv([HEADER])) }, { streams: both() });
    await same({ '11': file('m.csv', Buffer.from(csv([HEADER]).toString('utf8').slice(0, -1))) }, { streams: both() });
  });
});

describe('CsvLayoutScanner', () => {
  it('cuts only at record ends: every block parses, after the header, into exactly its rows', () => {
    const bytes = csv([HEADER, ...responses(200)], '\r\n', '\ufeff');
    for (const piece of [1, 64, 700, 1 << 20]) {
      const scanner = new CsvLayoutScanner(piece);
      for (let i = 0; i < bytes.length; i += 333) scanner.feed(bytes.subarray(i, i + 333));
      const layout = scanner.finish()!;
      expect(layout.bomBytes).toBe(3);
      expect(layout.utf8).toBe(true);
      const all = parseSync(bytes);
      const head = bytes.subarray(layout.bomBytes, layout.headerEnd);
      const got = [all[0]!];
      for (let b = 0; b + 1 < layout.boundaries.length; b++) {
        got.push(...parseSync(Buffer.concat([head, bytes.subarray(layout.boundaries[b], layout.boundaries[b + 1])])).slice(1));
      }
      expect(got).toEqual(all);
      expect(layout.boundaries.at(-1)).toBe(bytes.length);
    }
  });

  it('does not split a file whose records end in CR alone, and says when a file is not UTF-8', () => {
    const cr = new CsvLayoutScanner(10);
    cr.feed(Buffer.from('"Number","Date Submitted"\r"1","2024-01-01 00:00:00"\r'));
    expect(cr.finish()).toBeUndefined();
    const latin1 = new CsvLayoutScanner(10);
    latin1.feed(Buffer.from('"a"\n"caf\xe9"\n', 'latin1'));
    expect(latin1.finish()?.utf8).toBe(false);
    const split = new CsvLayoutScanner(10);
    const text = Buffer.from('"a"\n"🎉"\n');
    split.feed(text.subarray(0, 6)); // inside the emoji
    split.feed(text.subarray(6));
    expect(split.finish()?.utf8).toBe(true);
  });
});

function parseSync(bytes: Buffer): string[][] {
  return parseAll(bytes, csvParseOptions(MAX));
}

describe('block path: progress', () => {
  it('estimates the rows of a many-block file from its first block, within 10% of the truth', async () => {
    const n = 600;
    const path = file('estimate.csv', csv([HEADER, ...responses(n)]));
    const sink = sinkFor(true);
    const estimates: number[] = [];
    const inner = sink.stream.bind(sink);
    sink.stream = (name: StreamName): StreamSink => ({
      ...inner(name),
      estimate: (records: number) => {
        if (name === R) estimates.push(records);
        return undefined;
      },
    });
    // 2,000-byte pieces: ~16 KB blocks of a ~100 KB file, so the first estimate comes from one block of several.
    const source = new FileSource({ s1: path }, 2000);
    const result = await readStreams(source, { siteId: SITE, surveyIds: ['s1'], streams: [streamPlan(surveyResponses)] }, sink, undefined, {
      pool,
    });
    expect(result.failures).toEqual([]);
    expect(sink.recordsOf(R)).toHaveLength(n);
    expect(estimates.length).toBeGreaterThanOrEqual(2); // from the first block, then the actual count
    expect(Math.abs(estimates[0]! - n) / n).toBeLessThan(0.1);
    expect(estimates.at(-1)).toBe(n);
  });
});
