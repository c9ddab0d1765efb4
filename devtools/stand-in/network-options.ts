/**
 * The sandbox CLI's options for serving a connector in another container: HTTPS with a test CA made at
 * start, wildcard binding, and the host names the URLs carry (network aliases). Kept apart from
 * sandbox.ts so that file only spreads them in.
 */
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { SandboxOptions } from './server.js';
import { makeTestPki } from './tls.js';

interface Values {
  host?: string | undefined;
  tls?: boolean | undefined;
  'ca-out'?: string | undefined;
  'api-name'?: string | undefined;
  'storage-name'?: string | undefined;
  'storage-port'?: string | undefined;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

export const networkOptions = {
  args: {
    tls: { type: 'boolean', default: false },
    'ca-out': { type: 'string' },
    'api-name': { type: 'string' },
    'storage-name': { type: 'string' },
    'storage-port': { type: 'string' },
  },

  /** Checks the options, makes the test PKI (and writes --ca-out) when --tls is on. */
  resolve(values: Values): { sandbox: SandboxOptions; caFile?: string } {
    const host = values.host ?? '127.0.0.1';
    const apiName = values['api-name'];
    const storageName = values['storage-name'];
    if (WILDCARD.has(host) && (!apiName || !storageName)) {
      throw new Error(`--host ${host} listens on every interface: give --api-name and --storage-name, the names clients reach it by`);
    }
    if (values['ca-out'] && !values.tls) throw new Error('--ca-out needs --tls');
    const sandbox: SandboxOptions = {};
    if (apiName) sandbox.publicHost = apiName;
    if (storageName) sandbox.downloadPublicHost = storageName;
    if (values['storage-port'] !== undefined) {
      const port = Number(values['storage-port']);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--storage-port ${values['storage-port']} is not a port`);
      sandbox.downloadPort = port;
    }
    if (!values.tls) return { sandbox };
    const names = [apiName, storageName, WILDCARD.has(host) ? undefined : host, 'localhost', '127.0.0.1', '::1'];
    const unique = [...new Set(names.filter((n): n is string => Boolean(n)).map((n) => n.replace(/^\[|\]$/g, '')))];
    // A default storage host on the next loopback address (127.0.0.2) must be covered too.
    if (!storageName && host === '127.0.0.1') unique.push('127.0.0.2');
    const pki = makeTestPki({ names: unique.filter((n) => isIP(n) || !n.includes(':')) });
    sandbox.tls = { cert: pki.cert, key: pki.key };
    const caFile = values['ca-out'];
    if (caFile) writeFileSync(caFile, pki.caCert);
    return caFile ? { sandbox, caFile } : { sandbox };
  },
} as const;
