/**
 * Test helpers: run the real built CLI as a child process, parse and validate what it prints against
 * the official Airbyte protocol schema, and write input files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { expect, type TestContext } from 'vitest';
import { HotjarSandbox, type SandboxOptions } from '../devtools/stand-in/server.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist/airbyte/main.js');
export const PROTOCOL_DIR = join(ROOT, 'test/fixtures');

export interface Message {
  type: string;
  [key: string]: unknown;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  messages: Message[];
}

export interface RunOptions {
  /** Called with the child once it is running (to send signals, close stdout…). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
  env?: Record<string, string>;
  timeoutMs?: number;
  bin?: string;
  /** stdout is text for a person (`tap-hotjar --version`), not messages: not parsed. */
  text?: boolean;
}

/**
 * At most one CLI per core at a time: the end-to-end tests run concurrently, and more child processes
 * than cores only slow every one of them down (each start is CPU-bound).
 */
const MAX_CHILDREN = availableParallelism();
let running = 0;
const waiting: (() => void)[] = [];

async function slot(): Promise<() => void> {
  if (running < MAX_CHILDREN) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing child hands its slot over
  return () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
}

export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const release = await slot();
  try {
    return await spawnCli(args, options);
  } finally {
    release();
  }
}

function spawnCli(args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // Loopback HTTP needs no extra CA bundle; loading one costs ~100 ms per start on this machine.
    // A test that needs one (the HTTPS stand-in's CA) passes it in options.env.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    Object.assign(env, options.env);
    const child = spawn(process.execPath, [options.bin ?? CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI timed out: ${args.join(' ')}`));
    }, options.timeoutMs ?? 25_000);
    options.onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const messages: Message[] = [];
      for (const line of options.text ? [] : stdout.split('\n')) {
        if (line === '') continue;
        try {
          messages.push(JSON.parse(line) as Message);
        } catch {
          reject(new Error(`stdout line is not JSON: ${line.slice(0, 200)}\nstderr: ${stderr}`));
          return;
        }
      }
      resolvePromise({ code, signal, stdout, stderr, messages });
    });
  });
}

let validator: (((m: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Validates one message against the official protocol schema and checks the payload matching `type`. */
export function assertValidMessage(message: Message): void {
  if (!validator) {
    const schema = JSON.parse(readFileSync(join(PROTOCOL_DIR, 'airbyte_protocol.schema.json'), 'utf8')) as { $id: string };
    const ajv = new Ajv({ strict: true });
    addFormats(ajv);
    ajv.addSchema(schema);
    validator = ajv.getSchema(`${schema.$id}#/definitions/AirbyteMessage`) as typeof validator;
  }
  const ok = validator!(message);
  expect(ok, `${JSON.stringify(validator!.errors)} in ${JSON.stringify(message).slice(0, 300)}`).toBe(true);
  const payloadKey: Record<string, string> = {
    RECORD: 'record',
    STATE: 'state',
    LOG: 'log',
    SPEC: 'spec',
    CONNECTION_STATUS: 'connectionStatus',
    CATALOG: 'catalog',
    TRACE: 'trace',
  };
  const key = payloadKey[message.type];
  expect(key, `unexpected message type ${message.type}`).toBeDefined();
  expect(message[key!], `${message.type} without ${key}`).toBeTypeOf('object');
  if (message.type === 'STATE') {
    const state = message['state'] as Record<string, unknown>;
    expect(state['type']).toBe('STREAM');
    expect((state['sourceStats'] as Record<string, unknown>)['recordCount']).toBeTypeOf('number');
  }
  if (message.type === 'TRACE') {
    const trace = message['trace'] as Record<string, unknown>;
    const sub: Record<string, string> = { ERROR: 'error', STREAM_STATUS: 'stream_status', ESTIMATE: 'estimate', ANALYTICS: 'analytics' };
    expect(trace[sub[trace['type'] as string]!]).toBeTypeOf('object');
  }
}

export function assertAllValid(result: RunResult): void {
  for (const m of result.messages) assertValidMessage(m);
}

/** A test's own Hotjar stand-in, its temp folder and config file, and its leak check. */
export interface StandIn {
  sandbox: HotjarSandbox;
  dir: string;
  /** A config file for this stand-in (the defaults given to `standIn`, then `extra`). */
  config: (extra?: Record<string, unknown>) => string;
  /** `config()`, written once. */
  configPath: string;
  /** A generated survey of the stand-in (header and rows, newest first). */
  survey: (id: string) => { header: string[]; rows: string[][] };
  /** The password (raw and JSON-escaped), every cookie, access key and URL signature the stand-in issued, and X-Acc, appear nowhere. */
  noLeaks: (r: RunResult) => void;
}

/**
 * Starts a stand-in owned by the running test: stopped when the test ends, so tests need no shared
 * state and may run concurrently (`describe.concurrent`). Pass the test's own context: the global
 * `onTestFinished` cannot tell concurrent tests apart, and would stop the stand-in when another test ends.
 */
export async function standIn(
  test: Pick<TestContext, 'onTestFinished'>,
  options: SandboxOptions,
  configDefaults: Record<string, unknown> = {},
): Promise<StandIn> {
  const sandbox = await new HotjarSandbox(options).start();
  test.onTestFinished(() => sandbox.stop());
  const dir = tempDir();
  let n = 0;
  // One survey at a time unless a test says otherwise (max_concurrent_surveys): tests compare several
  // surveys' records in order, and the stand-in serves queued faults to requests in arrival order.
  const config = (extra: Record<string, unknown> = {}): string =>
    writeJson(dir, `config-${++n}.json`, sandbox.config({ max_concurrent_surveys: 1, ...configDefaults, ...extra }));
  return {
    sandbox,
    dir,
    config,
    configPath: config(),
    survey: (id) => {
      const s = sandbox.surveys.get(id);
      if (!s || 'file' in s) throw new Error(`no generated survey ${id}`);
      return s;
    },
    noLeaks: (r) => expectNoLeaks(sandbox, r),
  };
}

/** The stand-in's password (raw and JSON-escaped), every cookie, access key and URL signature it issued, and X-Acc appear nowhere in a run's output. */
export function expectNoLeaks(sandbox: HotjarSandbox, r: RunResult): void {
  const all = r.stdout + r.stderr;
  expect(all).not.toContain(sandbox.password);
  expect(all).not.toContain(JSON.stringify(sandbox.password).slice(1, -1));
  for (const secret of sandbox.issuedSecrets) expect(all).not.toContain(secret);
  expect(all).not.toContain(sandbox.accountId);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'source-hotjar-test-'));
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** A configured catalog selecting the named stream(s). */
export function catalog(syncMode: 'incremental' | 'full_refresh' = 'incremental', names: string | string[] = 'survey_responses'): unknown {
  return {
    streams: (Array.isArray(names) ? names : [names]).map((name) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: syncMode,
      destination_sync_mode: 'append',
    })),
  };
}

export const byType = (result: RunResult, type: string): Message[] => result.messages.filter((m) => m.type === type);

export function records(result: RunResult): Record<string, unknown>[] {
  return byType(result, 'RECORD').map((m) => (m['record'] as { data: Record<string, unknown> }).data);
}

/** The records of one stream. */
export function recordsOf(result: RunResult, stream: string): Record<string, unknown>[] {
  return byType(result, 'RECORD')
    .map((m) => m['record'] as { stream: string; data: Record<string, unknown> })
    .filter((r) => r.stream === stream)
    .map((r) => r.data);
}

export function states(result: RunResult): Record<string, unknown>[] {
  return byType(result, 'STATE').map((m) => m['state'] as Record<string, unknown>);
}

export function lastStateFile(dir: string, result: RunResult, name = 'state.json'): string {
  const all = states(result);
  return writeJson(dir, name, [all[all.length - 1]]);
}

export function traces(result: RunResult, type: string): Record<string, unknown>[] {
  return byType(result, 'TRACE')
    .map((m) => m['trace'] as Record<string, unknown>)
    .filter((t) => t['type'] === type);
}

export function errors(result: RunResult): { message: string; failure_type: string }[] {
  return traces(result, 'ERROR').map((t) => t['error'] as { message: string; failure_type: string });
}

/** The lifecycle statuses (STARTED, RUNNING, COMPLETE/INCOMPLETE), without the RUNNING signals that carry a reason (rate limited). */
export function statuses(result: RunResult): string[] {
  return traces(result, 'STREAM_STATUS')
    .map((t) => t['stream_status'] as { status: string; reasons?: unknown[] })
    .filter((s) => s.reasons === undefined)
    .map((s) => s.status);
}

/** Expected record data for a stand-in row: the Airbyte mapping, written independently of the connector. */
export function expectedRecord(header: string[], row: string[], siteId: string, surveyId: string): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  header.forEach((h, i) => {
    const v = row[i]!;
    if (h === 'Number') data[h] = Number(v);
    else if (h === 'Date Submitted') data[h] = v.replace(' ', 'T');
    else data[h] = v === '' ? null : v;
  });
  data['site_id'] = siteId;
  data['survey_id'] = surveyId;
  return data;
}

const FIXED_COLUMNS = ['Number', 'User', 'Date Submitted', 'Country', 'Source URL', 'Device', 'Browser', 'OS', 'Hotjar User ID'];

/**
 * Expected survey_answers records for a stand-in row, written independently of the connector: one per
 * non-empty answer column (every column but the fixed ones and the `Tags for:` ones), with its position
 * among the answer columns and its `Tags for:` cell (null when empty). Assumes unique header texts.
 */
export function expectedAnswers(header: string[], row: string[], siteId: string, surveyId: string): Record<string, unknown>[] {
  const answerColumns = header
    .map((question, index) => ({ question, index }))
    .filter((c) => !FIXED_COLUMNS.includes(c.question) && !c.question.startsWith('Tags for: '));
  return answerColumns.flatMap(({ question, index }, position) => {
    const answer = row[index]!;
    if (answer === '') return [];
    const tagsAt = header.indexOf(`Tags for: ${question}`);
    const tags = tagsAt >= 0 && row[tagsAt] !== '' ? row[tagsAt] : null;
    return [
      {
        site_id: siteId,
        survey_id: surveyId,
        Number: Number(row[0]),
        'Date Submitted': row[2]!.replace(' ', 'T'),
        question,
        position,
        answer,
        tags,
      },
    ];
  });
}
