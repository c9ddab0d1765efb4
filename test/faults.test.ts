/**
 * Faults at the process level, against the built CLI: what only a real process can show (a reader that
 * closes stdout, SIGTERM and SIGINT, stderr, a crash). The HTTP fault matrix itself runs in-process, in
 * faults.inprocess.test.ts. Each test has its own stand-in. Last, the HTTP client in-process against a raw
 * server, where what is at stake is the process itself (an uncatchable crash in undici, #5360).
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { CHECKOUT_HEADER, NPS_HEADER, checkoutRow, generate, npsRow } from '../devtools/stand-in/data.js';
import { toCsv } from '../devtools/stand-in/csv.js';
import { makeTestPki } from '../devtools/stand-in/tls.js';
import { DOWNLOAD_BUFFER } from '../src/hotjar/export/client.js';
import { Http, sleep } from '../src/hotjar/http.js';
import { codesOf, isRetryable } from '../src/hotjar/outcome.js';
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

/**
 * A "disk" slower than the network for the child: every write to a spool file (`*.export`) completes
 * `ms` later. Loaded with --import before the CLI; WriteStream calls fs.write/fs.writev through the fs
 * module, so patching them there is enough.
 */
const slowSpool = (ms: number): string =>
  `--import=data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs';
const { open, write, writev, close } = fs;
const slow = new Set();
fs.open = function (path, ...rest) {
  const done = rest.pop();
  return open.call(this, path, ...rest, (err, fd) => {
    if (!err && String(path).endsWith('.export')) slow.add(fd);
    done(err, fd);
  });
};
for (const [name, original] of [['write', write], ['writev', writev]]) {
  fs[name] = function (fd, ...rest) {
    if (!slow.has(fd)) return original.call(this, fd, ...rest);
    const done = rest.pop();
    return original.call(this, fd, ...rest, (...result) => setTimeout(() => done(...result), ${ms}));
  };
}
fs.close = function (fd, ...rest) {
  slow.delete(fd);
  return close.call(this, fd, ...rest);
};
`)}`;

function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Rows whose CSV export is exactly `bytes` long (the oldest row's Source URL takes the padding). */
function csvOfSize(bytes: number): string[][] {
  const perRow = Buffer.byteLength(toCsv(CHECKOUT_HEADER, generate(checkoutRow, 100))) / 100;
  const rows = generate(checkoutRow, Math.max(1, Math.floor(bytes / perRow) - 3));
  const short = bytes - Buffer.byteLength(toCsv(CHECKOUT_HEADER, rows));
  expect(short).toBeGreaterThan(10);
  const last = rows.at(-1)!;
  last[4] = `${last[4]}#${'x'.repeat(short - 1)}`;
  expect(Buffer.byteLength(toCsv(CHECKOUT_HEADER, rows))).toBe(bytes);
  return rows;
}

/**
 * The CLI reads survey 111 from a storage host that closes the connection right after the body while the
 * spool is still writing. The spool (a WriteStream) takes DOWNLOAD_BUFFER bytes before it pushes back, and
 * undici holds as many of the body before its parser pauses. So: the first DOWNLOAD_BUFFER bytes fill the
 * spool, whose writes take 400 ms; the rest, DOWNLOAD_BUFFER bytes, come 100 ms later and fill the body
 * exactly to its last byte, which pauses the parser there; the FIN follows at once. Deterministic whatever
 * the TCP segments.
 */
async function closedWhileSpooling(test: TestContext, tls: boolean): Promise<void> {
  const tail = DOWNLOAD_BUFFER;
  const rows = csvOfSize(DOWNLOAD_BUFFER + tail);
  const pki = tls ? makeTestPki({ names: ['localhost', '127.0.0.2'] }) : undefined;
  const { sandbox, config, noLeaks, dir } = await standIn(
    test,
    {
      siteId: SITE,
      password: PASSWORD,
      plainCsv: true,
      surveys: new Map([['111', { header: [...CHECKOUT_HEADER], rows }]]),
      ...(pki ? { tls: { cert: pki.cert, key: pki.key }, publicHost: 'localhost' } : {}),
    },
    { max_attempts: 2, max_retry_wait_seconds: 0.01, request_timeout_seconds: 5 },
  );
  sandbox.fault('download', { kind: 'close-after-body', tail, pauseMs: 100 });
  const env: Record<string, string> = { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} ${slowSpool(400)}`.trim() };
  if (pki) env['NODE_EXTRA_CA_CERTS'] = writeFile(dir, 'ca.pem', pki.caCert);
  const r = await runCli(['read', '--config', config(), '--catalog', writeJson(dir, 'catalog.json', catalog('incremental'))], { env });
  expect(sandbox.downloadOrigin.startsWith(tls ? 'https:' : 'http:')).toBe(true);
  assertAllValid(r);
  // Before the fix: "Unexpected internal error: … assert(!this.paused)", exit 1.
  expect(errors(r)).toEqual([]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(records(r)).toEqual(rows.map((row) => expectedRecord(CHECKOUT_HEADER, row, SITE, '111')));
  // Read whole the first time, not rescued by a retry.
  expect(sandbox.count('download')).toBe(1);
  noLeaks(r);
}

describe.concurrent('undici #5360: the connection ends while the reader holds the body back', () => {
  // undici 7 crashed the process (an AssertionError thrown from the socket's 'end' handler, which no
  // caller can catch) when a response not kept alive ended, or was reset, while its parser was paused
  // because the body's reader applied backpressure. The CLI reported it as an internal error, exit 1.
  it('the storage host closes the connection right after the body while the spool is still writing: the read completes, one download, no crash', (test) =>
    closedWhileSpooling(test, false));

  it('the same over HTTPS (a TLS socket ends the same way): the read completes, one download, no crash', (test) =>
    closedWhileSpooling(test, true));
});

/** A raw HTTP/1.1 server: `answer` writes the response on the socket itself once the request arrives. */
async function rawServer(test: TestContext, answer: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  test.onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/**
 * GETs `url` with the connector's HTTP client and reads the body only after `ms` (as the issue's repro).
 * Fails at once if an exception escapes meanwhile: in a real run that is the process crashing (vitest
 * catches it and would report it apart from the test).
 */
async function heldBack(test: TestContext, url: string, ms = 500): Promise<Buffer> {
  const http = new Http({ maxAttempts: 1, maxRetryWaitMs: 0, timeoutMs: 5_000, deadlineMs: 10_000, log: () => undefined });
  test.onTestFinished(() => http.close());
  let monitor: (err: unknown) => void = () => undefined;
  const crashed = new Promise<never>((_, reject) => {
    monitor = (err) => reject(new Error(`an uncaught exception would have crashed the process: ${String(err)}`));
  });
  process.on('uncaughtExceptionMonitor', monitor);
  try {
    return await Promise.race([
      crashed,
      http.send(url, {}, async (res) => {
        await sleep(ms);
        const parts: Buffer[] = [];
        for await (const chunk of res.body as AsyncIterable<Buffer>) parts.push(chunk);
        return Buffer.concat(parts);
      }),
    ]);
  } finally {
    process.off('uncaughtExceptionMonitor', monitor);
  }
}

/** 64 KiB, undici's body highWaterMark: a reader that reads nothing lets the parser pause exactly on the last byte. */
const BODY = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => 97 + (i % 26)));

// One at a time: an uncaught exception is the process's, not a test's.
describe('undici #5360 in-process: the HTTP client against a raw server', () => {
  it('Content-Length, Connection: close and a FIN right after the body: the body is read whole once its reader comes back', async (test) => {
    const url = await rawServer(test, (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`);
      socket.end(BODY);
    });
    expect((await heldBack(test, url)).equals(BODY)).toBe(true);
  });

  it('HTTP/1.0 without a length (the body ends with the connection): read whole once its reader comes back', async (test) => {
    const url = await rawServer(test, (socket) => {
      socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
      socket.end(BODY);
    });
    expect((await heldBack(test, url)).equals(BODY)).toBe(true);
  });

  it('a body cut short by a FIN while held back is a cut transfer (retried), never a success', async (test) => {
    const url = await rawServer(test, (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length * 16}\r\nConnection: close\r\n\r\n`);
      socket.end(BODY);
    });
    const err = await heldBack(test, url).catch((e: unknown) => e);
    expect(codesOf(err), String(err)).toContain('UND_ERR_RES_CONTENT_LENGTH_MISMATCH');
    expect(isRetryable(err)).toBe(true);
  });

  it('a connection reset while the body is held back is a retryable ECONNRESET, not a crash', async (test) => {
    const url = await rawServer(test, (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length * 16}\r\nConnection: close\r\n\r\n`);
      socket.write(BODY);
      setTimeout(() => socket.resetAndDestroy(), 100);
    });
    const err = await heldBack(test, url).catch((e: unknown) => e);
    expect(codesOf(err), String(err)).toContain('ECONNRESET');
    expect(isRetryable(err)).toBe(true);
  });
});
