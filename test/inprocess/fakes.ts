/**
 * In-process test doubles for the read driver: a fake SurveySource serving surveys from memory (and
 * counting what the reader asked of it), and a ReadSink that records everything the driver says.
 */
import type { ConnectorError } from '../../src/core/errors.js';
import { ConfigError } from '../../src/core/errors.js';
import type { SurveyInfo, SurveyPass, SurveySource } from '../../src/hotjar/source.js';
import { FIXED_COLUMNS } from '../../src/streams/columns.js';
import type { LogLevel, ReadPlan, ReadSink, StreamPlan, StreamSink, StreamStatus } from '../../src/streams/driver.js';
import { EMPTY_STATE, type StreamState } from '../../src/streams/state.js';
import type { StreamDefinition, StreamName } from '../../src/streams/stream.js';

export interface FakeSurvey {
  /** The header row; absent = an export with no rows at all. */
  header?: string[];
  rows?: string[][];
  /** Rows per batch the pass yields (the header counts as a row of the first batch). Default 1. */
  batchSize?: number;
  /** `open` rejects with this. */
  openError?: Error;
  /** The rows iterator throws `error` once `after` data rows were handed out. */
  failAfter?: { after: number; error: Error };
  /** `open` takes this long (Hotjar building the export). */
  openDelayMs?: number;
  /** Each batch after the first takes this long to arrive. */
  batchDelayMs?: number;
}

export interface PassLog {
  /** Data rows handed out (header excluded). */
  pulled: number;
  /** Whether close() was called, and how many data rows had been handed out then. */
  closedAfter: number | undefined;
  /** Whether the rows iterator ran to its end. */
  exhausted: boolean;
}

export class FakeSource implements SurveySource {
  readonly opens = new Map<string, number>();
  readonly passes = new Map<string, PassLog[]>();
  /** Passes opened (or being opened) and not closed yet, now and at most. */
  openNow = 0;
  mostOpenAtOnce = 0;

  constructor(private readonly surveys: Record<string, FakeSurvey>) {}

  async verify(): Promise<void> {}

  async columns(surveyId: string): Promise<string[]> {
    return [...(this.survey(surveyId).header ?? [])];
  }

  opened(surveyId: string): number {
    return this.opens.get(surveyId) ?? 0;
  }

  lastPass(surveyId: string): PassLog {
    const list = this.passes.get(surveyId);
    const last = list?.[list.length - 1];
    if (!last) throw new Error(`survey ${surveyId} was never opened`);
    return last;
  }

  async open(surveyId: string): Promise<SurveyPass> {
    this.opens.set(surveyId, this.opened(surveyId) + 1);
    const survey = this.survey(surveyId);
    this.mostOpenAtOnce = Math.max(this.mostOpenAtOnce, ++this.openNow);
    if (survey.openDelayMs) await sleep(survey.openDelayMs);
    if (survey.openError) {
      this.openNow--;
      throw survey.openError;
    }
    const log: PassLog = { pulled: 0, closedAfter: undefined, exhausted: false };
    const list = this.passes.get(surveyId) ?? [];
    list.push(log);
    this.passes.set(surveyId, list);
    const all = survey.header ? [survey.header, ...(survey.rows ?? [])] : [];
    const size = survey.batchSize ?? 1;
    const failAfter = survey.failAfter;
    const delay = survey.batchDelayMs;
    let given = 0;
    async function* rows(): AsyncGenerator<string[][]> {
      let batch: string[][] = [];
      let dataInBatch = 0;
      const give = async function* (): AsyncGenerator<string[][]> {
        if (batch.length === 0) return;
        if (delay && given++ > 0) await sleep(delay);
        log.pulled += dataInBatch;
        const out = batch;
        batch = [];
        dataInBatch = 0;
        yield out;
      };
      for (const [i, r] of all.entries()) {
        if (i > 0 && failAfter && log.pulled + dataInBatch === failAfter.after) {
          yield* give();
          throw failAfter.error;
        }
        batch.push([...r]);
        if (i > 0) dataInBatch++;
        if (batch.length >= size) yield* give();
      }
      yield* give();
      log.exhausted = true;
    }
    return {
      rows: rows(),
      bytes: JSON.stringify(all).length,
      close: async () => {
        if (log.closedAfter === undefined) this.openNow--;
        log.closedAfter ??= log.pulled;
      },
    };
  }

  /** The site's survey list: by default the surveys given, in order, each named "Survey <id>"; an Error is thrown. */
  list: SurveyInfo[] | Error | undefined;
  listCalls = 0;

  async listSurveys(): Promise<SurveyInfo[]> {
    this.listCalls++;
    if (this.list instanceof Error) throw this.list;
    return this.list ?? Object.keys(this.surveys).map((id) => ({ id, fields: { id, name: `Survey ${id}` } }));
  }

  async close(): Promise<void> {}

  private survey(surveyId: string): FakeSurvey {
    const survey = this.surveys[surveyId];
    if (!survey) throw new ConfigError(`Hotjar knows no survey ${surveyId} (fake source).`);
    return survey;
  }
}

export interface StateEntry {
  blob: Record<string, unknown>;
  recordCount: number;
}

/** Records what the driver says, per stream, as parsed JSON; `events` keeps the global order. */
export class RecordingSink implements ReadSink {
  readonly records = new Map<string, Record<string, unknown>[]>();
  readonly states = new Map<string, StateEntry[]>();
  readonly statuses = new Map<string, StreamStatus[]>();
  readonly failures = new Map<string, ConnectorError[]>();
  readonly logs: { level: LogLevel; message: string }[] = [];
  readonly events: string[] = [];

  stream(name: StreamName): StreamSink {
    const push = <T>(map: Map<string, T[]>, value: T): void => {
      const list = map.get(name) ?? [];
      list.push(value);
      map.set(name, list);
    };
    return {
      record: (data) => {
        push(this.records, JSON.parse(data) as Record<string, unknown>);
        this.events.push(`${name}:RECORD`);
        return undefined;
      },
      state: (blob, recordCount) => {
        push(this.states, { blob: JSON.parse(JSON.stringify(blob)) as Record<string, unknown>, recordCount });
        this.events.push(`${name}:STATE`);
        return undefined;
      },
      status: (status) => {
        push(this.statuses, status);
        this.events.push(`${name}:${status}`);
        return undefined;
      },
      failed: (error) => {
        push(this.failures, error);
        this.events.push(`${name}:FAILED`);
        return undefined;
      },
    };
  }

  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }

  recordsOf(name: StreamName): Record<string, unknown>[] {
    return this.records.get(name) ?? [];
  }
  statesOf(name: StreamName): StateEntry[] {
    return this.states.get(name) ?? [];
  }
  statusesOf(name: StreamName): StreamStatus[] {
    return this.statuses.get(name) ?? [];
  }
  failuresOf(name: StreamName): ConnectorError[] {
    return this.failures.get(name) ?? [];
  }
  /** For each STATE of a stream, the records of that stream seen since its previous STATE (what recordCount must say). */
  recordsBetweenStates(name: StreamName): number[] {
    const out: number[] = [];
    let since = 0;
    for (const e of this.events) {
      if (e === `${name}:RECORD`) since++;
      else if (e === `${name}:STATE`) {
        out.push(since);
        since = 0;
      }
    }
    return out;
  }
  lastState(name: StreamName): StateEntry | undefined {
    const list = this.statesOf(name);
    return list[list.length - 1];
  }
  warnings(): string[] {
    return this.logs.filter((l) => l.level === 'WARN').map((l) => l.message);
  }
}

export const SITE = '100';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The fixed columns, then the given extra columns. */
export function header(...extra: string[]): string[] {
  return [...FIXED_COLUMNS, ...extra];
}

export interface RowInit {
  number: string | number;
  date: string;
  user?: string;
  country?: string;
  /** Cells after the fixed columns, in header order. */
  extra?: string[];
}

/** One export row under `header(...)`: the fixed cells filled from `init`, then `extra`. */
export function row(init: RowInit): string[] {
  const user = init.user ?? `u${String(init.number)}`;
  return [
    String(init.number),
    user,
    init.date,
    init.country ?? 'France',
    `https://example.com/p/${String(init.number)}`,
    'desktop',
    'Chrome',
    'Mac OS',
    `${user}-0000-4000-8000-000000000000`,
    ...(init.extra ?? []),
  ];
}

export interface StreamInit {
  incremental?: boolean;
  state?: StreamState;
  declared?: ReadonlySet<string>;
}

export function streamPlan(definition: StreamDefinition, init: StreamInit = {}): StreamPlan {
  return { definition, incremental: init.incremental ?? true, state: init.state ?? EMPTY_STATE, declared: init.declared };
}

export function readPlan(surveyIds: string[], streams: StreamPlan[], startDate?: string): ReadPlan {
  return { siteId: SITE, surveyIds, startDate, streams };
}

/** A `Date Submitted` cell `ms` from now (UTC, file form). */
export function fileDateFromNow(ms: number): string {
  return new Date(Date.now() + ms).toISOString().slice(0, 19).replace('T', ' ');
}
