/**
 * `npm run demo`: starts the bundled Hotjar stand-in with two sample surveys on loopback, then runs the
 * real CLI against it — spec, check, discover, a first incremental read, two new responses arriving,
 * and a second read resuming from the first one's state — printing the messages each command wrote.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HotjarSandbox } from '../src/sandbox/server.js';
import { checkoutRow, fileDate, sampleSurveys, SAMPLE_SITE_ID, SAMPLE_SURVEYS } from '../src/sandbox/data.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/main.js');
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
    const catalog = join(root, 'catalog/configured_catalog_incremental.json');
    await run('the connector specification', ['spec']);
    await run('log in and check that both surveys can be exported', ['check', '--config', config]);
    await run('the stream and its schema', ['discover', '--config', config]);
    const first = await run('first incremental read: every response, then a STATE per survey', ['read', '--config', config, '--catalog', catalog]);
    const lastState = first.map((l) => JSON.parse(l) as { type: string; state?: unknown }).filter((m) => m.type === 'STATE').at(-1);
    const statePath = join(dir, 'state.json');
    writeFileSync(statePath, JSON.stringify([lastState?.state], null, 2));

    const survey = sandbox.surveys.get(SAMPLE_SURVEYS.checkout) as { rows: string[][] };
    const top = survey.rows[0]!;
    const newer = fileDate(Date.parse(`${top[2]!.replace(' ', 'T')}Z`) + 90_000);
    sandbox.addResponses(SAMPLE_SURVEYS.checkout, [checkoutRow(Number(top[0]) + 2, newer), checkoutRow(Number(top[0]) + 1, top[2]!)]);
    process.stdout.write(`\n# Two new responses arrive in survey ${SAMPLE_SURVEYS.checkout} (one in the same second as the cursor).\n`);
    await run('second read from the saved state: the new responses plus the cursor\'s own second (inclusive)', [
      'read', '--config', config, '--catalog', catalog, '--state', statePath,
    ]);
    process.stdout.write('\nTry it by hand: `node dist/src/main.js sandbox` starts the stand-in on port 18080, which integration_tests/sample_config.json points at.\n');
  } finally {
    await sandbox.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
