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
import { AuthError, CancelledError, toConnectorError, type ConnectorError } from '../core/errors.js';
import type { RecordFraming } from '../core/framing.js';
import type { SurveySource } from '../hotjar/source.js';
import { BlockPool } from './block-pool.js';
import { advance, positionOf, toStateBlob, withPosition, type StreamState } from './state.js';
import type { StreamDefinition, StreamName } from './stream.js';
import { SurveyReader, type StreamTarget, type SurveyOutcome } from './survey-reader.js';

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
export type LogLevel = 'ERROR' | 'WARN' | 'INFO';

/** What an adapter gives the driver for one stream. */
export interface StreamSink {
  record(data: string): Promise<void> | undefined;
  state(blob: Record<string, unknown>, recordCount: number): Promise<void> | undefined;
  status(status: StreamStatus): Promise<void> | undefined;
  failed(error: ConnectorError): Promise<void> | undefined;
  /** How the adapter frames this stream's record data into a line, when it takes records as bytes (ReadSink.recordBytes). */
  readonly framing?: RecordFraming | undefined;
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

export interface ReadResult {
  failures: { surveyId: string; error: ConnectorError }[];
  records: number;
  states: Map<StreamName, StreamState>;
}

export interface ReadOptions {
  /** The block workers to use (tests point them at the built worker); by default the driver starts its own. */
  pool?: BlockPool | undefined;
}

export async function readStreams(source: SurveySource, plan: ReadPlan, sink: ReadSink, signal?: AbortSignal, options: ReadOptions = {}): Promise<ReadResult> {
  const streams = plan.streams.map((p) => ({ plan: p, sink: sink.stream(p.definition.name), state: p.state, running: false }));
  const failures: ReadResult['failures'] = [];
  let records = 0;
  const running = async (s: (typeof streams)[number]): Promise<void> => {
    if (s.running) return;
    s.running = true;
    await s.sink.status('RUNNING');
  };
  // The block path, when the adapter takes records as bytes (workers start on the first block).
  const write = sink.recordBytes?.bind(sink);
  const blocks = write !== undefined && streams.every((s) => s.sink.framing !== undefined);
  const pool = blocks ? (options.pool ?? new BlockPool()) : undefined;
  if (pool && plan.maxRecordBytes !== undefined) pool.prestart(plan.maxRecordBytes);
  // A refused login or a stop ends the run: the other surveys' passes end at their next batch or block.
  let fatal: ConnectorError | undefined;
  const halt = new AbortController();
  const stop = signal ? AbortSignal.any([signal, halt.signal]) : halt.signal;

  const readSurvey = async (surveyId: string): Promise<void> => {
    const targets: StreamTarget[] = streams.map((s) => ({
      definition: s.plan.definition,
      position: s.plan.incremental ? positionOf(s.state, surveyId) : {},
      emit: (data) => s.sink.record(data),
      onFirstRecord: () => running(s),
      declared: s.plan.declared,
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
          s.state = withPosition(s.state, surveyId, advance(positionOf(s.state, surveyId), { maxNumber: outcome.maxNumber, newestEmitted: stats.newestEmitted }));
        }
        waits.push(running(s));
        waits.push(s.sink.state(toStateBlob(s.state, plan.surveyIds), stats.emitted));
      }
      if (failed) {
        failures.push({ surveyId, error: failed });
      } else {
        const emitted = outcome.streams.map((o, i) => `${o.emitted} ${streams[i]?.plan.definition.name ?? ''}`).join(', ');
        sink.log('INFO', `Survey ${surveyId}: ${outcome.rows} responses read, ${emitted} records emitted${outcome.stoppedEarly ? ' (stopped early: the rest is older than the saved position)' : ''}.`);
      }
      return Promise.all(waits);
    };
    const reader = new SurveyReader(source, targets, {
      siteId: plan.siteId,
      surveyId,
      startDate: plan.startDate,
      log: (level, message) => sink.log(level, message),
      blocks: pool && write ? { pool, write } : undefined,
      signal: stop,
      ended: (outcome) => void end(outcome, undefined),
    });
    sink.log('INFO', `Reading survey ${surveyId} of site ${plan.siteId} for ${streams.map((s) => s.plan.definition.name).join(' and ')}.`);
    try {
      await reader.read();
    } catch (err) {
      const error = toConnectorError(err);
      if (fatal) return; // another survey ended the run: nothing more is said
      if (error instanceof CancelledError || error instanceof AuthError || signal?.aborted) {
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

  for (const s of streams) await s.sink.status('STARTED');
  try {
    let next = 0;
    const lanes = Math.max(1, Math.min(plan.maxConcurrentSurveys ?? 1, plan.surveyIds.length));
    const lane = async (): Promise<void> => {
      while (!fatal && next < plan.surveyIds.length) await readSurvey(plan.surveyIds[next++]!);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    if (pool && pool !== options.pool) await pool.close();
  }
  if (fatal) {
    for (const s of streams) await s.sink.status('INCOMPLETE');
    throw fatal;
  }
  for (const s of streams) await s.sink.status(failures.length ? 'INCOMPLETE' : 'COMPLETE');
  return { failures, records, states: new Map(streams.map((s) => [s.plan.definition.name, s.state])) };
}
