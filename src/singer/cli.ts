/**
 * tap-hotjar: the connector as a Singer tap. Same config, same core (readSurveyResponses), Singer
 * messages on stdout (one JSON a line), `LEVEL message` log lines on stderr.
 *
 *   tap-hotjar --config CONFIG --discover                       prints the catalog (a JSON object)
 *   tap-hotjar --config CONFIG [--catalog CATALOG] [--state STATE]   syncs (--properties: legacy --catalog)
 *
 * Exit codes: 0 success; 1 a failure (`CRITICAL …` on stderr, or a survey failed: `ERROR …` lines, the
 * others were synced); 2 a usage error (help on stderr); 130/143 stopped by SIGINT/SIGTERM.
 */
import type { Argv } from 'yargs';
import { SIGNAL_EXIT, stderrHelp, takeOverProcess, usageError } from '../cli.js';
import { CancelledError, toConnectorError } from '../errors.js';
import type { CommandContext } from '../commands/context.js';
import { logLine } from './sink.js';

interface TapArgs {
  config?: string;
  discover?: boolean;
  catalog?: string;
  properties?: string;
  state?: string;
  help?: boolean;
}

async function parser(argv: string[]): Promise<Argv> {
  const { default: yargs } = await import('yargs');
  const file = (describe: string) => ({ type: 'string', requiresArg: true, describe }) as const;
  const y = yargs(argv)
    .scriptName('tap-hotjar')
    .usage('$0 --config CONFIG [--discover | [--catalog CATALOG] [--state STATE]]')
    .epilogue(
      'Singer tap for Hotjar survey responses. Messages go to stdout, one JSON object a line;\nlogs go to stderr. Without a catalog, survey_responses is synced incrementally.',
    )
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .option('config', file('Path to the config JSON file (required)'))
    .option('discover', { type: 'boolean', describe: 'Print the catalog (JSON) and exit' })
    .option('catalog', file('Path to the catalog JSON file (streams with "selected": true are synced)'))
    .option('properties', file('Legacy name of --catalog'))
    .option('state', file('Path to a state JSON file (the value of the last STATE message)'))
    .conflicts('catalog', 'properties')
    .conflicts('discover', ['catalog', 'properties']);
  return stderrHelp(y);
}

export async function run(argv: string[]): Promise<number> {
  const { writer, controller } = takeOverProcess();
  const y = await parser(argv);
  let args: TapArgs;
  try {
    args = (await y.parseAsync()) as TapArgs;
  } catch (err) {
    return usageError(y, err);
  }
  if (args.help) {
    y.showHelp((s: string) => process.stderr.write(`${s}\n`));
    return 0;
  }
  // Checked here, not by yargs, so that --help alone shows the help.
  if (args.config === undefined) return usageError(y, 'Missing required argument: config');

  const ctx: CommandContext = { writer, signal: controller.signal };
  const config = args.config;
  let code: number;
  try {
    const { discover, sync } = await import('./sync.js');
    const catalog = args.catalog ?? args.properties;
    code = args.discover
      ? await discover(ctx, { config })
      : await sync(ctx, { config, ...(catalog !== undefined ? { catalog } : {}), ...(args.state !== undefined ? { state: args.state } : {}) });
  } catch (err) {
    // A stop is reported below, with its own exit code; anything else ends the run here.
    if (!(err instanceof CancelledError) && !controller.signal.aborted) logLine('CRITICAL', toConnectorError(err).message);
    code = 1;
  }
  await writer.end();
  if (controller.signal.aborted) {
    const signal = String(controller.signal.reason);
    logLine('WARNING', `Stopped by ${signal}; the last STATE printed is where the next run resumes.`);
    code = SIGNAL_EXIT[signal] ?? 1;
  }
  return code;
}
