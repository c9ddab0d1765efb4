/**
 * The CSV parser runs in a worker thread that src/hotjar/export/csv-rows.ts starts from
 * `new URL('./csv-worker.js', import.meta.url)`. Run from src/ under vitest, that names
 * src/hotjar/export/csv-worker.js, which does not exist (the source is .ts, and Node 20 cannot run
 * TypeScript in a worker). A test file that drives the real export source in-process mocks
 * `node:worker_threads` with this module: the same Worker class, with that one file name redirected to
 * the build of the same source, dist/hotjar/export/csv-worker.js (test/global-setup.ts builds dist/ from
 * src/ before any test runs). Everything else runs from src/.
 *
 *   vi.mock('node:worker_threads', async (original) =>
 *     (await import('./inprocess/worker-threads.js')).withBuiltWorkers(await original()));
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as WorkerThreads from 'node:worker_threads';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = resolve(ROOT, 'src');
const DIST = resolve(ROOT, 'dist');

/** A worker script under src/ named by its build name (.js): the same file in dist/. */
export function builtWorkerFile(filename: string | URL): string | URL {
  const path = filename instanceof URL ? fileURLToPath(filename) : filename.startsWith('file:') ? fileURLToPath(filename) : filename;
  const rel = relative(SRC, path);
  if (rel.startsWith('..') || !path.endsWith('.js') || existsSync(path)) return filename;
  const built = resolve(DIST, rel);
  if (!existsSync(built)) throw new Error(`${built} is missing: build first (npm run build; npm test does it in test/global-setup.ts)`);
  return pathToFileURL(built);
}

export function withBuiltWorkers(original: typeof WorkerThreads): typeof WorkerThreads {
  class Worker extends original.Worker {
    constructor(filename: string | URL, options?: WorkerThreads.WorkerOptions) {
      super(builtWorkerFile(filename), options);
    }
  }
  return { ...original, Worker, default: { ...original, Worker } } as typeof WorkerThreads;
}
