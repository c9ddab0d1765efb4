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
 *
 * Surveys side by side (`maxConcurrentSurveys`, default 1 here; the adapters pass the config's): up to
 * that many surveys are exported, downloaded, checked and read at once, so their records interleave.
 * Each survey's STATE is written the moment its pass ends, right after its last record. This is safe
 * because positions are per survey: a STATE carries the finished survey's new position and, for every
 * other survey, the position it had before this run or after its own pass ended — never a position a
 * survey still being read has not reached. A destination that commits on any STATE therefore never
 * skips a record of an unfinished survey, and a sync that stops part way repeats only the surveys that
 * had not ended.
 */
import type { Config } from '../core/config.js';
import { AuthError, CancelledError, LoginUnavailableError, toConnectorError, type ConnectorError } from '../core/errors.js';
import type { RecordFraming } from '../core/framing.js';
import type { SurveySource } from '../hotjar/source.js';
import { BlockPool } from './block-pool.js';
import { advance, positionOf, toStateBlob, withPosition, type StreamState } from './state.js';
import type { ResponseStreamDefinition, StreamDefinition, StreamName, SurveysStreamDefinition } from './stream.js';
import { SurveyReader, type StreamTarget, type SurveyOutcome } from './survey-reader.js';

/** At most one progress LOG line this often on long reads. */
const PROGRESS_LOG_MS = 30_000;

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
export type LogLevel = 'ERROR' | 'WARN' | 'INFO';

/** What an adapter gives the driver for one stream. */
export interface StreamSink {
  record(data: string): Promise<void> | undefined;
  state(blob: Record<string, unknown>, recordCount: number): Promise<void> | undefined;
  status(status: StreamStatus): Promise<void> | undefined;
  failed(error: ConnectorError): Promise<void> | undefined;
  /** A guess at how many records the stream will emit in this run (refined as it goes). */
  estimate?(records: number): Promise<void> | undefined;
  /** How the adapter frames this stream's record data into a line, when it takes records as bytes (ReadSink.recordBytes). */
  readonly framing?: RecordFraming | undefined;
  /**
   * Record keys of a survey that the plan's `declared` lacks, before that survey's first record: an
   * adapter whose protocol can change a stream's schema mid-stream (Singer: a new SCHEMA message)
   * declares them, so that destinations keep them.
   */
  announce?(keys: readonly string[]): Promise<void> | undefined;
}

export interface ReadSink {
  stream(name: StreamName): StreamSink;
  log(level: LogLevel, message: string): void;
  /**
   * Whole RECORD lines, framed with the streams' `framing` and encoded as UTF-8, in order (the block
   * path, survey-reader.ts). An adapter that offers it, with a framing for every stream, gets the
   * records of verified local files this way; the others get `record` calls. `written` must be called
   * once the bytes are no longer needed (their buffer is reused).
   */
  recordBytes?(bytes: Uint8Array, written: () => void): Promise<void> | undefined;
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
  /** Surveys read at the same time (at least 1; default 1). */
  maxConcurrentSurveys?: number | undefined;
  /** The largest CSV record the source lets through (max_field_bytes): block workers start with room for it. */
  maxRecordBytes?: number | undefined;
}

/** The read plan both adapters make from a validated config, the surveys to read and their streams. */
export function planFor(config: Config, surveyIds: readonly string[], streams: readonly StreamPlan[]): ReadPlan {
  return {
    siteId: config.site_id,
    surveyIds,
    startDate: config.start_date,
    streams,
    maxConcurrentSurveys: config.max_concurrent_surveys,
    maxRecordBytes: config.max_field_bytes,
  };
}

/** The surveys that failed as a whole (not one stream's own path), for the adapters' closing line. */
export function failedSurveys(result: ReadResult): string[] {
  return result.failures.filter((f) => f.stream === undefined).map((f) => f.surveyId);
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
  /**
   * Records of this stream handed to the writer since its last STATE, whichever survey they came from
   * (surveys side by side interleave): the STATE's recordCount, as the protocol defines it.
   */
  sinceState: number;
}

export interface ReadOptions {
  /** The block workers to use (tests point them at the built worker); by default the driver starts its own. */
  pool?: BlockPool | undefined;
  /** At most one progress LOG this often (default 30 s; tests make it shorter). */
  progressLogMs?: number | undefined;
}

export async function readStreams(
  source: SurveySource,
  plan: ReadPlan,
  sink: ReadSink,
  signal?: AbortSignal,
  options: ReadOptions = {},
): Promise<ReadResult> {
  const all = plan.streams.map((p) => ({
    plan: p,
    sink: sink.stream(p.definition.name),
    state: p.state,
    running: false,
    failed: false,
    sinceState: 0,
  }));
  const streams = all.filter((s): s is Running<ResponseStreamDefinition> => s.plan.definition.kind === 'responses');
  const listed = all.filter((s): s is Running<SurveysStreamDefinition> => s.plan.definition.kind === 'surveys');
  const failures: ReadResult['failures'] = [];
  let records = 0;
  const running = async (s: (typeof all)[number]): Promise<void> => {
    if (s.running) return;
    s.running = true;
    await s.sink.status('RUNNING');
  };
  // The block path, when the adapter takes records as bytes (workers start on the first block).
  const write = sink.recordBytes?.bind(sink);
  const blocks = write !== undefined && streams.length > 0 && streams.every((s) => s.sink.framing !== undefined);
  const pool = blocks ? (options.pool ?? new BlockPool()) : undefined;
  if (pool && plan.maxRecordBytes !== undefined) pool.prestart(plan.maxRecordBytes);
  // A refused login or a stop ends the run: the other surveys' passes end at their next batch or block.
  let fatal: ConnectorError | undefined;
  const halt = new AbortController();
  const stop = signal ? AbortSignal.any([signal, halt.signal]) : halt.signal;

  // Progress: each survey's estimated (then, once read, actual) responses; ESTIMATE per stream from their
  // sum and the records per response seen so far; a LOG with rows and rate at most every 30 s.
  const expected = new Map<string, number>();
  const readers = new Map<string, SurveyReader>();
  const startedAt = Date.now();
  let lastProgressLog = startedAt;
  const progress = (): Promise<unknown> => {
    let total = 0;
    for (const n of expected.values()) total += n;
    let rows = 0;
    const emitted = streams.map(() => 0);
    for (const r of readers.values()) {
      rows += r.outcome.rows;
      r.outcome.streams.forEach((o, i) => (emitted[i] = (emitted[i] ?? 0) + o.emitted));
    }
    const now = Date.now();
    if (now - lastProgressLog >= (options.progressLogMs ?? PROGRESS_LOG_MS)) {
      lastProgressLog = now;
      const rate = Math.round((rows * 1000) / Math.max(1, now - startedAt));
      sink.log('INFO', `Progress: ${rows} responses read so far (about ${total} in the exports being read), ${rate} responses/s.`);
    }
    return Promise.all(
      streams
        .map((s, i) => s.sink.estimate?.(Math.round(total * (rows > 0 ? (emitted[i] ?? 0) / rows : 1))))
        .filter((w) => w !== undefined),
    );
  };

  const readSurvey = async (surveyId: string): Promise<void> => {
    const targets: StreamTarget[] = streams.map((s) => ({
      definition: s.plan.definition,
      position: s.plan.incremental ? positionOf(s.state, surveyId) : {},
      emit: (data) => {
        s.sinceState++;
        return s.sink.record(data);
      },
      counted: (n) => {
        s.sinceState += n;
      },
      onFirstRecord: () => running(s),
      declared: s.plan.declared,
      announce: s.sink.announce?.bind(s.sink),
      framing: s.sink.framing,
    }));
    let ended = false;
    // Written the moment the pass ends, before its files are cleaned up: right after the last record.
    const end = (outcome: SurveyOutcome, failed: ConnectorError | undefined): Promise<unknown> => {
      ended = true;
      if (fatal) return Promise.resolve(); // the run is ending: nothing more is said
      const waits: (Promise<void> | undefined)[] = [];
      for (const [i, s] of streams.entries()) {
        const stats = outcome.streams[i] ?? { emitted: 0, newestEmitted: undefined };
        records += stats.emitted;
        if (failed) {
          waits.push(s.sink.failed(failed));
        } else {
          s.state = withPosition(
            s.state,
            surveyId,
            advance(positionOf(s.state, surveyId), {
              maxNumber: outcome.maxNumber,
              newestEmitted: stats.newestEmitted,
              newest: outcome.newest,
            }),
          );
        }
        waits.push(running(s));
        const count = s.sinceState;
        s.sinceState = 0;
        waits.push(s.sink.state(toStateBlob(s.state, plan.surveyIds), count));
      }
      if (failed) {
        failures.push({ surveyId, error: failed });
      } else {
        const emitted = outcome.streams.map((o, i) => `${o.emitted} ${streams[i]?.plan.definition.name ?? ''}`).join(', ');
        sink.log(
          'INFO',
          `Survey ${surveyId}: ${outcome.rows} responses read, ${emitted} records emitted${outcome.stoppedEarly ? ' (stopped early: the rest is older than the saved position)' : ''}.`,
        );
      }
      return Promise.all(waits.filter((w): w is Promise<void> => w !== undefined));
    };
    const reader = new SurveyReader(source, targets, {
      siteId: plan.siteId,
      surveyId,
      startDate: plan.startDate,
      log: (level, message) => sink.log(level, message),
      blocks: pool && write ? { pool, write } : undefined,
      signal: stop,
      ended: (outcome) => {
        expected.set(surveyId, outcome.rows);
        void end(outcome, undefined);
        void progress();
      },
      estimated: (rows) => {
        expected.set(surveyId, rows);
        void progress();
      },
    });
    readers.set(surveyId, reader);
    sink.log('INFO', `Reading survey ${surveyId} of site ${plan.siteId} for ${streams.map((s) => s.plan.definition.name).join(' and ')}.`);
    try {
      await reader.read();
    } catch (err) {
      const error = toConnectorError(err);
      if (fatal) return; // another survey ended the run: nothing more is said
      if (error instanceof CancelledError || error instanceof AuthError || error instanceof LoginUnavailableError || signal?.aborted) {
        fatal = signal?.aborted ? new CancelledError(signal.reason as NodeJS.Signals) : error;
        halt.abort(error);
        return;
      }
      if (ended) {
        // The pass ended and its STATE was written; only releasing its files failed.
        sink.log('WARN', `Survey ${surveyId}: its temporary files could not be released (${error.message}).`);
        return;
      }
      await end(reader.outcome, error);
      return;
    }
    if (signal?.aborted && !fatal) {
      fatal = new CancelledError(signal.reason as NodeJS.Signals);
      halt.abort(fatal);
    }
  };

  for (const s of all) await s.sink.status('STARTED');
  let thrown: Error | undefined;
  try {
    for (const s of listed) records += await readSurveyList(source, plan, s, running, sink, failures);
    if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
    // A plan with only the surveys stream needs no pass. (A plan with no stream at all keeps its old,
    // harmless behaviour of opening every survey; the adapters never hand the driver such a plan.)
    const surveyIds = streams.length || !listed.length ? plan.surveyIds : [];
    let next = 0;
    const lanes = Math.max(1, Math.min(plan.maxConcurrentSurveys ?? 1, surveyIds.length));
    const lane = async (): Promise<void> => {
      while (!fatal && next < surveyIds.length) await readSurvey(surveyIds[next++]!);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  } catch (err) {
    thrown = err instanceof Error ? err : toConnectorError(err);
    fatal ??= toConnectorError(err);
    halt.abort(fatal);
  } finally {
    if (pool && pool !== options.pool) await pool.close();
  }
  if (fatal) {
    for (const s of all) await s.sink.status('INCOMPLETE');
    throw thrown ?? fatal;
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
    if (error instanceof CancelledError || error instanceof AuthError || error instanceof LoginUnavailableError) throw error;
    s.failed = true;
    failures.push({ surveyId: '', error, stream: s.plan.definition.name });
    await s.sink.failed(error);
    await running(s);
  }
  await s.sink.state({}, emitted);
  return emitted;
}
