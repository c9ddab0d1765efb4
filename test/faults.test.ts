/**
 * Faults at the process level, against the built CLI: what only a real process can show (a reader that
 * closes stdout, SIGTERM and SIGINT, stderr). The HTTP fault matrix itself runs in-process, in
 * faults.inprocess.test.ts. Each test has its own stand-in.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, generate, npsRow } from '../devtools/stand-in/data.js';
import {
  assertAllValid,
  catalog,
  errors,
  expectedRecord,
  records,
  runCli,
  states,
  standIn,
  statuses,
  writeJson,
  type RunResult,
  type StandIn,
} from './helpers.js';

const SITE = '1234567';
const PASSWORD = 'S3cr3t-Pa55w0rd-do-not-leak-🔑';

/** This test's own stand-in: 300 responses to survey 111, 40 to survey 222. */
async function faultStandIn(test: TestContext): Promise<StandIn & { catalogPath: string }> {
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
  return { ...env, catalogPath: writeJson(env.dir, 'catalog.json', catalog('incremental')) };
}

// Each test spawns its own CLI against its own stand-in: they run concurrently.
describe.concurrent('the process', () => {
  it('exits quietly when the reader closes stdout', async (test) => {
    const { config, catalogPath } = await faultStandIn(test);
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
    it(`stops cleanly on ${signal}: whole lines only, non-zero exit`, async (test) => {
      const { sandbox, config, catalogPath, noLeaks } = await faultStandIn(test);
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

  it('a failing run prints no secret on stdout or stderr, even when a server quotes one', async (test) => {
    const { sandbox, config, catalogPath, noLeaks, survey } = await faultStandIn(test);
    // Survey 111: the storage host answers 403 quoting the URL's signature, on every attempt.
    sandbox.fault('download', ...[1, 2, 3, 4].map(() => ({ kind: 'echo-query' }) as const));
    const r = await runCli(['read', '--config', config(), '--catalog', catalogPath]);
    expect(r.code).toBe(1);
    assertAllValid(r);
    expect(errors(r).map((e) => e.message)).toEqual([expect.stringMatching(/storage host refused the download of survey 111 .*HTTP 403/)]);
    const s = survey('222');
    expect(records(r)).toEqual(s.rows.map((row) => expectedRecord(s.header, row, SITE, '222')));
    // Four exports of 111 (each a new signature), one of 222; a login's cookies and access key.
    expect(sandbox.count('export')).toBe(5);
    expect(sandbox.issuedSecrets.length).toBe(3 + 5);
    noLeaks(r);
  });
});
