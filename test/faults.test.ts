/**
 * Faults at the process level, against the built CLI: what only a real process can show (a reader that
 * closes stdout, SIGTERM and SIGINT, stderr). The HTTP fault matrix itself runs in-process, in
 * faults.inprocess.test.ts. Each test has its own stand-in.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, generate, npsRow } from '../devtools/stand-in/data.js';
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

beforeEach(async () => {
  sandbox = await new HotjarSandbox({
    siteId: SITE,
    password: PASSWORD,
    surveys: new Map([
      ['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 300) }],
      ['222', { header: [...NPS_HEADER], rows: generate(npsRow, 40, Date.UTC(2023, 9, 1, 8, 0, 0), 3600) }],
    ]),
  }).start();
  dir = tempDir();
  catalogPath = writeJson(dir, 'catalog.json', catalog('incremental'));
});
afterEach(async () => {
  await sandbox.stop();
});

function config(extra: Record<string, unknown> = {}): string {
  return writeJson(
    dir,
    `config-${Math.random().toString(36).slice(2)}.json`,
    sandbox.config({ password: PASSWORD, max_attempts: 4, max_retry_wait_seconds: 0.05, request_timeout_seconds: 2, ...extra }),
  );
}

/** The password, every cookie, access key and URL signature the stand-in issued, and X-Acc, never appear. */
function noLeaks(r: RunResult): void {
  const all = r.stdout + r.stderr;
  expect(all).not.toContain(PASSWORD);
  expect(all).not.toContain(JSON.stringify(PASSWORD).slice(1, -1));
  for (const secret of sandbox.issuedSecrets) expect(all).not.toContain(secret);
  expect(all).not.toContain(sandbox.accountId);
}

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
      // The download of survey 111 hangs part way (nothing of it is emitted before it is verified).
      sandbox.fault('download', { kind: 'hang-after', bytes: 3000 });
      const res = await runCli(['read', '--config', config({ request_timeout_seconds: 30 }), '--catalog', catalogPath], {
        onSpawn: (child) => {
          child.stdout!.on('data', (d: Buffer) => {
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
      expect(statuses(res).at(-1)).toBe('INCOMPLETE');
      expect(res.stderr).toMatch(new RegExp(`stopped by ${signal}`));
      noLeaks(res);
    });
  }

  it('a failing run prints no secret on stdout or stderr, even when a server quotes one', async () => {
    // Survey 111: the storage host answers 403 quoting the URL's signature, on every attempt.
    sandbox.fault('download', ...[1, 2, 3, 4].map(() => ({ kind: 'echo-query' }) as const));
    const r = await runCli(['read', '--config', config(), '--catalog', catalogPath]);
    expect(r.code).toBe(1);
    assertAllValid(r);
    expect(errors(r).map((e) => e.message)).toEqual([expect.stringMatching(/storage host refused the download of survey 111 .*HTTP 403/)]);
    const s = sandbox.surveys.get('222') as { header: string[]; rows: string[][] };
    expect(records(r)).toEqual(s.rows.map((row) => expectedRecord(s.header, row, SITE, '222')));
    // Four exports of 111 (each a new signature), one of 222; a login's cookies and access key.
    expect(sandbox.count('export')).toBe(5);
    expect(sandbox.issuedSecrets.length).toBe(3 + 5);
    noLeaks(r);
  });
});
