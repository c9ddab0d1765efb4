/**
 * The parts of undici the connector uses (an Agent, its connector, `request`, SocketError, the
 * Set-Cookie parser), loaded from undici's own modules rather than from its index.
 *
 * Why: undici's index loads all of undici (fetch, WebSocket, caches, mocks, ...) and, in its cookie
 * module, reads `globalThis.Headers`, which makes Node load its own bundled copy of undici as well.
 * Measured on Node 20 (2-core bench machine): `require('undici')` takes 83–99 ms and adds 20 MB of
 * RSS; these modules take 24–44 ms and 11 MB. Every command that talks to Hotjar pays that at
 * start-up, and every read holds it.
 *
 * undici has no `exports` map, so these files are importable; they are undici 7's layout
 * (lib/dispatcher/agent.js, lib/api/api-request.js, lib/web/cookies/parse.js, and lib/core/connect.js and
 * lib/core/errors.js, which the Agent loads anyway), held by the ^7 range in package.json. `request`
 * here is what undici's index builds around the same function (url → origin and path, GET by default).
 * test/units.test.ts checks that loading the HTTP layer leaves Node's bundled undici unloaded, and every
 * end-to-end test goes through these.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type { Agent as UndiciAgent, Dispatcher, buildConnector as undiciBuildConnector, errors } from 'undici';

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it at once with its baseline
 * compiler (Liftoff), then recompiles hot functions in the background, and Node waits for that work to
 * finish before the process may exit: it added 75–100 ms to the end of every command that made a
 * request (`check` on the bench machine: out → exit 80 ms, 1 ms with this). Liftoff code is fast
 * enough here (exports arrive as large body spans, not many small messages; download times were the
 * same). The flag is read when the module is compiled, on the first connection, after this line.
 */
setFlagsFromString('--liftoff-only');

const load = createRequire(import.meta.url);

export const Agent = load('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

/** undici's connector (what an Agent uses when given connect options), to wrap the sockets it opens. */
export const buildConnector = load('undici/lib/core/connect.js') as typeof undiciBuildConnector;

export const SocketError = (load('undici/lib/core/errors.js') as typeof errors).SocketError;

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Dispatcher;
  method?: Dispatcher.HttpMethod;
};

const apiRequest = load('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** undici's `request(url, options)`: one request through `options.dispatcher`. */
export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const { dispatcher, method, ...rest } = options;
  const u = new URL(url);
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
    method: method ?? 'GET',
  });
}

const cookies = load('undici/lib/web/cookies/parse.js') as {
  parseSetCookie(header: string): { name: string; value: string } | null;
};

/** The name and value of each Set-Cookie line undici's parser accepts (as undici's getSetCookies gives them). */
export function parseSetCookies(lines: readonly string[]): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const line of lines) {
    const cookie = cookies.parseSetCookie(line.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '')); // as Headers normalises a value
    if (cookie) out.push({ name: cookie.name, value: cookie.value });
  }
  return out;
}
