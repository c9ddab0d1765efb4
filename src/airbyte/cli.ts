/**
 * source-hotjar: the Airbyte entry point. Commands are imported lazily, and `spec` skips yargs, so it
 * answers fast (registries call it cold).
 */
import type { Argv } from 'yargs';
import type { EntryPoint } from '../core/process.js';
import { errorTrace, type AirbyteMessage } from './messages.js';

export interface AirbyteArgs {
  _: (string | number)[];
  config?: string;
  catalog?: string;
  state?: string;
}

const config = { type: 'string', demandOption: true, describe: 'Path to the config JSON file', requiresArg: true } as const;

export const airbyteEntry: EntryPoint<AirbyteMessage, AirbyteArgs> = {
  async parser(argv): Promise<Argv<AirbyteArgs>> {
    const { default: yargs } = await import('yargs');
    return yargs(argv)
      .scriptName('source-hotjar')
      .usage(
        '$0 <command> [options]\n\nAirbyte source for Hotjar survey responses. Protocol messages go to stdout, one JSON object a line.',
      )
      .command('spec', 'Print the connector specification (SPEC)')
      .command('check', 'Log in to Hotjar and check each survey can be exported (CONNECTION_STATUS)', (y) => y.option('config', config))
      .command('discover', "Print the catalog of streams, with every column of the surveys' exports (CATALOG)", (y) =>
        y.option('config', config),
      )
      .command('read', 'Read the selected streams (RECORD, STATE, LOG, TRACE)', (y) =>
        y
          .option('config', config)
          .option('catalog', {
            type: 'string',
            demandOption: true,
            describe: 'Path to the configured catalog JSON file',
            requiresArg: true,
          })
          .option('state', { type: 'string', describe: 'Path to a state JSON file (optional)', requiresArg: true }),
      )
      .demandCommand(1, 'Name a command: spec, check, discover or read.');
  },

  validate(args) {
    // yargs turns a repeated option into an array: say so, instead of failing on a path "a.json,b.json".
    for (const name of ['config', 'catalog', 'state'] as const) {
      if (Array.isArray(args[name])) return `--${name} is given more than once; give it once.`;
    }
    return undefined;
  },

  fastPath(argv, { writer }) {
    if (argv.length !== 1 || argv[0] !== 'spec') return undefined;
    return import('./spec.js').then(async ({ spec }) => {
      await writer.write(spec());
      return 0;
    });
  },

  async run(ctx, args) {
    const command = String(args._[0]);
    const configPath = args.config ?? '';
    switch (command) {
      case 'spec':
        await ctx.writer.write((await import('./spec.js')).spec());
        return 0;
      case 'check':
        return (await import('./check.js')).check(ctx, configPath);
      case 'discover':
        return (await import('./discover.js')).discover(ctx, configPath);
      case 'read':
        return (await import('./read.js')).read(ctx, { config: configPath, catalog: args.catalog ?? '', state: args.state });
      default:
        throw new Error(`unknown command ${command}`);
    }
  },

  report(writer, error) {
    void writer.write(errorTrace(error));
  },

  stopped(signal) {
    process.stderr.write(`source-hotjar: stopped by ${signal}.\n`);
  },
};
