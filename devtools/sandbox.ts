/**
 * `npm run sandbox`: runs the Hotjar stand-in with the sample surveys until SIGINT/SIGTERM.
 *   --host ADDR (default 127.0.0.1; downloads are served on the next loopback address)
 *   --port N (default 18080, which integration_tests/sample_config.json expects; 0: any free port)
 *   --config-out FILE (write a ready connector config for the stand-in)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sampleSurveys, SAMPLE_SITE_ID } from './stand-in/data.js';
import { HotjarSandbox } from './stand-in/server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '18080' }, 'config-out': { type: 'string' } },
  });
  const sandbox = await new HotjarSandbox({ host: values.host, port: Number(values.port), siteId: SAMPLE_SITE_ID, surveys: sampleSurveys() }).start();
  const config = sandbox.config();
  const out = values['config-out'];
  if (out) writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  process.stderr.write(
    `Hotjar stand-in: API ${sandbox.apiUrl}, downloads ${sandbox.downloadOrigin}\n` +
      `A connector config for it${out ? ` was written to ${out}` : ''}:\n${JSON.stringify(config, null, 2)}\nStop with Ctrl-C.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
