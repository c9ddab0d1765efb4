/**
 * `npm run demo`: starts the bundled Hotjar stand-in with two sample surveys on loopback, then runs the
 * real CLI against it — spec, check, discover, a first incremental read, two new responses arriving,
 * and a second read resuming from the first one's state — printing the messages each command wrote.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
    // Configure what discover offers, as a platform would: both streams, incremental, append-dedup.
    const catalogMessage = discovered.map((l) => JSON.parse(l) as { type: string; catalog?: { streams: Record<string, unknown>[] } }).find((m) => m.type === 'CATALOG');
    const catalog = join(dir, 'configured_catalog.json');
    writeFileSync(
      catalog,
      JSON.stringify({
        streams: (catalogMessage?.catalog?.streams ?? []).map((stream) => ({
          stream,
          sync_mode: 'incremental',
          destination_sync_mode: 'append_dedup',
          cursor_field: stream['default_cursor_field'],
          primary_key: stream['source_defined_primary_key'],
        })),
      }),
    );
    const first = await run('first incremental read of both streams: every response and answer, then a STATE per survey and stream', [
      'read', '--config', config, '--catalog', catalog,
    ]);
    const statePath = join(dir, 'state.json');
    const states = first.map((l) => JSON.parse(l) as { type: string; state?: { stream?: { stream_descriptor?: { name?: string } } } }).filter((m) => m.type === 'STATE');
    const lastPerStream = new Map(states.map((m) => [m.state?.stream?.stream_descriptor?.name, m.state]));
    writeFileSync(statePath, JSON.stringify([...lastPerStream.values()], null, 2));

    const survey = sandbox.surveys.get(SAMPLE_SURVEYS.checkout) as { rows: string[][] };
    const top = survey.rows[0]!;
    const newer = fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) + 90_000);
    const older = fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) - 86_400_000);
    sandbox.addResponses(SAMPLE_SURVEYS.checkout, [checkoutRow(Number(top[0]) + 2, newer), checkoutRow(Number(top[0]) + 1, older)]);
    process.stdout.write(`\n# Two new responses arrive in survey ${SAMPLE_SURVEYS.checkout}: one new, one submitted a day earlier but delivered late.\n`);
    await run('second read from the saved state: exactly the two new responses (by Number), nothing repeated', [
      'read', '--config', config, '--catalog', catalog, '--state', statePath,
    ]);
    process.stdout.write('\nTry it by hand: `npm run sandbox` starts the stand-in on port 18080, which integration_tests/sample_config.json points at.\n');
  } finally {
    await sandbox.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
