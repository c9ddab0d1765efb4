/** `source-hotjar sandbox`: runs the Hotjar stand-in with the sample surveys until SIGINT/SIGTERM. */
import { writeFileSync } from 'node:fs';
import type { Command } from '../commands/context.js';
import { sampleSurveys, SAMPLE_SITE_ID } from './data.js';
import { HotjarSandbox } from './server.js';

export const sandboxCommand: Command<{ host: string; port: number; configOut?: string }> = async ({ signal }, args) => {
  const sandbox = await new HotjarSandbox({ host: args.host, port: args.port, siteId: SAMPLE_SITE_ID, surveys: sampleSurveys() }).start();
  const config = sandbox.config();
  if (args.configOut) writeFileSync(args.configOut, `${JSON.stringify(config, null, 2)}\n`);
  process.stderr.write(
    `Hotjar stand-in: API ${sandbox.apiUrl}, downloads ${sandbox.downloadOrigin}\n` +
      `A connector config for it${args.configOut ? ` was written to ${args.configOut}` : ''}:\n${JSON.stringify(config, null, 2)}\nStop with Ctrl-C.\n`,
  );
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await sandbox.stop();
  return 0;
};
