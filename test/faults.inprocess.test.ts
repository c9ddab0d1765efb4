/**
 * The HTTP fault matrix, in-process: each fault the stand-in can inject, against the real `read` and
 * `check` commands (src/airbyte, through the Hotjar client and the one read driver) without a child
 * process. For each: the exact records (no loss, no duplicates), the states, the exit code, every line
 * valid against the Airbyte protocol schema, and that no secret leaks. Each test has its own stand-in.
 * The process contract (signals, closed stdout, stderr) is in faults.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import type { Fault } from '../devtools/stand-in/server.js';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, generate, npsRow } from '../devtools/stand-in/data.js';
import { toCsv } from '../devtools/stand-in/csv.js';
import { airbyteEntry } from '../src/airbyte/cli.js';
import { clearSecrets } from '../src/core/secrets.js';
import { runEntry } from './inprocess/entry.js';
import {
  assertAllValid,
  catalog,
  errors,
  expectedRecord,
  records,
  states,
  standIn,
  statuses,
  writeJson,
  type RunResult,
  type StandIn,
} from './helpers.js';

vi.mock('node:worker_threads', async (original) => (await import('./inprocess/worker-threads.js')).withBuiltWorkers(await original()));

const SITE = '1234567';
const PASSWORD = 'S3cr3t-Pa55w0rd-do-not-leak-🔑';

interface FaultEnv extends StandIn {
  catalogPath: string;
  /** read with this stand-in's config (plus `extra`): every line valid, no secret anywhere. */
  read: (extra?: Record<string, unknown>) => Promise<RunResult>;
  /** The records a survey's rows map to. */
  expected: (surveyId: string) => Record<string, unknown>[];
  /** A survey's newest `Date Submitted`, cursor form. */
  newest: (surveyId: string) => string;
  /** Exit 0, every response of both surveys exactly once, both cursors at the newest, COMPLETE. */
  expectComplete: (r: RunResult) => void;
}

/**
 * This test's own stand-in (300 responses to survey 111, 40 to survey 222) and its helpers.
 * `overlapping` is for the tests that run concurrently (see runEntry).
 */
async function faultEnv(test: TestContext, options: { overlapping?: boolean } = {}): Promise<FaultEnv> {
  const env = await standIn(
    test,
    {
      siteId: SITE,
      password: PASSWORD,
      surveys: new Map([
        ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 300) }],
        ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 40, Date.UTC(2023, 9, 1, 8, 0, 0), 3600) }],
      ]),
    },
    { max_attempts: 4, max_retry_wait_seconds: 0.01, request_timeout_seconds: 2 },
  );
  const catalogPath = writeJson(env.dir, 'catalog.json', catalog('incremental'));
  const expected = (surveyId: string): Record<string, unknown>[] => {
    const s = env.survey(surveyId);
    return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
  };
  const newest = (surveyId: string): string => env.survey(surveyId).rows[0]![2]!.replace(' ', 'T');
  return {
    ...env,
    catalogPath,
    expected,
    newest,
    read: async (extra = {}) => {
      const r = await runEntry(airbyteEntry, { _: ['read'], config: env.config(extra), catalog: catalogPath }, options);
      assertAllValid(r);
      env.noLeaks(r);
      return r;
    },
    expectComplete: (r) => {
      expect(r.code, r.stdout.slice(-2000)).toBe(0);
      expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
      expect(cursorOf(r, '111')).toBe(newest('111'));
      expect(cursorOf(r, '222')).toBe(newest('222'));
      expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    },
  };
}

const command = (name: 'read' | 'check', args: { config: string; catalog?: string }): Promise<RunResult> =>
  runEntry(airbyteEntry, { _: [name], ...args });

const cursorOf = (r: RunResult, id: string): string | undefined =>
  ((states(r).at(-1)?.['stream'] as { stream_state: { surveys: Record<string, Record<string, string>> } } | undefined)?.stream_state
    .surveys[id] ?? {})['Date Submitted'];
const logs = (r: RunResult): string[] => r.messages.filter((m) => m.type === 'LOG').map((m) => (m['log'] as { message: string }).message);

function zipOf(files: Record<string, string | Uint8Array>): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) entries[k] = typeof v === 'string' ? strToU8(v) : v;
  return Buffer.from(zipSync(entries));
}

describe('transient faults are retried and lose nothing', () => {
  it('no fault: both surveys in full, one login, one export and one download each', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    expectComplete(await read());
    expect([sandbox.count('login'), sandbox.count('export'), sandbox.count('download')]).toEqual([1, 2, 2]);
  });

  it('a burst of 500, 502 and 503 on export', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    const burst: Fault[] = [500, 502, 503].map((status) => ({ kind: 'status', status }));
    sandbox.fault('export', ...burst);
    const r = await read();
    expectComplete(r);
    expect(logs(r).filter((l) => /attempt \d of 4 failed: HTTP 50[023]/.test(l))).toHaveLength(3);
    expect(sandbox.count('export')).toBe(5);
  });

  it('gives up after the attempt budget, saying how many attempts and the last answer', async (test) => {
    const { sandbox, read, expected, newest } = await faultEnv(test);
    sandbox.fault('export', ...[1, 2, 3, 4].map((): Fault => ({ kind: 'status', status: 503 })));
    const r = await read();
    expect(r.code).toBe(1);
    const errs = errors(r);
    expect(errs[0]!.message).toMatch(/export of survey 111 failed after 4 attempts; the last answer was HTTP 503/);
    expect(errs[0]!.failure_type).toBe('transient_error');
    // Exactly the budget for survey 111, then one export for 222.
    expect(sandbox.count('export')).toBe(5);
    // The other survey still synced; the failed one's cursor did not move.
    expect(records(r)).toEqual(expected('222'));
    expect(cursorOf(r, '111')).toBeUndefined();
    expect(cursorOf(r, '222')).toBe(newest('222'));
    expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
  });

  it('a connection reset during export', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    sandbox.fault('export', { kind: 'reset' });
    const r = await read();
    expectComplete(r);
    expect(logs(r).some((l) => /ECONNRESET|other side closed|socket/i.test(l))).toBe(true);
  });

  it('a reset half way through the download is retried; each response exactly once', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    sandbox.fault('download', { kind: 'reset-after', bytes: 9000 });
    const r = await read();
    expectComplete(r);
    expect(sandbox.count('download')).toBe(3);
    expect(logs(r).some((l) => /download of survey 111: attempt 1 of \d+ failed.*retrying/.test(l))).toBe(true);
  });

  it('a truncated download and a corrupt archive are retried from a fresh export', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    sandbox.fault('download', { kind: 'truncate-after', bytes: 12000 }, { kind: 'corrupt' });
    const r = await read();
    expectComplete(r);
    expect(logs(r).filter((l) => /fresh export/.test(l))).toHaveLength(2);
    expect([sandbox.count('export'), sandbox.count('download')]).toEqual([4, 4]);
  });

  it('a plain-CSV download cut inside a row is retried from a fresh export', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    sandbox.plainCsv = true;
    sandbox.fault('download', { kind: 'truncate-after', bytes: 20011 });
    const r = await read();
    expectComplete(r);
    expect(
      logs(r).some((l) =>
        /plain CSV (that ends (inside a quoted field|in the middle of a line)|whose transfer did not prove its length).*fresh export/.test(
          l,
        ),
      ),
    ).toBe(true);
  });

  it('an expired session: one fresh login, then the call is repeated', async (test) => {
    const { sandbox, read, expectComplete } = await faultEnv(test);
    sandbox.fault('export', { kind: 'session-expired' });
    const r = await read();
    expectComplete(r);
    expect(sandbox.count('login')).toBe(2);
    expect(sandbox.count('export')).toBe(3);
  });

  it('a second refusal after a fresh login is a clear error', async (test) => {
    const { sandbox, read, expected } = await faultEnv(test);
    sandbox.fault('export', { kind: 'session-expired' }, { kind: 'session-expired' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/refused the export of survey 111 in site 1234567 even after a fresh login/);
    expect(records(r)).toEqual(expected('222'));
  });

  // What these faults cost is mostly waiting (Retry-After, timeouts), so they run side by side. Their runs
  // overlap: see `overlapping` in inprocess/entry.ts; the masking state is cleared once, here.
  describe.concurrent('that cost waiting, side by side', () => {
    beforeAll(() => clearSecrets());

    it('429 with Retry-After in seconds on login: the wait is honoured', async (test) => {
      const { sandbox, read, expectComplete } = await faultEnv(test, { overlapping: true });
      sandbox.fault('login', { kind: 'status', status: 429, retryAfter: '1' });
      const started = Date.now();
      // A wait of 1 s is honoured in full (the backoff between attempts is 1 s too at this setting).
      const r = await read({ max_retry_wait_seconds: 1 });
      expectComplete(r);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(logs(r).some((l) => /login: attempt 1 of 4 failed: HTTP 429.*asked to wait 1\.0 s/.test(l))).toBe(true);
      expect([sandbox.count('login'), sandbox.count('export')]).toEqual([2, 2]);
    });

    it('429 with Retry-After as an HTTP date on export', async (test) => {
      const { sandbox, read, expectComplete } = await faultEnv(test, { overlapping: true });
      sandbox.fault('export', { kind: 'status', status: 429, retryAfter: new Date(Date.now() + 1000).toUTCString() });
      const r = await read({ max_retry_wait_seconds: 1 });
      expectComplete(r);
      // "asked to wait" only when the date was read.
      expect(logs(r).some((l) => /export of survey 111: attempt 1 of 4 failed: HTTP 429.*asked to wait \d\.\d s/.test(l))).toBe(true);
      expect([sandbox.count('login'), sandbox.count('export')]).toEqual([1, 3]);
    });

    it('a hung server: the attempt times out and the next one succeeds', async (test) => {
      const { sandbox, read, expectComplete } = await faultEnv(test, { overlapping: true });
      sandbox.fault('export', { kind: 'hang' });
      sandbox.fault('download', { kind: 'hang-after', bytes: 5000 });
      const r = await read({ request_timeout_seconds: 0.5 });
      expectComplete(r);
      expect(logs(r).some((l) => /UND_ERR_HEADERS_TIMEOUT|Headers Timeout/i.test(l))).toBe(true);
      expect(logs(r).some((l) => /UND_ERR_BODY_TIMEOUT|Body Timeout/i.test(l))).toBe(true);
    });

    it('a login that fails on every attempt ends the read with one error, not one per survey and stream', async (test) => {
      const { sandbox, read } = await faultEnv(test);
      sandbox.fault('login', ...[1, 2, 3, 4].map((): Fault => ({ kind: 'status', status: 503 })));
      const r = await read({ max_concurrent_surveys: 2 });
      expect(r.code).toBe(1);
      const errs = errors(r);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ failure_type: 'transient_error' });
      expect(errs[0]!.message).toMatch(/^Hotjar login failed after 4 attempts; the last answer was HTTP 503/);
      expect(r.messages.filter((m) => m.type === 'STATE')).toEqual([]);
      expect(r.messages.filter((m) => m.type === 'RECORD')).toEqual([]);
      expect([sandbox.count('login'), sandbox.count('export')]).toEqual([4, 0]);
    });

    it('a server silent on every attempt: the error names request_timeout_seconds, the setting to raise', async (test) => {
      const { sandbox, read } = await faultEnv(test);
      sandbox.fault('export', { kind: 'hang' }, { kind: 'hang' });
      const r = await read({ request_timeout_seconds: 0.3, max_attempts: 2, survey_ids: ['111'] });
      expect(r.code).toBe(1);
      const error = errors(r)[0];
      expect(error?.failure_type).toBe('transient_error');
      expect(error?.message).toMatch(
        /failed after 2 attempts.*went silent for request_timeout_seconds \(0\.3 s\).*raise request_timeout_seconds/,
      );
    });
  });
});

describe('answers that will not change fail at once, clearly', () => {
  it('bad credentials: one login attempt, a config_error, nothing read', async (test) => {
    const { sandbox, read } = await faultEnv(test);
    const r = await read({ password: 'wrong-password-1234' });
    expect(r.code).toBe(1);
    expect(sandbox.count('login')).toBe(1);
    expect(sandbox.count('export')).toBe(0);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('config_error');
    expect(errs[0]!.message).toMatch(/refused the login.*two-factor.*SSO/);
    expect(r.stdout).not.toContain('wrong-password-1234');
    expect(records(r)).toHaveLength(0);
    expect(statuses(r)).toEqual(['STARTED', 'INCOMPLETE']);
  });

  it('a login answered 200 with success:false is a failed login too', async (test) => {
    const { sandbox, read } = await faultEnv(test);
    sandbox.loginFailureShape = 'success-false';
    const r = await read({ password: 'wrong-password-1234' });
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/did not accept the login.*Invalid email or password/);
    expect(r.stdout).not.toContain('wrong-password-1234');
  });

  it('an unknown survey is named; the others still sync', async (test) => {
    const { read, expected } = await faultEnv(test);
    const r = await read({ survey_ids: ['111', '999', '222'] });
    expect(r.code).toBe(1);
    expect(errors(r).map((e) => e.message)).toEqual([expect.stringMatching(/no survey 999 in site 1234567/)]);
    expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
  });

  it('a missing download_url names the survey and does not move its cursor', async (test) => {
    const { sandbox, read, expected } = await faultEnv(test);
    sandbox.fault('export', { kind: 'no-download-url' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/survey 111.*no download_url/);
    expect(cursorOf(r, '111')).toBeUndefined();
    expect(records(r)).toEqual(expected('222'));
  });

  it('an export answer that is not JSON', async (test) => {
    const { sandbox, read } = await faultEnv(test);
    sandbox.fault('export', { kind: 'not-json' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/export of survey 111 with something that is not JSON/);
  });

  it('never follows an API redirect to another origin, so credentials stay home', async (test) => {
    const { sandbox, read } = await faultEnv(test);
    sandbox.fault('export', { kind: 'redirect', location: `${sandbox.downloadOrigin}/steal` });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/redirect to http:\/\/127\.0\.0\.2.*never follows redirects with credentials/);
    const downloads = sandbox.requests.filter((q) => q.endpoint === 'download');
    // Survey 222's download only: nothing went to /steal, and no credential reached the storage host.
    expect(downloads).toHaveLength(1);
    expect(downloads.every((d) => !d.url.startsWith('/steal') && d.hadCredentials === false)).toBe(true);
  });
});

describe('damage and order', () => {
  it('a damaged archive (bad byte in a date, CRC fails) emits nothing; the fresh export is read once', async (test) => {
    const { sandbox, read, expected, newest } = await faultEnv(test);
    const s = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const stored = Buffer.from(zipSync({ 'x.csv': strToU8(toCsv(s.header, s.rows)) }, { level: 0 }));
    const top = s.rows[0]!;
    const at = stored.indexOf(Buffer.from(`"${top[0]}","${top[1]}","${top[2]}"`)) + `"${top[0]}","${top[1]}","`.length;
    stored[at + 1] = 0x39; // 2023 → 2923: still a valid date, so only the CRC can tell
    sandbox.fault('download', { kind: 'body', body: stored });
    const r = await read();
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    // Verified before parsing: not one record from the damaged copy, each response exactly once.
    expect(records(r).filter((d) => d['survey_id'] === '111')).toEqual(expected('111'));
    expect(r.stdout).not.toContain('2923-');
    expect(cursorOf(r, '111')).toBe(newest('111'));
    expect(logs(r).some((l) => /CRC.*fresh export.*nothing was emitted/.test(l))).toBe(true);
  });

  it('a bad value that is really archive damage is retried, not reported', async (test) => {
    const { sandbox, read, expected } = await faultEnv(test);
    const s = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const stored = Buffer.from(zipSync({ 'x.csv': strToU8(toCsv(s.header, s.rows)) }, { level: 0 }));
    const row = s.rows[3]!;
    const at = stored.indexOf(Buffer.from(`"${row[0]}","${row[1]}","${row[2]}"`)) + `"${row[0]}","${row[1]}","`.length;
    stored[at + 4] = 0x2f; // 2023-09-… → 2023/09-…: not a date
    sandbox.fault('download', { kind: 'body', body: stored });
    const r = await read();
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
  });

  it("a storage error that quotes the URL's signature does not leak it", async (test) => {
    const { sandbox, read } = await faultEnv(test);
    sandbox.fault('download', { kind: 'echo-query' }, { kind: 'echo-query' }, { kind: 'echo-query' }, { kind: 'echo-query' });
    const r = await read({ survey_ids: ['111'] });
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/storage host refused the download of survey 111 .*HTTP 403/);
    // noLeaks (in read) checked every signature the stand-in issued; the error really quoted them.
    expect(sandbox.issuedSecrets.length).toBeGreaterThan(0);
  });
});

describe('corrupt data: a TRACE naming survey, line and column; no STATE advance for that survey', () => {
  const header = CHECKOUT_HEADER;
  const rows = generate(checkoutRow, 5);
  // Where a row starts: headers and answers hold line breaks, so count them.
  const linesOf = (fields: string[]): number => 1 + fields.join('').split('\n').length - 1;
  const startOfRow = (i: number): number => 1 + linesOf(header) + rows.slice(0, i).reduce((n, r) => n + linesOf(r), 0);
  const cases: [string, string | Buffer, RegExp][] = [
    ['a malformed row', toCsv(header, rows) + '"99","x","2023-01-01 00:00:00"\n', /survey 111 is not valid CSV at line \d+/],
    ['an unclosed quote', toCsv(header, rows).slice(0, -1) + ',"\n', /survey 111 is not valid CSV/],
    [
      'an unparseable date',
      toCsv(header, [rows[0]!, rows[1]!.map((v, i) => (i === 2 ? '27/09/2023 21:00' : v))]),
      new RegExp(`line ${startOfRow(1)}, column "Date Submitted": "27/09/2023 21:00"`),
    ],
    [
      'a ZIP with several entries',
      zipOf({ 'a.csv': toCsv(header, rows), 'b.csv': toCsv(header, rows) }),
      /ZIP .*(2 entries|2 files|two|more than one|second)/i,
    ],
    [
      '256 KiB of zeros (one giant record) over max_field_bytes: memory never follows a cell',
      zipOf({ 'bomb.csv': new Uint8Array(256 * 1024) }),
      /larger than max_field_bytes at line 1/,
    ],
  ];
  for (const [name, body, message] of cases) {
    it(name, async (test) => {
      const { sandbox, read, expected, newest } = await faultEnv(test);
      const bytes = Buffer.isBuffer(body) ? body : zipOf({ 'export.csv': body });
      sandbox.fault('download', { kind: 'body', body: bytes });
      const r = await read({ max_field_bytes: 64 * 1024 }); // the smallest the spec allows
      expect(r.code).toBe(1);
      const errs = errors(r);
      expect(errs).toHaveLength(1);
      expect(errs[0]!.message).toMatch(message);
      expect(errs[0]!.message).toContain('survey 111');
      expect(errs[0]!.failure_type).toBe('system_error');
      expect(cursorOf(r, '111')).toBeUndefined();
      expect(cursorOf(r, '222')).toBe(newest('222'));
      expect(records(r).filter((d) => d['survey_id'] === '222')).toEqual(expected('222'));
      expect(statuses(r).at(-1)).toBe('INCOMPLETE');
    });
  }
});

describe('hostile input', () => {
  it('rejects path-like and non-numeric ids and non-http base URLs, naming the field', async (test) => {
    const { sandbox, config, noLeaks } = await faultEnv(test);
    for (const [extra, field] of [
      [{ site_id: '../1' }, 'site_id'],
      [{ survey_ids: ['1/../../x'] }, 'survey_ids'],
      [{ survey_ids: ['abc'] }, 'survey_ids'],
      [{ base_url: 'file:///etc/passwd' }, 'base_url'],
      [{ base_url: 'javascript:alert(1)' }, 'base_url'],
    ] as const) {
      const r = await command('check', { config: config(extra) });
      expect(r.code).toBe(0);
      assertAllValid(r);
      const status = r.messages[0]!['connectionStatus'] as { status: string; message: string };
      expect(status.status).toBe('FAILED');
      expect(status.message).toContain(field);
      noLeaks(r);
    }
    expect(sandbox.requests).toHaveLength(0);
  });

  it('rejects oversized and non-JSON input files without echoing them', async (test) => {
    const { config, dir, noLeaks } = await faultEnv(test);
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"x": "${'a'.repeat(11 * 1024 * 1024)}"}`);
    const r1 = await command('read', { config: config(), catalog: big });
    expect(r1.code).toBe(1);
    expect(errors(r1)[0]!.message).toMatch(/more than the 10485760 bytes allowed/);
    const notJson = writeJson(dir, 'cfg.txt', `password=${PASSWORD}\n`);
    const r2 = await command('check', { config: notJson });
    expect((r2.messages[0]!['connectionStatus'] as { message: string }).message).toMatch(/not valid JSON/);
    noLeaks(r2);
    const unquoted = writeJson(dir, 'cfg2.json', `{\n  "email": "a@b.c",\n  "password": ${PASSWORD.slice(0, 20)}\n}`);
    const r3 = await command('check', { config: unquoted });
    expect((r3.messages[0]!['connectionStatus'] as { message: string }).message).toMatch(/not valid JSON \(line 3, column \d+\)/);
    expect(r3.stdout + r3.stderr).not.toContain(PASSWORD.slice(0, 8));
  });
});
