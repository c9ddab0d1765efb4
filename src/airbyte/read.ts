/** read: the selected streams' records, state and statuses, as Airbyte messages, from the one driver. */
import { loadConfig } from '../core/config.js';
import { readJsonFile } from '../core/json.js';
import { connect } from '../hotjar/connect.js';
import { STATE_STREAM_NAMES, STREAM_NAMES, streamByName, surveyIdsToRead } from '../streams/catalog.js';
import { failedSurveys, planFor, readStreams, type ReadSink, type StreamPlan } from '../streams/driver.js';
import { EMPTY_STATE } from '../streams/state.js';
import { supportsIncremental } from '../streams/stream.js';
import { parseConfiguredCatalog } from './catalog.js';
import type { AirbyteContext } from './context.js';
import {
  errorTrace,
  estimateTrace,
  logMessage,
  rateLimited,
  recordEncoder,
  recordFraming,
  stateMessage,
  streamStatus,
} from './messages.js';
import { parseStateFile } from '../streams/state-file.js';

export interface ReadArgs {
  config: string;
  catalog: string;
  state?: string | undefined;
}

export async function read({ writer, signal }: AirbyteContext, args: ReadArgs): Promise<number> {
  const config = loadConfig(args.config, (m) => void writer.write(logMessage('WARN', m)));
  const configured = parseConfiguredCatalog(readJsonFile(args.catalog, 'catalog'), STREAM_NAMES, args.catalog);
  const rawState = args.state === undefined ? undefined : readJsonFile(args.state, 'state', { allowEmpty: true });
  const states = parseStateFile(rawState, STATE_STREAM_NAMES);
  const mode = config.credentials.auth_type;
  const plans: StreamPlan[] = [];
  for (const c of configured) {
    const definition = streamByName(c.name, mode);
    if (!definition) continue;
    const incremental = c.incremental && supportsIncremental(definition);
    if (c.incremental && !incremental)
      void writer.write(
        logMessage('WARN', `The catalog asks for incremental sync of ${c.name}, which supports full refresh only: it is read in full.`),
      );
    plans.push({
      definition,
      incremental,
      state: states.get(c.name) ?? EMPTY_STATE,
      declared: definition.declaresColumns ? c.declared : undefined,
    });
  }
  if (plans.length === 0) {
    await writer.write(logMessage('WARN', `The catalog selects no stream of this source (${STREAM_NAMES.join(', ')}); nothing to read.`));
    return 0;
  }
  // What the run is doing, for the heartbeat: the last INFO line the driver logged.
  let activity = 'starting';
  const sink: ReadSink = {
    log: (level, message) => {
      if (level === 'INFO') activity = message;
      void writer.write(logMessage(level, message));
    },
    recordBytes: (bytes, written) => writer.writeBytes(bytes, written),
    stream: (name) => {
      const line = recordEncoder(name);
      return {
        framing: recordFraming(name),
        record: (data) => writer.writeLine(line(data)),
        state: (blob, count) => writer.write(stateMessage(name, blob, count)),
        status: (status) => writer.write(streamStatus(name, status)),
        failed: (error) => writer.write(errorTrace(error, name)),
        estimate: (records) => writer.write(estimateTrace(name, records)),
      };
    },
  };
  const source = connect(config, (m) => sink.log('WARN', m), signal, {
    onRateLimited: (resumeAt) => {
      for (const p of plans) void writer.write(rateLimited(p.definition.name, resumeAt));
    },
  });
  // Heartbeat: while nothing else is said (Hotjar building a large export, a long Retry-After wait), a LOG
  // line every heartbeat_seconds, far under the platform's maxSecondsBetweenMessages (metadata.yaml).
  const heartbeatMs = config.heartbeat_seconds * 1000;
  const heartbeat = setInterval(
    () => {
      const quiet = Date.now() - writer.lastWriteAt;
      if (quiet >= heartbeatMs - 50)
        void writer.write(
          logMessage('INFO', `Still working (nothing to report for ${Math.round(quiet / 1000)} s); last step: ${activity}`),
        );
    },
    Math.max(100, heartbeatMs / 2),
  );
  heartbeat.unref();
  try {
    const surveyIds = await surveyIdsToRead(source, config.survey_ids);
    const result = await readStreams(source, planFor(config, surveyIds, plans), sink, signal);
    if (result.failures.length === 0) return 0;
    const failed = failedSurveys(result);
    if (failed.length) {
      sink.log(
        'ERROR',
        `${failed.length} of ${surveyIds.length} surveys failed (${failed.join(', ')}); their positions did not move. The others were read and their state saved.`,
      );
    }
    for (const f of result.failures) if (f.stream !== undefined) sink.log('ERROR', `The ${f.stream} stream failed: ${f.error.message}`);
    return 1;
  } finally {
    clearInterval(heartbeat);
    await source.close();
  }
}
