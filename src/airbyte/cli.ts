/**
 * The command line: parses argv (yargs), owns the process's lifecycle (signals, exit codes, closed
 * stdout) and maps any failure to one TRACE error. Commands are imported lazily so `spec` starts fast.
 *
 * Exit codes: 0 success (and `check` whatever its verdict); 1 a failure reported as TRACE; 2 a usage
 * error (help on stderr); 130/143 stopped by SIGINT/SIGTERM.
 */
import type { Argv } from 'yargs';
import { CancelledError, toConnectorError } from './errors.js';
import { errorTrace } from './protocol/messages.js';
import { mask } from './protocol/secrets.js';
import { Writer } from './protocol/writer.js';
import type { CommandContext } from './commands/context.js';

export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

interface ParsedArgs {
  _: (string | number)[];
  config?: string;
  catalog?: string;
  state?: string;
  host?: string;
  port?: number;
  'config-out'?: string;
  help?: boolean;
}

async function parser(argv: string[], scriptName: string): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  const config = { type: 'string', demandOption: true, describe: 'Path to the config JSON file', requiresArg: true } as const;
  const y = yargs(argv)
    .scriptName(scriptName)
    .usage('$0 <command> [options]\n\nAirbyte source for Hotjar survey responses. Protocol messages go to stdout, one JSON object a line.')
    .command('spec', 'Print the connector specification (SPEC)')
    .command('check', 'Log in to Hotjar and check each survey can be exported (CONNECTION_STATUS)', (y) => y.option('config', config))
    .command('discover', 'Print the catalog of streams (CATALOG)', (y) => y.option('config', config))
    .command('read', 'Read survey responses (RECORD, STATE, LOG, TRACE)', (y) =>
      y
        .option('config', config)
        .option('catalog', { type: 'string', demandOption: true, describe: 'Path to the configured catalog JSON file', requiresArg: true })
        .option('state', { type: 'string', describe: 'Path to a state JSON file (optional)', requiresArg: true }),
    )
    .command('sandbox', 'Run the local Hotjar stand-in (for demos and tests) until stopped', (y) =>
      y
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address for the API (the download host is the next loopback address)' })
        .option('port', { type: 'number', default: 18080, describe: 'API port (0: any free port); integration_tests/sample_config.json expects 18080' })
        .option('config-out', { type: 'string', describe: 'Write a ready connector config for the stand-in to this file' }),
    )
    .demandCommand(1, 'Name a command: spec, check, discover or read.');
  return stderrHelp(y);
}

/** What both entry points (this and the Singer tap's) want from yargs: strict, help only on stderr, usage errors thrown, no exit. */
export function stderrHelp<T>(y: Argv<T>) {
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

class UsageError extends Error {}

/**
 * For both entry points (this and the Singer tap's): the one stdout writer, and an abort controller that
 * SIGINT/SIGTERM trip; a second signal, or 3 s after the first, ends the process.
 */
export function takeOverProcess(): { writer: Writer; controller: AbortController } {
  const writer = new Writer(process.stdout, {
    // The reader went away (`| head -1`): nothing more can be delivered; leave quietly.
    onClosed: () => process.exit(0),
  });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(SIGNAL_EXIT[signal] ?? 1);
    controller.abort(signal);
    // Whatever is still running gets a moment to unwind and flush whole lines, then we go.
    setTimeout(() => process.exit(SIGNAL_EXIT[signal] ?? 1), 3000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { writer, controller };
}

/** A usage error: help and the problem on stderr, exit code 2. */
export async function usageError(y: Argv, err: unknown): Promise<number> {
  await new Promise<void>((resolve) => y.showHelp((s: string) => { process.stderr.write(`${s}\n`); resolve(); }));
  process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
  return 2;
}

export async function run(argv: string[], scriptName = 'source-hotjar'): Promise<number> {
  const { writer, controller } = takeOverProcess();
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    const y = await parser(argv, scriptName);
    y.showHelp((text: string) => process.stderr.write(`${text}\n`));
    return finish(writer, controller, 0);
  }
  // `spec` is the one command that must answer instantly (registries call it cold): skip yargs for it.
  if (argv.length === 1 && argv[0] === 'spec') return finish(writer, controller, await runCommand('spec', { _: ['spec'] }, writer, controller));
  const y = await parser(argv, scriptName);
  let args: ParsedArgs;
  try {
    args = (await y.parseAsync()) as ParsedArgs;
  } catch (err) {
    return usageError(y, err);
  }
  if (args.help) {
    y.showHelp((s: string) => process.stderr.write(`${s}\n`));
    return 0;
  }
  return finish(writer, controller, await runCommand(String(args._[0]), args, writer, controller));
}

async function runCommand(command: string, args: ParsedArgs, writer: Writer, controller: AbortController): Promise<number> {
  const ctx: CommandContext = { writer, signal: controller.signal };
  let code: number;
  try {
    code = await dispatch(command, args, ctx);
  } catch (err) {
    if (err instanceof CancelledError || controller.signal.aborted) {
      const signal = (controller.signal.reason as NodeJS.Signals | undefined) ?? 'SIGTERM';
      process.stderr.write(`source-hotjar: stopped by ${signal}.\n`);
      code = SIGNAL_EXIT[signal] ?? 1;
    } else {
      const error = toConnectorError(err);
      await writer.write(errorTrace(error));
      code = 1;
    }
  }
  return code;
}

async function finish(writer: Writer, controller: AbortController, code: number): Promise<number> {
  await writer.end();
  if (controller.signal.aborted) code = SIGNAL_EXIT[controller.signal.reason as string] ?? 1;
  return code;
}

async function dispatch(command: string, args: ParsedArgs, ctx: CommandContext): Promise<number> {
  switch (command) {
    case 'spec':
      return (await import('./commands/spec.js')).spec(ctx, {});
    case 'check':
      return (await import('./commands/check.js')).check(ctx, { config: args.config! });
    case 'discover':
      return (await import('./commands/discover.js')).discover(ctx, { config: args.config! });
    case 'read':
      return (await import('./commands/read.js')).read(ctx, {
        config: args.config!,
        catalog: args.catalog!,
        ...(args.state !== undefined ? { state: args.state } : {}),
      });
    case 'sandbox':
      return (await import('./sandbox/command.js')).sandboxCommand(ctx, {
        host: args.host ?? '127.0.0.1',
        port: args.port ?? 18080,
        ...(args['config-out'] !== undefined ? { configOut: args['config-out'] } : {}),
      });
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/** Last resort: anything that escapes is reported on stderr without secrets, never as a stack on stdout. */
export function installCrashGuards(): void {
  const report = (err: unknown): void => {
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`source-hotjar: internal error: ${mask(text)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}
