/**
 * `npm run sandbox`: runs the Hotjar stand-ins with the sample surveys until SIGINT/SIGTERM: the
 * internal API (password mode: login, export, downloads) and the official API (API-key mode: token,
 * surveys, responses), serving the same surveys.
 *   --host ADDR (default 127.0.0.1; downloads are served on the next loopback address)
 *   --port N (default 18080, which integration_tests/sample_config.json expects; 0: any free port)
 *   --api-port N (default 18081: the official API's stand-in; 0: any free port)
 *   --config-out FILE (write a ready password-mode connector config for the stand-in)
 *   --api-config-out FILE (write a ready API-key connector config)
 * For a connector in another container (see README, "Docker"):
 *   --tls (HTTPS with a test CA made at start; the connector must trust it via NODE_EXTRA_CA_CERTS)
 *   --ca-out FILE (write that CA's certificate, PEM; written before --config-out)
 *   --api-name NAME (host name in base_url, e.g. a Docker network alias; default: --host)
 *   --storage-name NAME (host name in download URLs; default: the storage host's address)
 *   --storage-port N (default 0: any free port)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sampleSurveys, SAMPLE_SITE_ID } from './stand-in/data.js';
import { HotjarOfficialStandIn } from './stand-in/official.js';
import { HotjarSandbox } from './stand-in/server.js';
import { networkOptions } from './stand-in/network-options.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '18080' },
      'api-port': { type: 'string', default: '18081' },
      'config-out': { type: 'string' },
      'api-config-out': { type: 'string' },
      ...networkOptions.args,
    },
  });
  const network = networkOptions.resolve(values);
  const surveys = sampleSurveys();
  const sandbox = await new HotjarSandbox({
    host: values.host,
    port: Number(values.port),
    siteId: SAMPLE_SITE_ID,
    surveys,
    ...network.sandbox,
  }).start();
  const official = await new HotjarOfficialStandIn({
    host: values.host,
    port: Number(values['api-port']),
    siteId: SAMPLE_SITE_ID,
    surveys,
  }).start();
  const apiConfig = official.config();
  const apiOut = values['api-config-out'];
  if (apiOut) writeFileSync(apiOut, `${JSON.stringify(apiConfig, null, 2)}\n`);
  // One survey at a time, so a read gives its records in the order of integration_tests/expected_records.jsonl (CAT's exact_order).
  const config = sandbox.config({ max_concurrent_surveys: 1 });
  const out = values['config-out'];
  if (out) writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  process.stderr.write(
    `Hotjar stand-in: API ${sandbox.apiUrl}, downloads ${sandbox.downloadOrigin}\n` +
      (network.caFile ? `Test CA written to ${network.caFile}: give it to the connector as NODE_EXTRA_CA_CERTS.\n` : '') +
      `A connector config for it${out ? ` was written to ${out}` : ''}:\n${JSON.stringify(config, null, 2)}\n` +
      `Hotjar stand-in (official API, API-key mode): ${official.apiUrl}\n` +
      `A connector config for it${apiOut ? ` was written to ${apiOut}` : ''}:\n${JSON.stringify(apiConfig, null, 2)}\nStop with Ctrl-C.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await official.stop();
  await sandbox.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${err instanceof Error ? err.message : String(err)}\n`);
  // A server that did start (the other's port was taken, say) must not keep the process alive.
  process.exit(1);
});
