/**
 * `npm run demo`: starts the bundled Hotjar stand-in with two sample surveys on loopback, then runs the
 * real CLI against it — spec, check, discover, a first incremental read, two new responses arriving,
 * and a second read resuming from the first one's state — printing the messages each command wrote.
 * Then, briefly, the same surveys through the official API's stand-in with an API key (API-key mode):
 * check, a read of survey_responses and the surveys stream, one new response, and a resumed read.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HotjarOfficialStandIn } from './stand-in/official.js';
import { HotjarSandbox } from './stand-in/server.js';
import { checkoutRow, fileDate, sampleSurveys, SAMPLE_SITE_ID, SAMPLE_SURVEYS } from './stand-in/data.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/airbyte/main.js');
const width = Math.max(80, Math.min(process.stdout.columns || 160, 220));

function run(title: string, args: string[]): Promise<string[]> {
  process.stdout.write(`\n\x1b[1m$ source-hotjar ${args.join(' ')}\x1b[0m\n# ${title}\n`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').filter(Boolean);
      // Long RECORD lines are cut for the screen; the messages themselves are complete JSON.
      for (const line of lines) process.stdout.write(`${line.length > width ? `${line.slice(0, width - 1)}…` : line}\n`);
      process.stdout.write(`# exit code ${code}\n`);
      resolvePromise(lines);
    });
  });
}

async function main(): Promise<void> {
  const sandbox = await new HotjarSandbox({ siteId: SAMPLE_SITE_ID, surveys: sampleSurveys() }).start();
  const dir = mkdtempSync(join(tmpdir(), 'source-hotjar-demo-'));
  try {
    process.stdout.write(`Hotjar stand-in: API ${sandbox.apiUrl}, storage host ${sandbox.downloadOrigin}; files in ${dir}\n`);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(sandbox.config(), null, 2));
    await run('the connector specification', ['spec']);
    await run('log in and check that both surveys can be exported', ['check', '--config', config]);
    const discovered = await run("the streams, with every column of the surveys' exports", ['discover', '--config', config]);
    // Configure what discover offers, as a platform would: the response streams incremental (append-dedup), surveys full refresh.
    const catalogMessage = discovered
      .map((l) => JSON.parse(l) as { type: string; catalog?: { streams: Record<string, unknown>[] } })
      .find((m) => m.type === 'CATALOG');
    const catalog = join(dir, 'configured_catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        streams: (catalogMessage?.catalog?.streams ?? []).map((stream) => {
          const incremental = (stream['supported_sync_modes'] as string[]).includes('incremental');
          return {
            stream,
            sync_mode: incremental ? 'incremental' : 'full_refresh',
            destination_sync_mode: incremental ? 'append_dedup' : 'overwrite',
            ...(incremental ? { cursor_field: stream['default_cursor_field'] } : {}),
            primary_key: stream['source_defined_primary_key'],
          };
        }),
      }),
    );
    const first = await run(
      'first read: the surveys (full refresh), then every response and answer (incremental), a STATE per survey and stream',
      ['read', '--config', config, '--catalog', catalog],
    );
    const statePath = join(dir, 'state.json');
    const states = first
      .map((l) => JSON.parse(l) as { type: string; state?: { stream?: { stream_descriptor?: { name?: string } } } })
      .filter((m) => m.type === 'STATE');
    const lastPerStream = new Map(states.map((m) => [m.state?.stream?.stream_descriptor?.name, m.state]));
    writeFileSync(statePath, JSON.stringify([...lastPerStream.values()], null, 2));

    const survey = sandbox.surveys.get(SAMPLE_SURVEYS.checkout) as { rows: string[][] };
    const top = survey.rows[0]!;
    const newer = fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) + 90_000);
    const older = fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) - 86_400_000);
    sandbox.addResponses(SAMPLE_SURVEYS.checkout, [checkoutRow(Number(top[0]) + 2, newer), checkoutRow(Number(top[0]) + 1, older)]);
    process.stdout.write(
      `\n# Two new responses arrive in survey ${SAMPLE_SURVEYS.checkout}: one new, one submitted a day earlier but delivered late.\n`,
    );
    await run('second read from the saved state: exactly the two new responses (by Number), nothing repeated', [
      'read',
      '--config',
      config,
      '--catalog',
      catalog,
      '--state',
      statePath,
    ]);
    await apiKeyMode(sandbox.surveys as Map<string, { header: string[]; rows: string[][] }>, dir);
    process.stdout.write(
      '\nTry it by hand: `npm run sandbox` starts both stand-ins (password mode on port 18080, which integration_tests/sample_config.json points at; API-key mode on 18081).\n',
    );
  } finally {
    await sandbox.stop();
  }
}

/** API-key mode, briefly: the same surveys through the official API's stand-in. */
async function apiKeyMode(surveys: Map<string, { header: string[]; rows: string[][] }>, dir: string): Promise<void> {
  const official = await new HotjarOfficialStandIn({ siteId: SAMPLE_SITE_ID, surveys }).start();
  try {
    process.stdout.write(
      `\n\x1b[1m# API-key mode\x1b[0m: the same surveys through Hotjar's official API (stand-in at ${official.apiUrl}); no survey_ids, so every survey of the site is read.\n`,
    );
    const config = join(dir, 'api-config.json');
    writeFileSync(config, JSON.stringify(official.config(), null, 2));
    await run("get a token for the API key, list the site's surveys and prove the plan on each", ['check', '--config', config]);
    const catalog = join(dir, 'api-catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        streams: [
          {
            stream: { name: 'surveys', json_schema: {}, supported_sync_modes: ['full_refresh'] },
            sync_mode: 'full_refresh',
            destination_sync_mode: 'overwrite',
          },
          {
            stream: { name: 'survey_responses', json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
            sync_mode: 'incremental',
            destination_sync_mode: 'append_dedup',
          },
        ],
      }),
    );
    const first = await run(
      'the surveys, then every response: the columns of password mode plus response_id, is_complete, recording_url, Comment for:, Sentiment for:',
      ['read', '--config', config, '--catalog', catalog],
    );
    const states = first
      .map((l) => JSON.parse(l) as { type: string; state?: { stream?: { stream_descriptor?: { name?: string } } } })
      .filter((m) => m.type === 'STATE');
    const statePath = join(dir, 'api-state.json');
    writeFileSync(
      statePath,
      JSON.stringify([...new Map(states.map((m) => [m.state?.stream?.stream_descriptor?.name, m.state])).values()], null, 2),
    );
    const survey = surveys.get(SAMPLE_SURVEYS.checkout)!;
    const top = survey.rows[0]!;
    official.addResponses(SAMPLE_SURVEYS.checkout, [checkoutRow(Number(top[0]) + 1, top[2]!)]);
    process.stdout.write(
      `\n# A new response arrives in survey ${SAMPLE_SURVEYS.checkout}, created in the very second of the newest one read.\n`,
    );
    await run('resumed from the state (newest second and its response ids): exactly the new response, one page asked for', [
      'read',
      '--config',
      config,
      '--catalog',
      catalog,
      '--state',
      statePath,
    ]);
  } finally {
    await official.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
