/**
 * The fault matrix: each fault the stand-in can inject, against the real CLI. For each: the exact
 * records (no loss, no duplicates), the states, the exit code, and that no secret leaks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HotjarSandbox, type Fault } from '../devtools/stand-in/server.js';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, generate, npsRow } from '../devtools/stand-in/data.js';
import { toCsv } from '../devtools/stand-in/csv.js';
import {
  assertAllValid,
  catalog,
  errors,
  expectedRecord,
  records,
  runCli,
  states,
  statuses,
  tempDir,
  writeJson,
  type RunResult,
} from './helpers.js';

const SITE = '1234567';
const PASSWORD = 'S3cr3t-Pa55w0rd-do-not-leak-🔑';
let sandbox: HotjarSandbox;
let dir: string;
let catalogPath: string;

const surveys = (): Map<string, { header: string[]; rows: string[][] }> =>
  new Map([
    ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 300) }],
    ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 40, Date.UTC(2023, 9, 1, 8, 0, 0), 3600) }],
  ]);

function expected(surveyId: string): Record<string, unknown>[] {
  const s = sandbox.surveys.get(surveyId) as { header: string[]; rows: string[][] };
  return s.rows.map((r) => expectedRecord(s.header, r, SITE, surveyId));
}

function config(extra: Record<string, unknown> = {}): string {
  return writeJson(dir, `config-${Math.random().toString(36).slice(2)}.json`, sandbox.config({
    password: PASSWORD,
    max_attempts: 4,
    max_retry_wait_seconds: 0.05,
    request_timeout_seconds: 2,
    ...extra,
  }));
}

/** The password, every cookie, access key and URL signature the stand-in issued, and X-Acc, never appear. */
function noLeaks(r: RunResult): void {
  const all = r.stdout + r.stderr;
  expect(all).not.toContain(PASSWORD);
  expect(all).not.toContain(JSON.stringify(PASSWORD).slice(1, -1));
  for (const secret of sandbox.issuedSecrets) expect(all).not.toContain(secret);
  expect(all).not.toContain(sandbox.accountId);
}

async function read(extra: Record<string, unknown> = {}, args: string[] = []): Promise<RunResult> {
  const r = await runCli(['read', '--config', config(extra), '--catalog', catalogPath, ...args]);
  assertAllValid(r);
  noLeaks(r);
  return r;
}

const cursorOf = (r: RunResult, id: string): string | undefined =>
  ((states(r).at(-1)?.['stream'] as { stream_state: { surveys: Record<string, Record<string, string>> } } | undefined)?.stream_state.surveys[id] ?? {})['Date Submitted'];
const newest = (id: string): string => (sandbox.surveys.get(id) as { rows: string[][] }).rows[0]![2]!.replace(' ', 'T');
const logs = (r: RunResult): string[] => r.messages.filter((m) => m.type === 'LOG').map((m) => (m['log'] as { message: string }).message);

function zipOf(files: Record<string, string | Uint8Array>): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) entries[k] = typeof v === 'string' ? strToU8(v) : v;
  return Buffer.from(zipSync(entries));
}

beforeAll(async () => {
  sandbox = await new HotjarSandbox({ siteId: SITE, surveys: surveys(), password: PASSWORD }).start();
  dir = tempDir();
  catalogPath = writeJson(dir, 'catalog.json', catalog('incremental'));
});
afterAll(() => sandbox.stop());
beforeEach(() => {
  for (const k of ['login', 'export', 'download'] as const) sandbox.faults[k].length = 0;
});

function expectComplete(r: RunResult): void {
  expect(r.code, r.stderr).toBe(0);
  expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
  expect(cursorOf(r, '111')).toBe(newest('111'));
  expect(cursorOf(r, '222')).toBe(newest('222'));
  expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
}

describe('transient faults are retried and lose nothing', () => {
  it('429 with Retry-After on login and export', async () => {
    sandbox.fault('login', { kind: 'status', status: 429, retryAfter: '1' });
    sandbox.fault('export', { kind: 'status', status: 429, retryAfter: new Date(Date.now() + 1000).toUTCString() });
    const started = Date.now();
    const r = await read({ max_retry_wait_seconds: 5 });
    expectComplete(r);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(logs(r).some((l) => /login: attempt 1 of 4 failed: HTTP 429.*asked to wait 1\.0 s/.test(l))).toBe(true);
    expect(logs(r).some((l) => /export of survey 111: attempt 1 of 4 failed: HTTP 429/.test(l))).toBe(true);
  });

  it('a burst of 500, 502 and 503 on export', async () => {
    const burst: Fault[] = [500, 502, 503].map((status) => ({ kind: 'status', status }));
    sandbox.fault('export', ...burst);
    const r = await read();
    expectComplete(r);
    expect(logs(r).filter((l) => /attempt \d of 4 failed: HTTP 50[023]/.test(l))).toHaveLength(3);
  });

  it('gives up after the attempt budget, saying how many attempts and the last answer', async () => {
    sandbox.fault('export', ...[1, 2, 3, 4].map((): Fault => ({ kind: 'status', status: 503 })));
    const r = await read();
    expect(r.code).toBe(1);
    const errs = errors(r);
    expect(errs[0]!.message).toMatch(/export of survey 111 failed after 4 attempts; the last answer was HTTP 503/);
    expect(errs[0]!.failure_type).toBe('transient_error');
    // The other survey still synced; the failed one's cursor did not move.
    expect(records(r)).toEqual(expected('222'));
    expect(cursorOf(r, '111')).toBeUndefined();
    expect(cursorOf(r, '222')).toBe(newest('222'));
    expect(statuses(r)).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
  });

  it('a connection reset during export', async () => {
    sandbox.fault('export', { kind: 'reset' });
    const r = await read();
    expectComplete(r);
    expect(logs(r).some((l) => /ECONNRESET|other side closed|socket/i.test(l))).toBe(true);
  });

  it('a reset half way through the download is retried; each response exactly once', async () => {
    const downloadsBefore = sandbox.count('download');
    sandbox.fault('download', { kind: 'reset-after', bytes: 9000 });
    const r = await read();
    expectComplete(r);
    expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
    expect(sandbox.count('download') - downloadsBefore).toBe(3);
    expect(logs(r).some((l) => /download of survey 111: attempt 1 of \d+ failed.*retrying/.test(l))).toBe(true);
  });

  it('a truncated download and a corrupt archive are retried from a fresh export', async () => {
    sandbox.fault('download', { kind: 'truncate-after', bytes: 12000 }, { kind: 'corrupt' });
    const r = await read();
    expectComplete(r);
    expect(logs(r).filter((l) => /fresh export/.test(l))).toHaveLength(2);
  });

  it('a plain-CSV download cut inside a row is retried from a fresh export', async () => {
    sandbox.plainCsv = true;
    try {
      sandbox.fault('download', { kind: 'truncate-after', bytes: 20011 });
      const r = await read();
      expectComplete(r);
      expect(logs(r).some((l) => /plain CSV (that ends (inside a quoted field|in the middle of a line)|whose transfer did not prove its length).*fresh export/.test(l))).toBe(true);
    } finally {
      sandbox.plainCsv = false;
    }
  });

  it('a hung server: the attempt times out and the next one succeeds', async () => {
    sandbox.fault('export', { kind: 'hang' });
    sandbox.fault('download', { kind: 'hang-after', bytes: 5000 });
    const r = await read({ request_timeout_seconds: 0.5 });
    expectComplete(r);
    expect(logs(r).some((l) => /UND_ERR_HEADERS_TIMEOUT|Headers Timeout/i.test(l))).toBe(true);
    expect(logs(r).some((l) => /UND_ERR_BODY_TIMEOUT|Body Timeout/i.test(l))).toBe(true);
  });

  it('an expired session: one fresh login, then the call is repeated', async () => {
    const loginsBefore = sandbox.count('login');
    sandbox.fault('export', { kind: 'session-expired' });
    const r = await read();
    expectComplete(r);
    expect(sandbox.count('login') - loginsBefore).toBe(2);
  });

  it('a second refusal after a fresh login is a clear error', async () => {
    sandbox.fault('export', { kind: 'session-expired' }, { kind: 'session-expired' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/refused the export of survey 111 in site 1234567 even after a fresh login/);
    expect(records(r)).toEqual(expected('222'));
  });
});

describe('answers that will not change fail at once, clearly', () => {
  it('bad credentials: one login attempt, a config_error, nothing read', async () => {
    const loginsBefore = sandbox.count('login');
    const r = await read({ password: 'wrong-password-1234' });
    expect(r.code).toBe(1);
    expect(sandbox.count('login') - loginsBefore).toBe(1);
    const errs = errors(r);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.failure_type).toBe('config_error');
    expect(errs[0]!.message).toMatch(/refused the login.*two-factor.*SSO/);
    expect(r.stdout).not.toContain('wrong-password-1234');
    expect(records(r)).toHaveLength(0);
    expect(statuses(r)).toEqual(['STARTED', 'INCOMPLETE']);
  });

  it('a login answered 200 with success:false is a failed login too', async () => {
    sandbox.loginFailureShape = 'success-false';
    try {
      const r = await read({ password: 'wrong-password-1234' });
      expect(r.code).toBe(1);
      expect(errors(r)[0]!.message).toMatch(/did not accept the login.*Invalid email or password/);
    } finally {
      sandbox.loginFailureShape = 'status-401';
    }
  });

  it('an unknown survey is named; the others still sync', async () => {
    const r = await read({ survey_ids: ['111', '999', '222'] });
    expect(r.code).toBe(1);
    expect(errors(r).map((e) => e.message)).toEqual([expect.stringMatching(/no survey 999 in site 1234567/)]);
    expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
  });

  it('a missing download_url names the survey and does not move its cursor', async () => {
    sandbox.fault('export', { kind: 'no-download-url' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/survey 111.*no download_url/);
    expect(cursorOf(r, '111')).toBeUndefined();
    expect(records(r)).toEqual(expected('222'));
  });

  it('an export answer that is not JSON', async () => {
    sandbox.fault('export', { kind: 'not-json' });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/export of survey 111 with something that is not JSON/);
  });

  it('never follows an API redirect to another origin, so credentials stay home', async () => {
    const before = sandbox.requests.length;
    sandbox.fault('export', { kind: 'redirect', location: `${sandbox.downloadOrigin}/steal` });
    const r = await read();
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/redirect to http:\/\/127\.0\.0\.2.*never follows redirects with credentials/);
    const downloads = sandbox.requests.slice(before).filter((q) => q.endpoint === 'download');
    expect(downloads.every((d) => !d.url.startsWith('/steal') && d.hadCredentials === false)).toBe(true);
  });
});

describe('damage and order', () => {
  it('a damaged archive (bad byte in a date, CRC fails) emits nothing; the fresh export is read once', async () => {
    const s = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const stored = Buffer.from(zipSync({ 'x.csv': strToU8(toCsv(s.header, s.rows)) }, { level: 0 }));
    const top = s.rows[0]!;
    const at = stored.indexOf(Buffer.from(`"${top[0]}","${top[1]}","${top[2]}"`)) + `"${top[0]}","${top[1]}","`.length;
    stored[at + 1] = 0x39; // 2023 → 2923: still a valid date, so only the CRC can tell
    sandbox.fault('download', { kind: 'body', body: stored });
    const r = await read();
    expect(r.code, r.stderr).toBe(0);
    // Verified before parsing: not one record from the damaged copy, each response exactly once.
    expect(records(r).filter((d) => d['survey_id'] === '111')).toEqual(expected('111'));
    expect(r.stdout).not.toContain('2923-');
    expect(cursorOf(r, '111')).toBe(newest('111'));
    expect(logs(r).some((l) => /CRC.*fresh export.*nothing was emitted/.test(l))).toBe(true);
  });

  it('a bad value that is really archive damage is retried, not reported', async () => {
    const s = sandbox.surveys.get('111') as { header: string[]; rows: string[][] };
    const stored = Buffer.from(zipSync({ 'x.csv': strToU8(toCsv(s.header, s.rows)) }, { level: 0 }));
    const row = s.rows[3]!;
    const at = stored.indexOf(Buffer.from(`"${row[0]}","${row[1]}","${row[2]}"`)) + `"${row[0]}","${row[1]}","`.length;
    stored[at + 4] = 0x2f; // 2023-09-… → 2023/09-…: not a date
    sandbox.fault('download', { kind: 'body', body: stored });
    const r = await read();
    expect(r.code, r.stderr).toBe(0);
    expect(records(r)).toEqual([...expected('111'), ...expected('222')]);
  });

  it("a storage error that quotes the URL's signature does not leak it", async () => {
    sandbox.fault('download', { kind: 'echo-query' }, { kind: 'echo-query' }, { kind: 'echo-query' }, { kind: 'echo-query' });
    const r = await read({ survey_ids: ['111'] });
    expect(r.code).toBe(1);
    expect(errors(r)[0]!.message).toMatch(/storage host refused the download of survey 111 .*HTTP 403/);
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
    ['an unparseable date', toCsv(header, [rows[0]!, rows[1]!.map((v, i) => (i === 2 ? '27/09/2023 21:00' : v))]), new RegExp(`line ${startOfRow(1)}, column "Date Submitted": "27/09/2023 21:00"`)],
    ['a ZIP with several entries', zipOf({ 'a.csv': toCsv(header, rows), 'b.csv': toCsv(header, rows) }), /ZIP .*(2 entries|2 files|two|more than one|second)/i],
    ['2 MiB of zeros (one giant record) over max_field_bytes: memory never follows a cell', zipOf({ 'bomb.csv': new Uint8Array(2 * 1024 * 1024) }), /larger than max_field_bytes at line 1/],
  ];
  for (const [name, body, message] of cases) {
    it(name, async () => {
      const bytes = Buffer.isBuffer(body) ? body : zipOf({ 'export.csv': body });
      sandbox.fault('download', { kind: 'body', body: bytes });
      const r = await read({ max_field_bytes: 1024 * 1024 });
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

describe('the process', () => {
  it('exits quietly when the reader closes stdout', async () => {
    const r = await runCli(['read', '--config', config(), '--catalog', catalogPath], {
      onSpawn: (child) => {
        child.stdout!.once('data', () => child.stdout!.destroy());
      },
    }).catch((e: unknown) => e as Error);
    expect(r).not.toBeInstanceOf(Error);
    const res = r as RunResult;
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops cleanly on ${signal}: whole lines only, non-zero exit`, async () => {
      let sent = false;
      const res = await runCli(['read', '--config', config({ request_timeout_seconds: 30 }), '--catalog', catalogPath], {
        onSpawn: (child) => {
          sandbox.fault('download', { kind: 'hang-after', bytes: 3000 });
          child.stdout!.on('data', (d: Buffer) => {
            // The download of survey 111 hangs part way (nothing of it is emitted before it is verified).
            if (!sent && d.toString().includes('Reading survey 111')) {
              sent = true;
              setTimeout(() => child.kill(signal), 200);
            }
          });
        },
      });
      expect(sent).toBe(true);
      expect(res.code).toBe(signal === 'SIGTERM' ? 143 : 130);
      expect(res.stdout.endsWith('\n')).toBe(true);
      assertAllValid(res); // runCli already failed on any partial JSON line
      // Survey 111 hung part way: no STATE can hold a cursor for it.
      for (const st of states(res)) expect(JSON.stringify(st)).not.toContain('"111"');
      // The platform is told how the stream ended, as the last status before exit.
      const statuses = res.messages.filter((m) => m.type === 'TRACE' && (m['trace'] as { type: string }).type === 'STREAM_STATUS');
      expect((statuses.at(-1)!['trace'] as { stream_status: { status: string } }).stream_status.status).toBe('INCOMPLETE');
      expect(res.stderr).toMatch(new RegExp(`stopped by ${signal}`));
      noLeaks(res);
    });
  }
});

describe('hostile input', () => {
  it('rejects path-like and non-numeric ids and non-http base URLs, naming the field', async () => {
    for (const [extra, field] of [
      [{ site_id: '../1' }, 'site_id'],
      [{ survey_ids: ['1/../../x'] }, 'survey_ids'],
      [{ survey_ids: ['abc'] }, 'survey_ids'],
      [{ base_url: 'file:///etc/passwd' }, 'base_url'],
      [{ base_url: 'javascript:alert(1)' }, 'base_url'],
    ] as const) {
      const r = await runCli(['check', '--config', config(extra)]);
      const status = r.messages[0]!['connectionStatus'] as { status: string; message: string };
      expect(status.status).toBe('FAILED');
      expect(status.message).toContain(field);
      noLeaks(r);
    }
  });

  it('rejects oversized and non-JSON input files without echoing them', async () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"x": "${'a'.repeat(11 * 1024 * 1024)}"}`);
    const r1 = await runCli(['read', '--config', config(), '--catalog', big]);
    expect(r1.code).toBe(1);
    expect(errors(r1)[0]!.message).toMatch(/more than the 10485760 bytes allowed/);
    const notJson = writeJson(dir, 'cfg.txt', `password=${PASSWORD}\n`);
    const r2 = await runCli(['check', '--config', notJson]);
    expect((r2.messages[0]!['connectionStatus'] as { message: string }).message).toMatch(/not valid JSON/);
    noLeaks(r2);
    const unquoted = writeJson(dir, 'cfg2.json', `{\n  "email": "a@b.c",\n  "password": ${PASSWORD.slice(0, 20)}\n}`);
    const r3 = await runCli(['check', '--config', unquoted]);
    expect((r3.messages[0]!['connectionStatus'] as { message: string }).message).toMatch(/not valid JSON \(line 3, column \d+\)/);
    expect(r3.stdout + r3.stderr).not.toContain(PASSWORD.slice(0, 8));
  });
});
