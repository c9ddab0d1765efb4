/**
 * The stand-in's HTTPS mode (what `npm run test:docker` uses across a Docker network): the test PKI it
 * makes, the built CLI trusting its CA only through NODE_EXTRA_CA_CERTS, and certificate checks staying
 * on whatever the environment says.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOptions } from '../devtools/stand-in/network-options.js';
import { HotjarSandbox } from '../devtools/stand-in/server.js';
import { makeTestPki } from '../devtools/stand-in/tls.js';
import { SAMPLE_SITE_ID, sampleSurveys } from '../devtools/stand-in/data.js';
import { loadConfig } from '../src/core/config.js';
import { ROOT, assertAllValid, byType, catalog, records, runCli, states, tempDir, writeJson, type RunResult } from './helpers.js';

describe('makeTestPki', () => {
  const pki = makeTestPki({ names: ['hotjar-api', 'hotjar-storage', 'localhost', '127.0.0.1', '::1'] });
  const ca = new X509Certificate(pki.caCert);
  const leaf = new X509Certificate(pki.cert);

  it('issues a server certificate signed by a CA, for every name given', () => {
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('hotjar-api')).toBe('hotjar-api');
    expect(leaf.checkHost('hotjar-storage')).toBe('hotjar-storage');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('insights.hotjar.com')).toBeUndefined();
    expect(leaf.subjectAltName).toBe('DNS:hotjar-api, DNS:hotjar-storage, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(leaf.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now() + 86400_000);
  });

  it('makes a fresh CA each time and refuses names that are neither DNS names nor addresses', () => {
    expect(makeTestPki({ names: ['a'] }).caCert).not.toBe(pki.caCert);
    expect(() => makeTestPki({ names: [] })).toThrow(/at least one name/);
    expect(() => makeTestPki({ names: ['hotjar api'] })).toThrow(/not a DNS name/);
    expect(() => makeTestPki({ names: ['-x.example'] })).toThrow(/not a DNS name/);
  });
});

describe('sandbox CLI network options', () => {
  it('wants the public names when listening on every interface', () => {
    expect(() => networkOptions.resolve({ host: '0.0.0.0', 'api-name': 'hotjar-api' })).toThrow(/--storage-name/);
    expect(() => networkOptions.resolve({ host: '127.0.0.1', 'ca-out': '/tmp/x.pem' })).toThrow(/--ca-out needs --tls/);
    expect(() => networkOptions.resolve({ host: '127.0.0.1', 'storage-port': '70000' })).toThrow(/not a port/);
  });

  it('makes a certificate for the advertised names and writes the CA', () => {
    const dir = tempDir();
    const caFile = join(dir, 'ca.pem');
    const r = networkOptions.resolve({
      host: '0.0.0.0',
      tls: true,
      'ca-out': caFile,
      'api-name': 'hotjar-api',
      'storage-name': 'hotjar-storage',
      'storage-port': '18444',
    });
    expect(r.caFile).toBe(caFile);
    expect(r.sandbox).toMatchObject({ publicHost: 'hotjar-api', downloadPublicHost: 'hotjar-storage', downloadPort: 18444 });
    const leaf = new X509Certificate(r.sandbox.tls!.cert);
    expect(leaf.verify(new X509Certificate(readFileSync(caFile)).publicKey)).toBe(true);
    expect(leaf.subjectAltName).toContain('DNS:hotjar-api, DNS:hotjar-storage');
  });
});

describe('integration_tests/sample_config_docker.json', () => {
  it('is sample_config.json with the network base_url, and a valid config', () => {
    const path = join(ROOT, 'integration_tests/sample_config_docker.json');
    const docker = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const loopback = JSON.parse(readFileSync(join(ROOT, 'integration_tests/sample_config.json'), 'utf8')) as Record<string, unknown>;
    expect(docker).toEqual({ ...loopback, base_url: 'https://hotjar-api:18443/api' });
    expect(loadConfig(path).base_url).toBe('https://hotjar-api:18443/api');
    // the documented commands use the same names and port
    for (const doc of ['README.md', 'acceptance-test-config.yml']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      expect(text, doc).toContain('--port 18443 --tls');
      expect(text, doc).toContain('--api-name hotjar-api --storage-name hotjar-storage');
      expect(text, doc).toContain('NODE_EXTRA_CA_CERTS');
      expect(text, doc).toContain('sample_config_docker.json');
    }
  });
});

describe('the connector against the HTTPS stand-in', () => {
  let sandbox: HotjarSandbox;
  let dir: string;
  let caFile: string;
  let configPath: string;

  beforeAll(async () => {
    dir = tempDir();
    const pki = makeTestPki({ names: ['localhost', '127.0.0.2'] });
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caCert);
    sandbox = await new HotjarSandbox({
      siteId: SAMPLE_SITE_ID,
      surveys: sampleSurveys(),
      tls: { cert: pki.cert, key: pki.key },
      publicHost: 'localhost',
    }).start();
    configPath = writeJson(dir, 'config.json', sandbox.config({ max_attempts: 1 }));
  });

  afterAll(async () => {
    await sandbox.stop();
  });

  const connectionStatus = (r: RunResult): { status: string; message?: string } =>
    byType(r, 'CONNECTION_STATUS')[0]?.['connectionStatus'] as { status: string; message?: string };

  it('advertises https URLs on the given names', () => {
    expect(sandbox.apiUrl).toMatch(/^https:\/\/localhost:\d+\/api$/);
    expect(sandbox.downloadOrigin).toMatch(/^https:\/\/127\.0\.0\.2:\d+$/);
  });

  it('checks and reads when the CA is given as NODE_EXTRA_CA_CERTS', async () => {
    const env = { NODE_EXTRA_CA_CERTS: caFile };
    const check = await runCli(['check', '--config', configPath], { env });
    expect(check.code).toBe(0);
    assertAllValid(check);
    expect(connectionStatus(check).status).toBe('SUCCEEDED');

    const catalogPath = writeJson(dir, 'catalog.json', catalog('incremental'));
    const before = sandbox.count('download');
    const read = await runCli(['read', '--config', configPath, '--catalog', catalogPath], { env });
    expect(read.code, read.stderr).toBe(0);
    assertAllValid(read);
    const expected = [...sandbox.surveys.values()].reduce((n, s) => n + ('rows' in s ? s.rows.length : 0), 0);
    expect(records(read)).toHaveLength(expected);
    expect(new Set(records(read).map((r) => r['survey_id']))).toEqual(new Set(['111', '222']));
    expect(states(read).length).toBeGreaterThanOrEqual(1);
    expect(sandbox.count('download') - before).toBe(2);
    expect(sandbox.requests.filter((q) => q.endpoint === 'download').every((q) => !q.hadCredentials)).toBe(true);
  });

  it('refuses the stand-in without its CA, even with NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    for (const env of [{}, { NODE_TLS_REJECT_UNAUTHORIZED: '0' }]) {
      const logins = sandbox.count('login');
      const r = await runCli(['check', '--config', configPath], { env });
      assertAllValid(r);
      expect(r.code).toBe(0);
      expect(connectionStatus(r), JSON.stringify(env)).toMatchObject({
        status: 'FAILED',
        message: expect.stringContaining("the server's TLS certificate could not be verified") as unknown,
      });
      expect(sandbox.count('login'), 'no request got through the handshake').toBe(logins);
      expect(r.stdout + r.stderr).not.toContain(sandbox.password);
    }
  });
});
