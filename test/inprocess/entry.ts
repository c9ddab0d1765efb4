/**
 * Runs a real entry point (`airbyteEntry` of src/airbyte/cli.ts, `tapEntry` of src/singer/cli.ts) in this
 * process, as src/core/process.ts does for one command once yargs has parsed it: the real command, the
 * real typed `Writer` (over an in-memory stream instead of fd 1), and on a thrown error the entry's own
 * `report` and exit code 1. What is left out is the process shell itself (argv parsing, usage errors,
 * signals, crash guards, a closed stdout); the end-to-end files keep those.
 *
 * Each run starts with `clearSecrets()` (unless `overlapping`): masking state is process-global, and a
 * real run starts with none, so a leak check here is as strict as one on a fresh process.
 *
 * The result has the shape of `runCli`'s, so the helpers of helpers.ts (records, states, errors…) work on it.
 */
import { Writable } from 'node:stream';
import { vi } from 'vitest';
import { CancelledError, toConnectorError } from '../../src/core/errors.js';
import type { EntryPoint } from '../../src/core/process.js';
import { clearSecrets } from '../../src/core/secrets.js';
import { Writer } from '../../src/core/writer.js';
import type { Message, RunResult } from '../helpers.js';

export interface InProcessOptions {
  signal?: AbortSignal;
  /**
   * For runs that overlap in time (concurrent tests), which must leave process-global state alone: the
   * masking state is not cleared first (one run's clear would drop the secrets another run registered;
   * clear once before the group starts), and process.stdout/stderr are not captured (Airbyte commands
   * write only to the writer). Each run still registers its own password, cookies, keys and signatures
   * itself, so a secret can be masked in another run's output only if both registered the same value.
   */
  overlapping?: boolean;
}

/** Runs one command of `entry` with already parsed `args`; resolves like `runCli` (signal is always null). */
export async function runEntry<M extends { type: string }, A>(
  entry: EntryPoint<M, A>,
  args: A,
  options: InProcessOptions = {},
): Promise<RunResult> {
  if (!options.overlapping) clearSecrets();
  const out: string[] = [];
  const err: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      out.push(chunk.toString());
      callback();
    },
  });
  const writer = new Writer<M>(sink);
  // Singer's log lines (and its --discover catalog) go straight to process.stderr / process.stdout.
  const capture =
    (into: string[]) =>
    (chunk: string | Uint8Array): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
  const stderr = options.overlapping ? undefined : vi.spyOn(process.stderr, 'write').mockImplementation(capture(err));
  const stdout = options.overlapping ? undefined : vi.spyOn(process.stdout, 'write').mockImplementation(capture(out));
  const signal = options.signal ?? new AbortController().signal;
  let code: number;
  try {
    try {
      code = await entry.run({ writer, signal }, args);
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) code = 1;
      else {
        entry.report(writer, toConnectorError(error));
        code = 1;
      }
    }
    await writer.end();
  } finally {
    stderr?.mockRestore();
    stdout?.mockRestore();
  }
  const text = out.join('');
  const messages: Message[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      messages.push(JSON.parse(line) as Message);
    } catch {
      throw new Error(`stdout line is not JSON: ${line.slice(0, 200)}`);
    }
  }
  return { code, signal: null, stdout: text, stderr: err.join(''), messages };
}
