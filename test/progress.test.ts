/**
 * What a platform sees during a long or throttled read (issue 13): heartbeats while nothing else is
 * said, a RUNNING status with the rate-limited reason while a 429 is waited out, and ESTIMATE traces.
 * Real CLI against the stand-in; every line validated against the protocol schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKOUT_HEADER, checkoutRow, generate } from '../devtools/stand-in/data.js';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { assertAllValid, catalog, runCli, tempDir, traces, writeJson } from './helpers.js';

let sandbox: HotjarSandbox;
let catalogPath: string;

beforeAll(async () => {
  sandbox = await new HotjarSandbox({
    surveys: new Map([['111', { header: [...CHECKOUT_HEADER], rows: generate(checkoutRow, 50) }]]),
  }).start();
  catalogPath = writeJson(tempDir(), 'catalog.json', catalog('full_refresh'));
});
afterAll(async () => {
  await sandbox.stop();
});

const config = (extra: Record<string, unknown>): string =>
  writeJson(tempDir(), 'config.json', sandbox.config({ survey_ids: ['111'], max_retry_wait_seconds: 5, ...extra }));

describe('a platform can tell a slow sync from a dead one', () => {
  it('logs a heartbeat while Hotjar takes longer than the interval to answer, then reads normally', async () => {
    // The export answer hangs past the attempt's timeout (2.5 s); the retry answers. Heartbeat: 1 s.
    sandbox.fault('export', { kind: 'hang' });
    const r = await runCli(['read', '--config', config({ heartbeat_seconds: 1, request_timeout_seconds: 2.5 }), '--catalog', catalogPath]);
    expect(r.code, r.stderr).toBe(0);
    assertAllValid(r);
    const logs = r.messages.filter((m) => m.type === 'LOG').map((m) => (m['log'] as { message: string }).message);
    const beats = logs.filter((l) => l.startsWith('Still working'));
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats[0]).toMatch(/Reading survey 111/);
    expect(r.messages.filter((m) => m.type === 'RECORD')).toHaveLength(50);
  });

  it('says RUNNING with the rate-limited reason and the resume time while a 429 is waited out', async () => {
    sandbox.fault('export', { kind: 'status', status: 429, retryAfter: '1' });
    const before = Date.now();
    const r = await runCli(['read', '--config', config({}), '--catalog', catalogPath]);
    expect(r.code, r.stderr).toBe(0);
    assertAllValid(r);
    const limited = traces(r, 'STREAM_STATUS').filter((t) => (t['stream_status'] as { reasons?: unknown[] }).reasons);
    expect(limited).toHaveLength(1);
    const status = limited[0]!['stream_status'] as { status: string; reasons: { type: string; rate_limited: { quota_reset: number } }[] };
    expect(status.status).toBe('RUNNING');
    expect(status.reasons[0]!.type).toBe('RATE_LIMITED');
    expect(status.reasons[0]!.rate_limited.quota_reset).toBeGreaterThanOrEqual(before + 900);
    expect(status.reasons[0]!.rate_limited.quota_reset).toBeLessThan(Date.now() + 1000);
  });

  it('emits ESTIMATE traces per stream, from the export size and the rows of the first block', async () => {
    const both = writeJson(tempDir(), 'both.json', {
      streams: ['survey_responses', 'survey_answers'].map((name) => ({
        stream: { name, json_schema: {} },
        sync_mode: 'full_refresh',
        destination_sync_mode: 'overwrite',
      })),
    });
    const r = await runCli(['read', '--config', config({}), '--catalog', both]);
    expect(r.code, r.stderr).toBe(0);
    assertAllValid(r);
    const estimates = traces(r, 'ESTIMATE').map((t) => t['estimate'] as { name: string; type: string; row_estimate: number });
    const responses = estimates.filter((e) => e.name === 'survey_responses');
    const answers = estimates.filter((e) => e.name === 'survey_answers');
    expect(responses.length).toBeGreaterThanOrEqual(1);
    expect(answers.length).toBeGreaterThanOrEqual(1);
    for (const e of estimates) expect(e.type).toBe('STREAM');
    // 50 responses in the export: the estimate is a guess from the first block, close to it.
    expect(responses.at(-1)!.row_estimate).toBeGreaterThanOrEqual(25);
    expect(responses.at(-1)!.row_estimate).toBeLessThanOrEqual(100);
    const answerRecords = r.messages.filter(
      (m) => m.type === 'RECORD' && (m['record'] as { stream: string }).stream === 'survey_answers',
    ).length;
    expect(answers.at(-1)!.row_estimate).toBeGreaterThan(answerRecords / 2);
    expect(answers.at(-1)!.row_estimate).toBeLessThan(answerRecords * 2);
  });
});
