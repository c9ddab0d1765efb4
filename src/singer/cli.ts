/**
 * tap-hotjar: the connector as a Singer tap. Same config, same driver, Singer messages on stdout (one
 * JSON a line), `LEVEL message` log lines on stderr.
 *
 *   tap-hotjar --config CONFIG --discover                            prints the catalog (a JSON object)
 *   tap-hotjar --config CONFIG [--catalog CATALOG] [--state STATE]   syncs (--properties: legacy --catalog)
 *   tap-hotjar --about [--format json|markdown]                      describes the tap
 *   tap-hotjar --version                                             prints its name and version
 *
 * Exit codes: 0 success; 1 a failure (`CRITICAL …` on stderr, or a survey failed: `ERROR …` lines, the
 * others were synced); 2 a usage error (help on stderr); 130/143 stopped by SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { loadConfig } from '../core/config.js';
import { toConnectorError } from '../core/errors.js';
import { readJsonFile, type JsonObject } from '../core/json.js';
import { packageRoot } from '../core/package-root.js';
import type { EntryPoint, RunContext } from '../core/process.js';
import { mask } from '../core/secrets.js';
import { connect } from '../hotjar/connect.js';
import { STATE_STREAM_NAMES, STREAM_NAMES, discoverColumns, streamByName, streamsFor, surveyIdsToRead } from '../streams/catalog.js';
import { failedSurveys, planFor, readStreams, type LogLevel, type ReadSink, type StreamPlan } from '../streams/driver.js';
import { EMPTY_STATE, toStateBlob } from '../streams/state.js';
import { supportsIncremental, type StreamDefinition } from '../streams/stream.js';
import { ABOUT, formatAbout } from './about.js';
import { keyProperties, parseSingerCatalog, singerCatalogEntry, singerSchema, withoutProperties, type StreamSelection } from './catalog.js';
import { recordEncoder, recordFraming, schemaMessage, stateMessage, type SingerMessage } from './messages.js';
import { parseSingerState } from './state.js';

interface TapArgs {
  config?: string;
  discover?: boolean;
  catalog?: string;
  properties?: string;
  state?: string;
  about?: boolean;
  format?: string;
  version?: boolean;
}

/** Python logging's level names, which Singer runners parse from a tap's stderr. */
type SingerLevel = 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
const LEVELS: Record<LogLevel, SingerLevel> = { ERROR: 'ERROR', WARN: 'WARNING', INFO: 'INFO' };

function logLine(level: SingerLevel, message: string): void {
  process.stderr.write(`${level} ${mask(message)}\n`);
}

type Ctx = RunContext<SingerMessage>;

export const tapEntry: EntryPoint<SingerMessage, TapArgs> = {
  async parser(argv) {
    const { default: yargs } = await import('yargs');
    const file = (describe: string) => ({ type: 'string', requiresArg: true, describe }) as const;
    return (
      yargs(argv)
        .scriptName('tap-hotjar')
        // One usage line (yargs wraps the later lines of a multi-line usage mid-word); the others as examples.
        .usage('$0 --config CONFIG [--discover | [--catalog CATALOG] [--state STATE]]')
        .example([
          ['$0 --about [--format json|markdown]', 'Describe the tap (settings, capabilities)'],
          ['$0 --version', 'Print the name and version'],
        ])
        .epilogue(
          'Singer tap for Hotjar survey responses. Messages go to stdout, one JSON object a line;\nlogs go to stderr. Without a catalog, survey_responses and survey_answers\nare synced incrementally (surveys only when a catalog selects it).',
        )
        .option('config', file('Path to the config JSON file (required)'))
        .option('discover', { type: 'boolean', describe: 'Print the catalog (JSON) and exit' })
        .option('catalog', file('Path to the catalog JSON file (its selected streams are synced)'))
        .option('properties', file('Legacy name of --catalog'))
        .option('state', file('Path to a state JSON file (the value of the last STATE message)'))
        .option('about', { type: 'boolean', describe: 'Describe the tap (settings, capabilities) and exit' })
        .option('format', { type: 'string', choices: ['json', 'markdown'], describe: 'Format of --about' })
        .version(false)
        .option('version', { type: 'boolean', describe: 'Print the version and exit' })
        .conflicts('catalog', 'properties')
        .conflicts('discover', ['catalog', 'properties']) as unknown as Argv<TapArgs>
    );
  },

  validate(args) {
    // yargs turns a repeated option into an array: say so, instead of using one of them silently.
    for (const name of ['config', 'catalog', 'properties', 'state', 'format'] as const) {
      if (Array.isArray(args[name])) return `--${name} is given more than once; give it once.`;
    }
    if (args.about || args.version) return undefined;
    return args.config === undefined ? 'Missing required argument: config' : undefined;
  },

  async run(ctx, args) {
    const version = (): string => (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
    if (args.version) {
      process.stdout.write(`tap-hotjar ${version()}\n`);
      return 0;
    }
    if (args.about) {
      process.stdout.write(
        `${formatAbout(ABOUT, args.format === 'json' ? 'json' : args.format === 'markdown' ? 'markdown' : 'text', version())}\n`,
      );
      return 0;
    }
    const configPath = args.config ?? '';
    if (args.discover) return discover(configPath, ctx);
    const catalog = args.catalog ?? args.properties;
    return sync(ctx, configPath, catalog, args.state);
  },

  report(_writer, error) {
    logLine('CRITICAL', error.message);
  },

  stopped(signal) {
    logLine('WARNING', `Stopped by ${signal}; the last STATE printed is where the next run resumes.`);
  },
};

/** The deselected properties a stream leaves out: all but its key properties and replication key, which are always synced. */
function droppedProperties(definition: StreamDefinition, deselected: ReadonlySet<string> | undefined): Set<string> {
  const kept = new Set([...keyProperties(definition), definition.cursorField.join('.')]);
  const dropped = new Set<string>();
  for (const name of deselected ?? []) {
    if (!kept.has(name)) dropped.add(name);
    else
      logLine(
        'WARNING',
        `The catalog deselects ${JSON.stringify(name)} of ${definition.name}, a key or replication key: it is synced anyway.`,
      );
  }
  return dropped;
}

/** A record's JSON text without the given top-level keys. */
function cut(data: string, keys: ReadonlySet<string>): string {
  const record = JSON.parse(data) as JsonObject;
  for (const key of keys) delete record[key];
  return JSON.stringify(record);
}

/** Prints the Singer catalog: a JSON object on one line, with every discovered column. */
async function discover(configPath: string, { signal }: Ctx): Promise<number> {
  const config = loadConfig(configPath, (m) => logLine('WARNING', m));
  const source = connect(config, (m) => logLine('WARNING', m), signal);
  try {
    const mode = config.credentials.auth_type;
    // Meltano runs discover before a sync whenever its catalog is not cached: one survey that cannot be
    // read (deleted, say) must not stop the others. It is named in a WARNING and fails again, reported,
    // in the sync; only when no survey can be read does discover fail.
    const surveyIds = await surveyIdsToRead(source, config.survey_ids);
    const skipped: { id: string; err: unknown }[] = [];
    const columns = await discoverColumns(source, surveyIds, { mode, skipFailures: true, onSkip: (id, err) => skipped.push({ id, err }) });
    if (surveyIds.length > 0 && skipped.length === surveyIds.length) throw skipped[0]!.err;
    for (const { id, err } of skipped)
      logLine('WARNING', `Survey ${id} left out of the catalog's columns: ${toConnectorError(err).message}`);
    const streams = streamsFor(mode).map((s) => singerCatalogEntry(s, s.name === 'survey_responses' ? columns : undefined));
    process.stdout.write(`${JSON.stringify({ streams })}\n`);
  } finally {
    await source.close();
  }
  return 0;
}

async function sync(
  { writer, signal }: Ctx,
  configPath: string,
  catalogPath: string | undefined,
  statePath: string | undefined,
): Promise<number> {
  const config = loadConfig(configPath, (m) => logLine('WARNING', m));
  const mode = config.credentials.auth_type;
  // Without a catalog every stream selected by default is synced incrementally, as most taps do.
  const selection: StreamSelection[] =
    catalogPath === undefined
      ? streamsFor(mode)
          .filter((s) => s.selectedByDefault)
          .map((s) => ({ name: s.name, incremental: true, declared: undefined, deselected: new Set<string>() }))
      : parseSingerCatalog(readJsonFile(catalogPath, 'catalog'), STREAM_NAMES, catalogPath);
  const rawState = statePath === undefined ? undefined : readJsonFile(statePath, 'state', { allowEmpty: true });
  const states = parseSingerState(rawState, STATE_STREAM_NAMES);
  const plans: StreamPlan[] = [];
  for (const s of selection) {
    const definition = streamByName(s.name, mode);
    if (!definition) continue;
    const incremental = s.incremental && supportsIncremental(definition);
    plans.push({
      definition,
      incremental,
      state: states.get(s.name) ?? EMPTY_STATE,
      declared: definition.declaresColumns ? s.declared : undefined,
    });
  }
  if (plans.length === 0) {
    logLine('INFO', `The catalog selects no stream (set "selected": true in a stream's breadcrumb [] metadata); nothing to sync.`);
    return 0;
  }
  // A target creates a table from SCHEMA: the declared columns of the catalog it was handed, else the
  // static schema; without the properties the catalog deselects. A survey with columns the catalog lacks
  // (a question added since discover) gets them declared in a new SCHEMA before its first record, so
  // that targets add the columns instead of dropping the answers.
  const bookmarks: Record<string, unknown> = {};
  const reported = new WeakSet<Error>();
  const sink: ReadSink = {
    log: (level, message) => logLine(LEVELS[level], message),
    recordBytes: (bytes, written) => writer.writeBytes(bytes, written),
    stream: (name) => {
      const definition = streamByName(name, mode);
      const line = recordEncoder(name);
      let schemaSent = false;
      const plan = plans.find((p) => p.definition.name === name);
      const dropped = definition ? droppedProperties(definition, selection.find((s) => s.name === name)?.deselected) : new Set<string>();
      let declared: Set<string> | undefined;
      const columns = (): Set<string> | undefined => (declared ??= plan?.declared ? new Set(plan.declared) : undefined);
      const writeSchema = (): Promise<void> | undefined => {
        if (!definition) return undefined;
        const cols = columns();
        const schema = withoutProperties(singerSchema(definition, cols ? [...cols] : undefined), dropped);
        return writer.write(schemaMessage(name, schema, keyProperties(definition), definition.cursorField));
      };
      const sendSchema = (): void => {
        if (schemaSent) return;
        schemaSent = true;
        void writeSchema();
      };
      // Deselected properties are cut from each record's JSON: such streams take records one by one.
      const strip = dropped.size === 0 ? (data: string): string => data : (data: string): string => cut(data, dropped);
      return {
        framing: dropped.size === 0 ? recordFraming(name) : undefined,
        record: (data) => {
          sendSchema();
          return writer.writeLine(line(strip(data)));
        },
        announce: (keys) => {
          const cols = columns();
          const added = cols ? keys.filter((k) => !cols.has(k)) : [];
          if (!cols || added.length === 0) return undefined;
          for (const k of added) cols.add(k);
          return schemaSent ? writeSchema() : undefined; // else the first SCHEMA has them
        },
        state: (blob) => {
          sendSchema();
          bookmarks[name] = blob;
          return writer.write(stateMessage({ ...bookmarks }));
        },
        status: (status) => {
          // RUNNING comes before a stream's first record, however records are written (as bytes too).
          if (status === 'RUNNING') sendSchema();
          logLine(status === 'INCOMPLETE' ? 'WARNING' : 'INFO', `Stream ${name}: ${status}`);
          return undefined;
        },
        failed: (error) => {
          // One line per failure: a survey that fails fails every stream it feeds, with the same error.
          if (!reported.has(error)) logLine('ERROR', error.message);
          reported.add(error);
          return undefined;
        },
      };
    },
  };
  const source = connect(config, (m) => logLine('WARNING', m), signal);
  try {
    const surveyIds = await surveyIdsToRead(source, config.survey_ids);
    for (const [name, state] of states) bookmarks[name] = toStateBlob(state, surveyIds);
    // Without a catalog, a target still needs every column declared in SCHEMA: learn them as discover does.
    for (const plan of plans) {
      if (plan.definition.declaresColumns && plan.declared === undefined)
        plan.declared = new Set(await discoverColumns(source, surveyIds, { skipFailures: true, mode }));
    }
    const result = await readStreams(source, planFor(config, surveyIds, plans), sink, signal);
    if (result.failures.length === 0) return 0;
    const failed = failedSurveys(result);
    if (failed.length) {
      logLine(
        'ERROR',
        `Surveys ${failed.join(', ')} failed (${failed.length} of ${surveyIds.length}); their bookmarks did not move. The other surveys were synced.`,
      );
    }
    for (const f of result.failures) if (f.stream !== undefined) logLine('ERROR', `The ${f.stream} stream failed: ${f.error.message}`);
    return 1;
  } finally {
    await source.close();
  }
}
