/**
 * The one read driver, for both adapters (Airbyte `read`, Singer sync): selected streams, one verified
 * pass per survey feeding all of them, stream statuses, and per-stream state, as the Airbyte CDK's
 * AbstractSource.read does for its streams.
 *
 * Guarantees:
 * - A survey's position moves only after its whole export was verified and its rows were emitted, and
 *   never backwards; each stream keeps its own positions (they may differ, e.g. for a stream added later).
 * - A survey that fails is reported (its positions stay) and does not stop the others; a refused login
 *   or a stop ends the run. STATE follows every survey, failed or not, and says how many records it carried.
 * - Statuses per stream: STARTED, RUNNING (before the first record, or once a survey is done), then
 *   COMPLETE, or INCOMPLETE when any survey failed or the run ended early.
 * - The surveys stream (full refresh, no pass) is read first, on its own path: the site's survey list,
 *   restricted to the surveys this run reads, one record each, then one STATE ({}) with the count. A list
 *   that cannot be read fails that stream only (reported; the other streams are still read).
 */
import { AuthError, CancelledError, toConnectorError, type ConnectorError } from '../core/errors.js';
import type { SurveySource } from '../hotjar/source.js';
import { advance, positionOf, toStateBlob, withPosition, type StreamState } from './state.js';
import type { ResponseStreamDefinition, StreamDefinition, StreamName, SurveysStreamDefinition } from './stream.js';
import { SurveyReader, type StreamTarget } from './survey-reader.js';

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
export type LogLevel = 'ERROR' | 'WARN' | 'INFO';

/** What an adapter gives the driver for one stream. */
export interface StreamSink {
  record(data: string): Promise<void> | undefined;
  state(blob: Record<string, unknown>, recordCount: number): Promise<void> | undefined;
  status(status: StreamStatus): Promise<void> | undefined;
  failed(error: ConnectorError): Promise<void> | undefined;
}

export interface ReadSink {
  stream(name: StreamName): StreamSink;
  log(level: LogLevel, message: string): void;
}

export interface StreamPlan {
  definition: StreamDefinition;
  incremental: boolean;
  state: StreamState;
  declared?: ReadonlySet<string> | undefined;
}

export interface ReadPlan {
  siteId: string;
  surveyIds: readonly string[];
  startDate?: string | undefined;
  streams: readonly StreamPlan[];
}

export interface ReadResult {
  /** Surveys that failed; `stream` is set for a failure of one stream's own path (the surveys list). */
  failures: { surveyId: string; error: ConnectorError; stream?: StreamName }[];
  records: number;
  states: Map<StreamName, StreamState>;
}

interface Running<D extends StreamDefinition> {
  plan: StreamPlan & { definition: D };
  sink: StreamSink;
  state: StreamState;
  running: boolean;
  failed: boolean;
}

export async function readStreams(source: SurveySource, plan: ReadPlan, sink: ReadSink, signal?: AbortSignal): Promise<ReadResult> {
  const all = plan.streams.map((p) => ({ plan: p, sink: sink.stream(p.definition.name), state: p.state, running: false, failed: false }));
  const streams = all.filter((s): s is Running<ResponseStreamDefinition> => s.plan.definition.kind === 'responses');
  const listed = all.filter((s): s is Running<SurveysStreamDefinition> => s.plan.definition.kind === 'surveys');
  const failures: ReadResult['failures'] = [];
  let records = 0;
  const running = async (s: (typeof all)[number]): Promise<void> => {
    if (s.running) return;
    s.running = true;
    await s.sink.status('RUNNING');
  };
  for (const s of all) await s.sink.status('STARTED');
  try {
    for (const s of listed) records += await readSurveyList(source, plan, s, running, sink, failures);
    if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
    // A plan with only the surveys stream needs no pass. (A plan with no stream at all keeps its old,
    // harmless behaviour of opening every survey; the adapters never hand the driver such a plan.)
    for (const surveyId of streams.length || !listed.length ? plan.surveyIds : []) {
      const targets: StreamTarget[] = streams.map((s) => ({
        definition: s.plan.definition,
        position: s.plan.incremental ? positionOf(s.state, surveyId) : {},
        emit: (data) => s.sink.record(data),
        onFirstRecord: () => running(s),
        declared: s.plan.declared,
      }));
      const reader = new SurveyReader(source, targets, {
        siteId: plan.siteId,
        surveyId,
        startDate: plan.startDate,
        log: (level, message) => sink.log(level, message),
      });
      sink.log('INFO', `Reading survey ${surveyId} of site ${plan.siteId} for ${streams.map((s) => s.plan.definition.name).join(' and ')}.`);
      let failed: ConnectorError | undefined;
      try {
        await reader.read();
      } catch (err) {
        const error = toConnectorError(err);
        if (error instanceof CancelledError || error instanceof AuthError || signal?.aborted) throw error;
        failed = error;
      }
      if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
      const { outcome } = reader;
      for (const [i, s] of streams.entries()) {
        const stats = outcome.streams[i] ?? { emitted: 0, newestEmitted: undefined };
        records += stats.emitted;
        if (failed) {
          await s.sink.failed(failed);
        } else {
          s.state = withPosition(
            s.state,
            surveyId,
            advance(positionOf(s.state, surveyId), { maxNumber: outcome.maxNumber, newestEmitted: stats.newestEmitted, newest: outcome.newest }),
          );
        }
        await running(s);
        await s.sink.state(toStateBlob(s.state, plan.surveyIds), stats.emitted);
      }
      if (failed) {
        failures.push({ surveyId, error: failed });
      } else {
        const emitted = outcome.streams.map((o, i) => `${o.emitted} ${streams[i]?.plan.definition.name ?? ''}`).join(', ');
        sink.log('INFO', `Survey ${surveyId}: ${outcome.rows} responses read, ${emitted} records emitted${outcome.stoppedEarly ? ' (stopped early: the rest is older than the saved position)' : ''}.`);
      }
    }
  } catch (err) {
    for (const s of all) await s.sink.status('INCOMPLETE');
    throw err;
  }
  const surveyFailed = failures.some((f) => f.stream === undefined);
  for (const s of streams) await s.sink.status(surveyFailed ? 'INCOMPLETE' : 'COMPLETE');
  for (const s of listed) await s.sink.status(s.failed ? 'INCOMPLETE' : 'COMPLETE');
  return { failures, records, states: new Map(all.map((s) => [s.plan.definition.name, s.state])) };
}

/**
 * The surveys stream: the site's list, restricted to the surveys this run reads (in list order), one
 * record each, then STATE {} with the count. A refused log-in or a stop ends the run; any other failure
 * fails this stream only. Returns the records emitted.
 */
async function readSurveyList(
  source: SurveySource,
  plan: ReadPlan,
  s: Running<SurveysStreamDefinition>,
  running: (s: Running<SurveysStreamDefinition>) => Promise<void>,
  sink: ReadSink,
  failures: ReadResult['failures'],
): Promise<number> {
  const wanted = new Set(plan.surveyIds);
  let emitted = 0;
  try {
    const list = await source.listSurveys();
    await running(s);
    for (const survey of list) {
      if (!wanted.has(survey.id)) continue;
      emitted++;
      await s.sink.record(s.plan.definition.record(plan.siteId, survey));
    }
    sink.log('INFO', `Surveys of site ${plan.siteId}: ${emitted} record${emitted === 1 ? '' : 's'} emitted (${list.length} listed).`);
  } catch (err) {
    const error = toConnectorError(err);
    if (error instanceof CancelledError || error instanceof AuthError) throw error;
    s.failed = true;
    failures.push({ surveyId: '', error, stream: s.plan.definition.name });
    await s.sink.failed(error);
    await running(s);
  }
  await s.sink.state({}, emitted);
  return emitted;
}
