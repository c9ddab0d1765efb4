/**
 * The one entry-point skeleton for both bins (source-hotjar and tap-hotjar): argv parsing with help and
 * usage errors on stderr, the stdout writer, signals, crash guards and exit codes. What differs between
 * the Airbyte and Singer entry points is given as an `EntryPoint`.
 *
 * Exit codes: 0 success; 1 a failure (reported by the protocol's own means); 2 a usage error (help on
 * stderr, nothing on stdout); 130/143 stopped by SIGINT/SIGTERM. `--help` anywhere exits 0.
 */
import type { Argv } from 'yargs';
import { CancelledError, UsageError, toConnectorError, type ConnectorError } from './errors.js';
import { mask } from './secrets.js';
import { Writer } from './writer.js';

export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };
/**
 * After a stop, how long the run may take to unwind before the process exits anyway. Even then it exits
 * only once stdout holds nothing partly written (a stalled reader delays the exit instead of getting a
 * cut line); a second signal exits at once.
 */
const STOP_GRACE_MS = 10_000;

export interface RunContext<M extends { type: string }> {
  writer: Writer<M>;
  signal: AbortSignal;
}

export interface EntryPoint<M extends { type: string }, A> {
  /** Builds the yargs parser (strict; help and errors are handled here). */
  parser(argv: string[]): Promise<Argv<A>>;
  /** Arguments checked after yargs (undefined when fine, else the usage problem). */
  validate?(args: A): string | undefined;
  /** Runs a parsed command; resolves to the exit code. */
  run(ctx: RunContext<M>, args: A): Promise<number>;
  /** Reports a failure that ended the command (a TRACE on stdout, or a CRITICAL line on stderr). */
  report(writer: Writer<M>, error: ConnectorError): void;
  /** Says on stderr how a stop ended the run. */
  stopped(signal: string): void;
  /** A command answered before yargs is even loaded (`spec` must start fast). */
  fastPath?(argv: string[], ctx: RunContext<M>): Promise<number> | undefined;
}

/** Runs an entry point as the process's main. */
export function main<M extends { type: string }, A>(entry: EntryPoint<M, A>): void {
  const writer = new Writer<M>(process.stdout, { onClosed: () => process.exit(0) });
  const controller = new AbortController();
  installCrashGuards(entry, writer);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(SIGNAL_EXIT[signal] ?? 1);
    controller.abort(signal);
    writer.seal();
    setTimeout(() => exitWhenWritten(SIGNAL_EXIT[signal] ?? 1), STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  void runEntry(entry, process.argv.slice(2), { writer, signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => fail(entry, writer, err),
  );
}

/**
 * Exits as soon as stdout has handed every byte it was given to the OS: exiting with a write under way
 * would leave the reader a cut line. The writer is sealed by then, so only the lines already queued wait.
 */
function exitWhenWritten(code: number): void {
  const out = process.stdout;
  const done = (): boolean => out.writableLength === 0 || out.destroyed;
  if (done()) process.exit(code);
  setInterval(() => {
    if (done()) process.exit(code);
  }, 50);
}

async function runEntry<M extends { type: string }, A>(entry: EntryPoint<M, A>, argv: string[], ctx: RunContext<M>): Promise<number> {
  let code = await entry.fastPath?.(argv, ctx);
  if (code === undefined) code = await parseAndRun(entry, argv, ctx);
  await ctx.writer.end();
  if (ctx.signal.aborted) {
    const signal = String(ctx.signal.reason);
    entry.stopped(signal);
    return SIGNAL_EXIT[signal] ?? 1;
  }
  return code;
}

async function parseAndRun<M extends { type: string }, A>(entry: EntryPoint<M, A>, argv: string[], ctx: RunContext<M>): Promise<number> {
  const y = stderrHelp(await entry.parser(argv));
  let args: A & { help?: boolean };
  try {
    args = (await y.parseAsync()) as A & { help?: boolean };
  } catch (err) {
    // `--help` on a command whose required options are missing still shows the help, exit 0.
    if (argv.includes('--help') || argv.includes('-h')) return showHelp(y, 0);
    return usage(y, err instanceof Error ? err.message : String(err));
  }
  if (args.help) return showHelp(y, 0);
  const problem = entry.validate?.(args);
  if (problem !== undefined) return usage(y, problem);
  try {
    return await entry.run(ctx, args);
  } catch (err) {
    if (err instanceof CancelledError || ctx.signal.aborted) return 1;
    entry.report(ctx.writer, toConnectorError(err));
    return 1;
  }
}

/** What both entry points want from yargs: strict, help only on stderr, usage errors thrown, no exit. */
function stderrHelp<A>(y: Argv<A>): Argv<A> {
  return y
    .strict()
    .help(false)
    .version(false)
    .option('help', { alias: 'h', type: 'boolean', describe: 'Show help (on stderr)' })
    .wrap(Math.min(100, process.stderr.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || (err ? err.message : 'invalid usage'));
    });
}

async function showHelp<A>(y: Argv<A>, code: number): Promise<number> {
  await new Promise<void>((resolve) =>
    y.showHelp((s: string) => {
      process.stderr.write(`${s}\n`);
      resolve();
    }),
  );
  return code;
}

async function usage<A>(y: Argv<A>, problem: string): Promise<number> {
  await showHelp(y, 2);
  process.stderr.write(`\n${problem}\n`);
  return 2;
}

/** Anything that escapes is reported once, masked, by the protocol's own means; then exit 1. */
function installCrashGuards<M extends { type: string }, A>(entry: EntryPoint<M, A>, writer: Writer<M>): void {
  process.on('uncaughtException', (err) => fail(entry, writer, err));
  process.on('unhandledRejection', (err) => fail(entry, writer, err));
}

let failing = false;
function fail<M extends { type: string }, A>(entry: EntryPoint<M, A>, writer: Writer<M>, err: unknown): void {
  if (failing) return;
  failing = true;
  try {
    entry.report(writer, toConnectorError(err));
  } catch (inner) {
    process.stderr.write(`internal error: ${mask(String(inner))}\n`);
  }
  writer.seal();
  const exit = (): never => process.exit(1);
  setTimeout(exit, 2000).unref();
  writer.end().then(exit, exit);
}
