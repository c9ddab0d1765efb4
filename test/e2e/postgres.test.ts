/**
 * End to end into a real database through a real third-party Singer target:
 *
 *   Hotjar stand-in (in-process) → tap-hotjar (built, child process) → pipelinewise-target-postgres → PostgreSQL
 *
 * Runs only when SINGER_TARGET_POSTGRES (the target's executable) and PGHOST are set; otherwise the suite is
 * skipped with the reason in its title. Set-up (see scripts/POSTGRES.md):
 *
 *   eval "$(scripts/postgres.sh start)"
 *   SINGER_TARGET_POSTGRES=<path to the target-postgres runner> npm test -- test/e2e/postgres.test.ts
 *   scripts/postgres.sh stop
 *
 * Env: SINGER_TARGET_POSTGRES, PGHOST, PGPORT (5432), PGUSER, PGPASSWORD, PGDATABASE; TAP_BIN (the tap's entry
 * point, default dist/singer/main.js); PSQL (default psql); KEEP_PG_SCHEMA=1 keeps the loaded schemas;
 * SINGER_TARGET_EXACT_TEXT=1 expects control characters to survive the target (see `stored` below).
 *
 * Two variants, each in its own target schema (hotjar_<random>):
 * - "sample": the stand-in's sample surveys. One of their questions holds a double quote, which the target
 *   cannot use as a column name, so only survey_answers is selected whenever a question holds `"`.
 * - "no-quote": surveys built here whose questions hold no `"`; both streams are selected.
 * Each variant: discover → select → tap | target → SQL checks → add responses → tap --state <target's
 * STATE> | target → exactly the new responses were added → a run with nothing new adds nothing.
 */
import { execFileSync, spawn } from 'node:child_process'; // execFileSync only for psql, never for the tap
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotjarSandbox } from '../../devtools/stand-in/server.js';
import {
  FIXED_COLUMNS,
  SAMPLE_SITE_ID,
  SAMPLE_SURVEYS,
  checkoutRow,
  fileDate,
  makeRow,
  npsRow,
  sampleSurveys,
  type ResponseSpec,
  type SurveyData,
} from '../../devtools/stand-in/data.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TARGET = process.env['SINGER_TARGET_POSTGRES'] ? resolve(ROOT, process.env['SINGER_TARGET_POSTGRES']) : '';
const TAP = resolve(ROOT, process.env['TAP_BIN'] ?? 'dist/singer/main.js');
const PSQL = process.env['PSQL'] ?? 'psql';
const RUN_TIMEOUT_MS = 120_000;

const SKIP_REASON = !process.env['SINGER_TARGET_POSTGRES']
  ? 'SINGER_TARGET_POSTGRES not set: start PostgreSQL with `eval "$(scripts/postgres.sh start)"` and set SINGER_TARGET_POSTGRES=<path to the target-postgres runner>'
  : !process.env['PGHOST']
    ? 'PGHOST not set: start PostgreSQL with `eval "$(scripts/postgres.sh start)"` (it exports PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)'
    : '';
if (SKIP_REASON) console.warn(`test/e2e/postgres.test.ts skipped: ${SKIP_REASON}`);

const RESPONSES = 'survey_responses';
const ANSWERS = 'survey_answers';
const FIXED = new Set(FIXED_COLUMNS);
const TAGS_PREFIX = 'Tags for: ';

// ---------------------------------------------------------------------------------------------------------
// What the target stores. pipelinewise-target-postgres 2.1.2 writes each value with json.dumps into a CSV
// that COPY reads with ESCAPE '\': `\"` and `\\` come back as `"` and `\`, but the other JSON escapes stay as
// text, so a line feed is stored as the two characters `\n` (also \r \t \b \f and \u00XX for other control
// characters): transferwise/pipelinewise-target-postgres#131 (open; fixes proposed in PRs #126, #132).
// It also writes an empty string as nothing, which COPY reads as NULL.
// ---------------------------------------------------------------------------------------------------------
const TARGET_ESCAPES_CONTROL_CHARS = process.env['SINGER_TARGET_EXACT_TEXT'] !== '1';
const JSON_ESCAPES: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text a string cell becomes in PostgreSQL after the target (see above). */
function stored(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (!TARGET_ESCAPES_CONTROL_CHARS) return value;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f]/g, (c) => JSON_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A column name as the target creates it: lower-cased (names of 63+ characters are also shortened). */
const columnName = (property: string): string => property.toLowerCase();
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

// ---------------------------------------------------------------------------------------------------------
// Expected rows, computed from the stand-in's data.
// ---------------------------------------------------------------------------------------------------------
type Surveys = Map<string, SurveyData>;

interface ResponseKey {
  survey_id: string;
  number: string;
}

interface AnswerRow extends ResponseKey {
  question: string | null;
  answer: string | null;
  tags: string | null;
}

const keyOf = (r: ResponseKey): string => `${r.survey_id}#${r.number}`;
const sortedKeys = (rows: ResponseKey[]): string[] => rows.map(keyOf).sort();
const sortedJson = (rows: unknown[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

function surveysOf(sandbox: HotjarSandbox): Surveys {
  const out: Surveys = new Map();
  for (const [id, s] of sandbox.surveys) {
    if ('file' in s) throw new Error(`survey ${id} is served from a file; this test needs generated data`);
    out.set(id, s);
  }
  return out;
}

/** Every response: (survey_id, Number, Date Submitted). */
function expectedResponses(surveys: Surveys, only?: Set<string>): (ResponseKey & { date: string })[] {
  const out: (ResponseKey & { date: string })[] = [];
  for (const [survey_id, s] of surveys) {
    const n = s.header.indexOf('Number');
    const d = s.header.indexOf('Date Submitted');
    for (const row of s.rows) {
      const r = { survey_id, number: row[n]!, date: row[d]! };
      if (!only || only.has(keyOf(r))) out.push(r);
    }
  }
  return out;
}

/**
 * survey_answers as the connector's contract states it: one row per response and per column that is
 * neither fixed nor a "Tags for: …" column (questions and user attributes such as `User ID`) whose cell is
 * non-empty; `tags` is the cell of "Tags for: <question>" of the same response (NULL when there is no such
 * column or it is empty). A tags cell whose question cell is empty yields no row. Values as stored.
 */
function expectedAnswers(surveys: Surveys, only?: Set<string>): AnswerRow[] {
  const out: AnswerRow[] = [];
  for (const [survey_id, s] of surveys) {
    const n = s.header.indexOf('Number');
    for (const row of s.rows) {
      if (only && !only.has(keyOf({ survey_id, number: row[n]! }))) continue;
      s.header.forEach((question, i) => {
        if (FIXED.has(question) || question.startsWith(TAGS_PREFIX)) return;
        const answer = row[i] ?? '';
        if (answer === '') return;
        const t = s.header.indexOf(TAGS_PREFIX + question);
        out.push({ survey_id, number: row[n]!, question: stored(question), answer: stored(answer), tags: stored(t >= 0 ? row[t] : '') });
      });
    }
  }
  return out;
}

/** Tags as loaded: a string column as is; an array column (jsonb) joined the way Hotjar's file joins them. */
function normaliseTags(tags: unknown): string | null {
  if (tags === null || tags === undefined) return null;
  if (Array.isArray(tags)) return tags.length === 0 ? null : tags.join(', ');
  return typeof tags === 'string' ? tags : JSON.stringify(tags);
}

// ---------------------------------------------------------------------------------------------------------
// Processes: psql, the tap piped into the target.
// ---------------------------------------------------------------------------------------------------------

/** Runs one SELECT and returns its rows, as JSON (psql -At prints json_agg's single value; no separators needed). */
function query<T = Record<string, unknown>>(sql: string): T[] {
  const wrapped = `SELECT coalesce(json_agg(q), '[]'::json) FROM (${sql}) q`;
  let out: string;
  try {
    out = execFileSync(PSQL, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', wrapped], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`psql failed: ${(e.stderr ?? e.message).trim()}\nquery: ${sql}`);
  }
  return JSON.parse(out) as T[];
}

function exec(sql: string): void {
  execFileSync(PSQL, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tableColumns(schema: string, table: string): string[] {
  return query<{ c: string }>(
    `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' ORDER BY ordinal_position`,
  ).map((r) => r.c);
}

interface Message {
  type: string;
  stream?: string;
  record?: Record<string, unknown>;
  value?: unknown;
}

interface PipelineRun {
  tapCode: number | null;
  targetCode: number | null;
  tapStderr: string;
  targetStderr: string;
  /** The tap's stdout (teed: the target read the same bytes). */
  messages: Message[];
  records: (stream: string) => Record<string, unknown>[];
  /** The last line the target printed on stdout, parsed (the state to pass back), or undefined. */
  targetState: unknown;
  /** The value of the tap's last STATE message. */
  tapState: unknown;
  /** For failure messages. */
  describe: () => string;
}

const tail = (s: string, n = 3000): string => (s.length > n ? `…${s.slice(-n)}` : s);

/** `tap --config C --catalog K [--state S] | target --config T`, both stderrs and the target's stdout captured. */
function runPipeline(files: { config: string; catalog: string; target: string; state?: string }): Promise<PipelineRun> {
  const tapArgs = [TAP, '--config', files.config, '--catalog', files.catalog, ...(files.state ? ['--state', files.state] : [])];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS']; // loopback HTTP needs no CA bundle
  return new Promise((resolvePromise, reject) => {
    const tap = spawn(process.execPath, tapArgs, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const target = spawn(TARGET, ['--config', files.target], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const tapOut: Buffer[] = [];
    const tapErr: Buffer[] = [];
    const targetOut: Buffer[] = [];
    const targetErr: Buffer[] = [];
    let pipeError = '';
    tap.stdout.on('data', (chunk: Buffer) => {
      tapOut.push(chunk);
      if (!target.stdin.destroyed && !target.stdin.write(chunk)) tap.stdout.pause();
    });
    target.stdin.on('drain', () => tap.stdout.resume());
    tap.stdout.on('end', () => target.stdin.end());
    target.stdin.on('error', (err) => {
      pipeError = `writing to the target failed: ${err.message}`;
      tap.stdout.resume(); // keep draining the tap so that it can finish
    });
    tap.stderr.on('data', (d: Buffer) => tapErr.push(d));
    target.stdout.on('data', (d: Buffer) => targetOut.push(d));
    target.stderr.on('data', (d: Buffer) => targetErr.push(d));
    const timer = setTimeout(() => {
      tap.kill('SIGKILL');
      target.kill('SIGKILL');
      reject(
        new Error(
          `tap | target did not finish within ${RUN_TIMEOUT_MS} ms\ntap stderr: ${tail(Buffer.concat(tapErr).toString())}\ntarget stderr: ${tail(Buffer.concat(targetErr).toString())}`,
        ),
      );
    }, RUN_TIMEOUT_MS);
    const exited = (child: typeof tap | typeof target) =>
      new Promise<number | null>((r, j) => {
        child.on('error', j);
        child.on('close', (code) => r(code));
      });
    Promise.all([exited(tap), exited(target)])
      .then(([tapCode, targetCode]) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(tapOut).toString('utf8');
        const messages = stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => {
            try {
              return JSON.parse(l) as Message;
            } catch {
              return { type: 'NOT-JSON', value: l };
            }
          });
        const targetLines = Buffer.concat(targetOut)
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== '');
        const last = targetLines.at(-1);
        let targetState: unknown;
        if (last !== undefined) {
          try {
            targetState = JSON.parse(last);
          } catch {
            targetState = undefined;
          }
        }
        const states = messages.filter((m) => m.type === 'STATE');
        const tapStderr = Buffer.concat(tapErr).toString('utf8');
        const targetStderr = Buffer.concat(targetErr).toString('utf8') + (pipeError ? `\n${pipeError}` : '');
        resolvePromise({
          tapCode,
          targetCode,
          tapStderr,
          targetStderr,
          messages,
          records: (stream) => messages.filter((m) => m.type === 'RECORD' && m.stream === stream).map((m) => m.record ?? {}),
          targetState,
          tapState: states.at(-1)?.value,
          describe: () =>
            `tap exit ${tapCode}, target exit ${targetCode}; tap printed ${messages.length} messages\n` +
            `--- tap stderr:\n${tail(tapStderr)}\n--- target stderr:\n${tail(targetStderr)}\n--- target stdout:\n${tail(targetLines.join('\n'), 1000)}`,
        });
      })
      .catch((err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
  });
}

/**
 * Runs the tap alone (for --discover). Asynchronous on purpose: the stand-in serves from this process, so a
 * synchronous child (execFileSync) would block the very server the tap is talking to.
 */
function runTap(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [TAP, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// The variants.
// ---------------------------------------------------------------------------------------------------------

interface Variant {
  name: string;
  surveys: () => Surveys;
  /** A new response for a survey (Number and date given), for the incremental run. */
  newRow: (surveyId: string, number: number, date: string) => string[];
  /** A question (header text) whose survey_responses column is compared cell by cell. */
  responseColumn: string;
}

/** Answers for the no-quote variant: line breaks, quotes, commas, backslashes, Unicode, padding, empty. */
const TEXTS = [
  'Great, "really" great',
  'slow\ncheckout\nagain',
  'Line one\r\nline two with CRLF inside',
  'café naïve 日本語 🎉',
  '  padded  ',
  'back\\slash and a literal \\n',
  '',
  '"fully quoted"',
  'a,b,c',
  "=cmd|' /C calc'!A0",
  'tab\there',
  'Ünïcödé — “quotes” and ‘apostrophes’',
];
const text = (n: number): string => TEXTS[n % TEXTS.length]!;

const NQ = { feedback: '301', shop: '302' } as const;
const FEEDBACK_HEADER = [
  ...FIXED_COLUMNS,
  'User ID',
  'Plan',
  'What could we do better?\n(optional)',
  'Tags for: What could we do better?\n(optional)',
  'Rate us, from 1 to 5',
  'Tags for: Rate us, from 1 to 5',
];
const SHOP_HEADER = [...FIXED_COLUMNS, 'Qu’est-ce qui vous a plu ? 🙂', 'Anything else; in your own words?'];

function feedbackRow(number: number, date: string): string[] {
  const spec: ResponseSpec = {
    number,
    date,
    attributes: [number % 4 === 0 ? '' : `u-${number}`, number % 3 ? 'pro' : ''],
    answers: [
      text(number),
      number % 2 ? 'Positive, Pricing' : '',
      number % 5 === 0 ? '' : String(number % 5),
      number % 3 === 0 ? 'Negative' : '',
    ],
  };
  return makeRow(spec, 3);
}

function shopRow(number: number, date: string): string[] {
  return makeRow({ number, date, answers: [text(number + 5), number % 2 ? text(number + 1) : ''] }, 4);
}

/** `count` rows newest first, Numbers with a gap every third response, one per `stepSeconds`. */
function rows(make: (n: number, date: string) => string[], count: number, startMs: number, stepSeconds: number): string[][] {
  const out: string[][] = [];
  for (let i = 0, n = 0; i < count; i++) {
    n += i % 3 === 2 ? 2 : 1;
    out.push(make(n, fileDate(startMs + i * stepSeconds * 1000)));
  }
  return out.reverse();
}

const VARIANTS: Variant[] = [
  {
    name: 'sample',
    surveys: () => sampleSurveys(),
    newRow: (surveyId, number, date) => (surveyId === SAMPLE_SURVEYS.nps ? npsRow : checkoutRow)(number, date),
    responseColumn: 'What could we do better?\n(optional)',
  },
  {
    name: 'no-quote',
    surveys: () =>
      new Map([
        [NQ.feedback, { header: [...FEEDBACK_HEADER], rows: rows(feedbackRow, 24, Date.UTC(2024, 0, 5, 9, 0, 0), 2000) }],
        [NQ.shop, { header: [...SHOP_HEADER], rows: rows(shopRow, 10, Date.UTC(2024, 1, 1, 12, 0, 0), 3600) }],
      ]),
    newRow: (surveyId, number, date) => (surveyId === NQ.shop ? shopRow : feedbackRow)(number, date),
    responseColumn: 'What could we do better?\n(optional)',
  },
];

const NEW_PER_SURVEY = 3;

/**
 * The connector's cursor is inclusive (README, "Incremental sync and state"): a run resumed from a state
 * emits again the responses submitted in the cursor's second, i.e. each survey's newest response(s) of the
 * previous run, and the target's upsert on the key (Number, survey_id[, question]) turns them into updates.
 * So on a resumed run: RECORDs = new responses + those "boundary" responses; rows added = new responses only.
 * Set to false if the connector ever makes its cursor exclusive.
 */
const CURSOR_INCLUSIVE = false;

/** Each survey's responses in its newest second (what an inclusive cursor emits again). */
function boundaryKeys(surveys: Surveys): Set<string> {
  const out = new Set<string>();
  if (!CURSOR_INCLUSIVE) return out;
  for (const [survey_id, s] of surveys) {
    const d = s.header.indexOf('Date Submitted');
    const newest = s.rows.reduce((m, r) => (r[d]! > m ? r[d]! : m), '');
    for (const r of s.rows) if (r[d] === newest) out.add(keyOf({ survey_id, number: r[0]! }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

// Shown as a skipped test whose title is the reason (and the suites below are skipped).
if (SKIP_REASON) it.skip(`needs PostgreSQL and the Singer target: ${SKIP_REASON}`, () => {});

for (const variant of VARIANTS) {
  // Decided at collection time so that test titles can say what is skipped and why.
  const hasQuote = [...variant.surveys().values()].some((s) => s.header.some((h) => h.includes('"')));
  /** Streams this variant loads: only survey_answers when a question holds `"` (the target cannot make that column). */
  const streams = hasQuote ? [ANSWERS] : [RESPONSES, ANSWERS];
  const selected = (stream: string): boolean => streams.includes(stream);
  const responsesIt = selected(RESPONSES) ? it : it.skip;
  const responsesNote = selected(RESPONSES)
    ? ''
    : ` [not selected: a question of the ${variant.name} data holds '"', which the target cannot use as a column name]`;

  describe.skipIf(SKIP_REASON !== '')(
    `tap-hotjar | target-postgres → PostgreSQL (${variant.name} data; streams: ${streams.join(', ')})`,
    { timeout: 180_000 },
    () => {
      const schema = `hotjar_${variant.name.replace(/\W/g, '')}_${randomBytes(4).toString('hex')}`;
      let sandbox: HotjarSandbox | undefined;
      let dir = '';
      let files: { config: string; catalog: string; target: string };
      const discovered: string[] = [];
      let first: PipelineRun | undefined;
      let second: PipelineRun | undefined;
      let statePath = '';
      /** Responses added before the second run. */
      const newKeys = new Set<string>();
      /** Responses a resumed run emits again (inclusive cursor), before the second and the third run. */
      let boundary2 = new Set<string>();
      let boundary3 = new Set<string>();
      const before: Record<string, number> = {};
      let batchedAfterFirst: string | null = null;

      const table = (stream: string): string => `${ident(schema)}.${ident(stream)}`;
      const count = (stream: string): number => Number(query<{ n: number }>(`SELECT count(*) AS n FROM ${table(stream)}`)[0]!.n);
      const exists = (stream: string): boolean => tableColumns(schema, stream).length > 0;
      const ran = (run: PipelineRun | undefined, which: string): PipelineRun => {
        if (!run) throw new Error(`the ${which} run did not happen (see the first failure above)`);
        return run;
      };
      const surveys = (): Surveys => surveysOf(sandbox!);
      const answersInDb = (): AnswerRow[] =>
        query<AnswerRow & { tags: unknown }>(
          `SELECT survey_id::text AS survey_id, "number"::text AS number, question, answer, tags FROM ${table(ANSWERS)}`,
        ).map((r) => ({ survey_id: r.survey_id, number: r.number, question: r.question, answer: r.answer, tags: normaliseTags(r.tags) }));
      const responsesInDb = (): (ResponseKey & { date: string; site_id: string })[] =>
        query<ResponseKey & { date: string; site_id: string }>(
          `SELECT survey_id::text AS survey_id, "number"::text AS number, to_char("date submitted", 'YYYY-MM-DD HH24:MI:SS') AS date, site_id::text AS site_id FROM ${table(RESPONSES)}`,
        );
      const emitted = (run: PipelineRun, stream: string): ResponseKey[] =>
        run.records(stream).map((r) => ({ survey_id: String(r['survey_id']), number: String(r['Number']) }));

      beforeAll(async () => {
        if (!existsSync(TAP)) {
          throw new Error(`The tap is not built: ${TAP} is missing. Run \`npm run build\` (or set TAP_BIN to the tap's entry point).`);
        }
        if (!existsSync(TARGET))
          throw new Error(`SINGER_TARGET_POSTGRES=${process.env['SINGER_TARGET_POSTGRES']}: ${TARGET} does not exist`);
        query('SELECT 1 AS ok'); // fails early, with psql's message, when the database is unreachable
        sandbox = await new HotjarSandbox({ siteId: SAMPLE_SITE_ID, surveys: variant.surveys() }).start();
        dir = mkdtempSync(join(tmpdir(), `hotjar-pg-e2e-${variant.name}-`));
        const write = (name: string, value: unknown): string => {
          const path = join(dir, name);
          writeFileSync(path, JSON.stringify(value, null, 2));
          return path;
        };
        const config = write('config.json', sandbox.config({ max_attempts: 2, max_retry_wait_seconds: 0.05 }));

        const disc = await runTap(['--config', config, '--discover']);
        if (disc.code !== 0) throw new Error(`tap --discover failed (exit ${disc.code}): ${tail(disc.stderr)}`);
        const catalog = JSON.parse(disc.stdout) as { streams: Record<string, unknown>[] };
        for (const entry of catalog.streams) {
          const id = String(entry['tap_stream_id'] ?? entry['stream']);
          discovered.push(id);
          const metadata = (entry['metadata'] ??= []) as { breadcrumb: string[]; metadata: Record<string, unknown> }[];
          let root = metadata.find((m) => Array.isArray(m.breadcrumb) && m.breadcrumb.length === 0);
          if (!root) metadata.push((root = { breadcrumb: [], metadata: {} }));
          root.metadata['selected'] = streams.includes(id);
          if (streams.includes(id)) root.metadata['replication-method'] = 'INCREMENTAL';
        }
        files = {
          config,
          catalog: write('catalog.json', catalog),
          target: write('target.json', {
            host: process.env['PGHOST'],
            port: Number(process.env['PGPORT'] ?? 5432),
            user: process.env['PGUSER'] ?? process.env['USER'],
            password: process.env['PGPASSWORD'] ?? '',
            dbname: process.env['PGDATABASE'] ?? process.env['PGUSER'],
            default_target_schema: schema,
            // _sdc_batched_at shows which rows a run wrote (the target upserts, so a re-emitted row gets a new one).
            add_metadata_columns: true,
          }),
        };
      });

      afterAll(async () => {
        await sandbox?.stop();
        if (process.env['KEEP_PG_SCHEMA'] === '1') console.warn(`kept schema ${schema} and ${dir}`);
        else {
          try {
            exec(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
          } catch {
            /* the database may be gone; nothing to clean then */
          }
          if (dir) rmSync(dir, { recursive: true, force: true });
        }
      });

      it(`discover lists ${streams.join(' and ')}`, () => {
        for (const s of streams) expect(discovered, `stream ${s} is not in the discovered catalog`).toContain(s);
      });

      // ---- first run -----------------------------------------------------------------------------------
      it("first run: tap | target both exit 0; the target's STATE line is the tap's last STATE", async () => {
        const run = await runPipeline(files);
        writeFileSync(join(dir, 'tap-1.jsonl'), run.messages.map((m) => JSON.stringify(m)).join('\n'));
        first = run;
        expect(
          run.messages.filter((m) => m.type === 'NOT-JSON'),
          run.describe(),
        ).toEqual([]);
        expect(run.tapCode, run.describe()).toBe(0);
        expect(run.targetCode, run.describe()).toBe(0);
        expect(run.tapState, `the tap printed no STATE\n${run.describe()}`).toBeDefined();
        expect(run.targetState, `the target printed no STATE\n${run.describe()}`).toBeDefined();
        expect(run.targetState).toEqual(run.tapState);
      });

      responsesIt(
        `survey_responses: every response is a row (count and Numbers per survey, site_id, Date Submitted)${responsesNote}`,
        () => {
          const run = ran(first, 'first');
          expect(exists(RESPONSES), `no table ${schema}.${RESPONSES}\n${run.describe()}`).toBe(true);
          const actual = responsesInDb();
          const expected = expectedResponses(surveys());
          expect(run.records(RESPONSES).length, 'survey_responses RECORDs the tap printed').toBe(expected.length);
          for (const id of surveys().keys()) {
            const mine = (rs: ResponseKey[]) => rs.filter((r) => r.survey_id === id);
            expect(mine(actual).length, `survey_responses: row count of survey ${id}`).toBe(mine(expected).length);
            expect(sortedKeys(mine(actual)), `survey_responses: Numbers of survey ${id}`).toEqual(sortedKeys(mine(expected)));
          }
          expect(sortedJson(actual.map(({ survey_id, number, date }) => ({ survey_id, number, date })))).toEqual(sortedJson(expected));
          expect(new Set(actual.map((r) => r.site_id))).toEqual(new Set([SAMPLE_SITE_ID]));
        },
      );

      responsesIt(
        `survey_responses: the column of ${JSON.stringify(variant.responseColumn)} holds each response's answer exactly (multi-line, quoted, empty)${responsesNote}`,
        () => {
          const run = ran(first, 'first');
          expect(exists(RESPONSES), `no table ${schema}.${RESPONSES}\n${run.describe()}`).toBe(true);
          const col = columnName(variant.responseColumn);
          expect(
            tableColumns(schema, RESPONSES),
            `survey_responses: no column for the question ${JSON.stringify(variant.responseColumn)}`,
          ).toContain(col);
          const actual = query<ResponseKey & { v: string | null }>(
            `SELECT survey_id::text AS survey_id, "number"::text AS number, ${ident(col)} AS v FROM ${table(RESPONSES)}`,
          );
          const expected: (ResponseKey & { v: string | null })[] = [];
          for (const [survey_id, s] of surveys()) {
            const i = s.header.indexOf(variant.responseColumn);
            for (const row of s.rows) expected.push({ survey_id, number: row[0]!, v: i < 0 ? null : stored(row[i]) });
          }
          // The data must exercise what this checks: quotes, line breaks, empty cells.
          expect(expected.some((e) => e.v?.includes('"'))).toBe(true);
          expect(expected.some((e) => e.v !== null && /\\r\\n|\\n|\n/.test(e.v))).toBe(true);
          expect(expected.some((e) => e.v === null)).toBe(true);
          expect(sortedJson(actual)).toEqual(sortedJson(expected));
        },
      );

      it('survey_answers: every non-empty answer cell (questions and user attributes) is a row with its question, answer and tags', () => {
        const run = ran(first, 'first');
        expect(exists(ANSWERS), `no table ${schema}.${ANSWERS}\n${run.describe()}`).toBe(true);
        expect(tableColumns(schema, ANSWERS), `columns of ${schema}.${ANSWERS}`).toEqual(
          expect.arrayContaining(['site_id', 'survey_id', 'number', 'date submitted', 'question', 'answer', 'tags', 'position']),
        );
        const expected = expectedAnswers(surveys());
        expect(expected.some((e) => e.question === 'User ID')).toBe(true); // user attributes are answer rows
        expect(expected.some((e) => e.tags !== null)).toBe(true);
        expect(run.records(ANSWERS).length, 'survey_answers RECORDs the tap printed').toBe(expected.length);
        const actual = answersInDb();
        expect(actual.length, 'survey_answers: row count').toBe(expected.length);
        expect(sortedJson(actual)).toEqual(sortedJson(expected));
      });

      it('survey_answers: no fixed or "Tags for:" column is a question; one position per question, in header order; site_id', () => {
        const run = ran(first, 'first');
        expect(exists(ANSWERS), `no table ${schema}.${ANSWERS}\n${run.describe()}`).toBe(true);
        const rows = query<{ survey_id: string; question: string; position: number | string | null; site_id: string }>(
          `SELECT DISTINCT survey_id::text AS survey_id, question, position, site_id::text AS site_id FROM ${table(ANSWERS)}`,
        );
        const fixed = [...FIXED].map(stored);
        expect(rows.filter((r) => fixed.includes(r.question) || r.question.startsWith(TAGS_PREFIX))).toEqual([]);
        expect(new Set(rows.map((r) => r.site_id))).toEqual(new Set([SAMPLE_SITE_ID]));
        for (const [survey_id, s] of surveys()) {
          const byQuestion = new Map<string, Set<number>>();
          for (const r of rows.filter((x) => x.survey_id === survey_id)) {
            expect(r.position, `position of ${JSON.stringify(r.question)}`).not.toBeNull();
            byQuestion.set(r.question, (byQuestion.get(r.question) ?? new Set<number>()).add(Number(r.position)));
          }
          for (const [q, set] of byQuestion) expect(set.size, `positions of ${JSON.stringify(q)} in survey ${survey_id}`).toBe(1);
          const headerOrder = s.header.map(stored).filter((q): q is string => q !== null && byQuestion.has(q));
          const byPosition = [...byQuestion].sort((a, b) => [...a[1]][0]! - [...b[1]][0]!).map(([q]) => q);
          expect(byPosition, `questions of survey ${survey_id} ordered by position`).toEqual(headerOrder);
        }
      });

      // ---- second run: resume from the target's STATE ------------------------------------------------------
      it(`second run with the target's STATE as --state (after ${NEW_PER_SURVEY} new responses per survey): both exit 0`, async () => {
        const firstRun = ran(first, 'first');
        expect(firstRun.targetState, 'the first run left no state to resume from').toBeDefined();
        statePath = join(dir, 'state.json');
        writeFileSync(statePath, JSON.stringify(firstRun.targetState));
        for (const s of streams) before[s] = exists(s) ? count(s) : 0;
        const loaded = streams.filter(exists);
        batchedAfterFirst = loaded.length
          ? query<{ t: string | null }>(
              `SELECT max(_sdc_batched_at)::text AS t FROM (${loaded.map((s) => `SELECT _sdc_batched_at FROM ${table(s)}`).join(' UNION ALL ')}) b`,
            )[0]!.t
          : null;

        boundary2 = boundaryKeys(surveys());
        // New responses: Numbers above the newest (with a gap), dates after it; newest first, on top of each survey.
        for (const [id, s] of surveys()) {
          const newest = s.rows[0]!;
          const top = Number(newest[0]);
          const topMs = Date.parse(`${newest[2]!.replace(' ', 'T')}Z`);
          const added: string[][] = [];
          for (let k = 1; k <= NEW_PER_SURVEY; k++) {
            const number = top + k + (k > 1 ? 1 : 0);
            added.unshift(variant.newRow(id, number, fileDate(topMs + k * 3_600_000)));
            newKeys.add(keyOf({ survey_id: id, number: String(number) }));
          }
          sandbox!.addResponses(id, added);
        }

        const run = await runPipeline({ ...files, state: statePath });
        writeFileSync(join(dir, 'tap-2.jsonl'), run.messages.map((m) => JSON.stringify(m)).join('\n'));
        second = run;
        expect(run.tapCode, run.describe()).toBe(0);
        expect(run.targetCode, run.describe()).toBe(0);
        expect(run.targetState, `the target printed no STATE\n${run.describe()}`).toBeDefined();
        expect(run.targetState).toEqual(run.tapState);
      });

      responsesIt(`survey_responses, second run: the tap emitted exactly the new responses and they were added${responsesNote}`, () => {
        const run = ran(second, 'second');
        // The tap's own RECORDs (teed from its stdout): the new responses, plus the cursor's second again
        // (CURSOR_INCLUSIVE); nothing older.
        const emittedKeys = new Set([...newKeys, ...boundary2]);
        expect(
          run.records(RESPONSES).length,
          `survey_responses RECORDs on the second run: ${newKeys.size} new + ${boundary2.size} in the cursor's second\n${run.describe()}`,
        ).toBe(emittedKeys.size);
        expect(sortedKeys(emitted(run, RESPONSES)), 'survey_responses RECORDs on the second run').toEqual([...emittedKeys].sort());
        expect(count(RESPONSES), `survey_responses: rows after the second run (before: ${before[RESPONSES]})`).toBe(
          before[RESPONSES]! + newKeys.size,
        );
        expect(sortedJson(responsesInDb().map(({ survey_id, number, date }) => ({ survey_id, number, date })))).toEqual(
          sortedJson(expectedResponses(surveys())),
        );
        // The target upserts and stamps every row it writes: only the emitted rows have a newer _sdc_batched_at.
        expect(batchedAfterFirst, 'no _sdc_batched_at after the first run').not.toBeNull();
        const touched = query<ResponseKey>(
          `SELECT survey_id::text AS survey_id, "number"::text AS number FROM ${table(RESPONSES)} WHERE _sdc_batched_at > '${batchedAfterFirst}'::timestamp`,
        );
        expect(sortedKeys(touched), 'survey_responses: rows written by the second run').toEqual([...emittedKeys].sort());
      });

      it("survey_answers, second run: the tap emitted exactly the new responses' answers and they were added", () => {
        const run = ran(second, 'second');
        const expectedNew = expectedAnswers(surveys(), newKeys);
        // New responses' answers, plus the answers of the cursor's second again (CURSOR_INCLUSIVE).
        const expectedEmitted = expectedAnswers(surveys(), new Set([...newKeys, ...boundary2]));
        expect(run.records(ANSWERS).length, `survey_answers RECORDs on the second run\n${run.describe()}`).toBe(expectedEmitted.length);
        expect([...new Set(sortedKeys(emitted(run, ANSWERS)))]).toEqual([...new Set(sortedKeys(expectedEmitted))]);
        expect(exists(ANSWERS), `no table ${schema}.${ANSWERS}`).toBe(true);
        expect(count(ANSWERS), `survey_answers: rows after the second run (before: ${before[ANSWERS]})`).toBe(
          before[ANSWERS]! + expectedNew.length,
        );
        expect(sortedJson(answersInDb())).toEqual(sortedJson(expectedAnswers(surveys())));
        expect(batchedAfterFirst, 'no _sdc_batched_at after the first run').not.toBeNull();
        const touched = query<ResponseKey>(
          `SELECT DISTINCT survey_id::text AS survey_id, "number"::text AS number FROM ${table(ANSWERS)} WHERE _sdc_batched_at > '${batchedAfterFirst}'::timestamp`,
        );
        expect(sortedKeys(touched), 'survey_answers: responses written by the second run').toEqual([
          ...new Set(sortedKeys(expectedEmitted)),
        ]);
      });

      // ---- third run: nothing new ------------------------------------------------------------------------
      it(`third run with the second STATE and nothing new: ${CURSOR_INCLUSIVE ? "only the cursor's second again" : 'no RECORD'}, no row added`, async () => {
        const secondRun = ran(second, 'second');
        boundary3 = boundaryKeys(surveys());
        const path = join(dir, 'state-2.json');
        writeFileSync(path, JSON.stringify(secondRun.targetState));
        const loaded = streams.filter(exists);
        const counts = loaded.map(count);
        const run = await runPipeline({ ...files, state: path });
        expect(run.tapCode, run.describe()).toBe(0);
        expect(run.targetCode, run.describe()).toBe(0);
        for (const s of streams) {
          const expected = s === RESPONSES ? [...boundary3].sort() : [...new Set(sortedKeys(expectedAnswers(surveys(), boundary3)))];
          expect([...new Set(sortedKeys(emitted(run, s)))], `${s} RECORDs on the third run\n${run.describe()}`).toEqual(expected);
        }
        expect(
          run.messages.filter((m) => m.type === 'RECORD' && !streams.includes(m.stream ?? '')),
          'RECORDs of unselected streams',
        ).toEqual([]);
        expect(loaded.map(count), `row counts of ${loaded.join(', ')}`).toEqual(counts);
        expect(run.targetState, `the target printed no STATE\n${run.describe()}`).toEqual(run.tapState);
      });
    },
  );
}
