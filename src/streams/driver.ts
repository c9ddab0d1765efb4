/**
 * Reading the survey_responses stream: for each configured survey, export → download → unzip → CSV
 * rows → records, filtered on the cursor, then one STATE once the survey's whole export was read.
 *
 * Guarantees:
 * - A survey's cursor advances only after its whole export was read and emitted (rows arrive newest
 *   first, so an earlier advance could skip rows after a crash); cursors never move backwards.
 * - Incremental reads are inclusive (`Date Submitted` >= cursor): responses in the cursor's second are
 *   emitted again rather than risk losing one; the primary key (Number, survey_id) lets destinations dedupe.
 * - A download that breaks part way is retried from a fresh export, skipping rows this run already
 *   processed (by Number), so every response is emitted exactly once per run.
 * - A survey that fails is reported and does not stop the others; its cursor stays where it was.
 * - Early stop: rows come newest first (sorted by Number, descending). Once a row is older than the
 *   cursor by more than EARLY_STOP_WINDOW_SECONDS and Numbers have only gone down so far, the rest of
 *   the export is older still and the download is abandoned. If Numbers are ever out of order, the whole
 *   export is read.
 */
import { AuthError, BrokenExportError, CancelledError, ConnectorError, DamagedExportError, DataError, toConnectorError } from '../errors.js';
import { CsvSyntaxError, csvRows } from './csv-rows.js';
import type { LogLevel, StreamStatus } from '../protocol/messages.js';
import { cursorMinusSeconds } from './cursor.js';
import { RecordEncoder } from './records.js';
import { advance, startingCursor, type Cursors } from './state.js';
import { SeenNumbers } from './seen-numbers.js';

export const EARLY_STOP_WINDOW_SECONDS = 24 * 3600;

/** What the stream needs from Hotjar (the HotjarClient, or anything shaped like it). */
export interface SurveySource {
  login(): Promise<void>;
  exportDownloadUrl(surveyId: string): Promise<string>;
  downloadCsv(url: string, surveyId: string, signal?: AbortSignal): AsyncIterable<Buffer>;
}

/** Where the stream's output goes: the Airbyte writer or the Singer writer. */
export interface Sink {
  /** One record; `data` is the record's data object as JSON text. */
  record(data: string): Promise<void> | undefined;
  state(cursors: Cursors, recordCount: number): Promise<void> | undefined;
  log(level: LogLevel, message: string): void;
  status(status: StreamStatus): Promise<void> | undefined;
  surveyFailed(surveyId: string, error: ConnectorError): Promise<void> | undefined;
}

export interface ReadOptions {
  siteId: string;
  surveyIds: readonly string[];
  incremental: boolean;
  startDate?: string;
  cursors: Cursors;
  maxAttempts: number;
  signal?: AbortSignal;
}

export interface ReadResult {
  cursors: Cursors;
  failures: { surveyId: string; error: ConnectorError }[];
  records: number;
}

export async function readSurveyResponses(source: SurveySource, options: ReadOptions, sink: Sink): Promise<ReadResult> {
  let cursors = options.cursors;
  const failures: ReadResult['failures'] = [];
  let total = 0;
  let running = false;
  const setRunning = async (): Promise<void> => {
    if (running) return;
    running = true;
    await sink.status('RUNNING');
  };
  await sink.status('STARTED');
  try {
    // Log in once up front: a refused login fails the whole stream, not each survey in turn.
    await source.login();
    for (const surveyId of options.surveyIds) {
      const start = options.incremental
        ? startingCursor(cursors, surveyId, options.startDate)
        : options.startDate;
      sink.log('INFO', `Reading survey ${surveyId} of site ${options.siteId}${start ? ` from ${start} (inclusive)` : ' (all responses)'}.`);
      // Shared with readSurvey so that a failure part way still reports what was emitted.
      const result: SurveyResult = { emitted: 0, read: 0, newest: undefined, stoppedEarly: false };
      try {
        await readSurvey(source, options, surveyId, start, result, sink, setRunning);
        cursors = advance(cursors, surveyId, result.newest);
        sink.log('INFO', `Survey ${surveyId}: ${result.emitted} records emitted from ${result.read} rows read${result.stoppedEarly ? ' (stopped early: the rest is older than the cursor)' : ''}.`);
      } catch (err) {
        const error = toConnectorError(err);
        // A refused login or a stop (signal) ends the whole stream; anything else is this survey's alone.
        if (error instanceof CancelledError || error instanceof AuthError) throw error;
        failures.push({ surveyId, error });
        await sink.surveyFailed(surveyId, error);
      }
      total += result.emitted;
      await setRunning();
      await sink.state(cursors, result.emitted);
    }
  } catch (err) {
    await sink.status('INCOMPLETE');
    throw err;
  }
  await sink.status(failures.length ? 'INCOMPLETE' : 'COMPLETE');
  return { cursors, failures, records: total };
}

interface SurveyResult {
  emitted: number;
  read: number;
  newest: string | undefined;
  stoppedEarly: boolean;
}

async function readSurvey(
  source: SurveySource,
  options: ReadOptions,
  surveyId: string,
  start: string | undefined,
  result: SurveyResult,
  sink: Sink,
  onFirst: () => Promise<void>,
): Promise<void> {
  const seen = new SeenNumbers();
  for (let attempt = 1; ; attempt++) {
    try {
      const url = await source.exportDownloadUrl(surveyId);
      await streamExport(source, options, surveyId, url, start, seen, result, sink, onFirst);
      return;
    } catch (err) {
      if (options.signal?.aborted) throw new CancelledError(options.signal.reason as NodeJS.Signals);
      // Only a broken download is worth a fresh export; request-level retries already happened below.
      if (!(err instanceof BrokenExportError) || attempt >= options.maxAttempts) throw err;
      if (err instanceof DamagedExportError) {
        // Rows taken from a damaged file may be wrong: emit them all again from the fresh export (the
        // primary key dedupes), and let only the fresh export's dates move the cursor.
        seen.clear();
        result.newest = undefined;
      }
      const skipped = err instanceof DamagedExportError ? 'all responses are emitted again' : `the ${result.emitted} responses already emitted are skipped`;
      sink.log('WARN', `Survey ${surveyId}: ${(err as Error).message} Retrying from a fresh export (attempt ${attempt + 1} of ${options.maxAttempts}); ${skipped}.`);
    }
  }
}

async function streamExport(
  source: SurveySource,
  options: ReadOptions,
  surveyId: string,
  url: string,
  start: string | undefined,
  seen: SeenNumbers,
  result: SurveyResult,
  sink: Sink,
  onFirst: () => Promise<void>,
): Promise<void> {
  const label = `survey ${surveyId}`;
  const stopBelow = start !== undefined ? cursorMinusSeconds(start, EARLY_STOP_WINDOW_SECONDS) : undefined;
  const encoder = new RecordEncoder(options.siteId, surveyId, label);
  let previousNumber = Number.POSITIVE_INFINITY;
  let ordered = true;
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;

  const rows = csvRows(source.downloadCsv(url, surveyId, signal));
  let badRow: DataError | undefined;
  let rowsThisAttempt = 0;
  try {
    // Iterated by hand (not for-await) so that leaving early aborts the download before the row
    // source is closed: closing first would wait for the network's next chunk.
    for (let next = await rows.next(); !next.done; next = await rows.next()) {
      if (badRow) continue;
      for (const row of next.value) {
        if (!encoder.hasHeader) {
          encoder.header(row);
          continue;
        }
        try {
          encoder.inspect(row);
        } catch (err) {
          if (!(err instanceof DataError)) throw err;
          // A bad value can be garbage from a damaged archive: read on (emitting nothing more) so the
          // archive's checks run; if they fail, that error (a fresh export) wins over this one.
          badRow = err;
          break;
        }
        const { number, date } = encoder;
        if (number >= previousNumber) ordered = false;
        previousNumber = number;
        rowsThisAttempt++;
        result.read++;
        if (seen.has(number)) continue; // emitted (or filtered) by an earlier attempt of this run
        seen.add(number);
        if (start !== undefined && date < start) {
          // Newest first: once rows are well below the cursor, the rest of the export is older still.
          // Only after Numbers were seen going down: one row proves no order.
          if (ordered && rowsThisAttempt >= 2 && stopBelow !== undefined && date < stopBelow) {
            result.stoppedEarly = true;
            return;
          }
          continue;
        }
        if (result.emitted === 0) await onFirst();
        const wait = sink.record(encoder.encode(row));
        result.emitted++;
        if (result.newest === undefined || date > result.newest) result.newest = date;
        if (wait) await wait;
      }
    }
    if (badRow) throw badRow;
  } catch (err) {
    throw csvError(err, label);
  } finally {
    abort.abort();
    await rows.return(undefined);
  }
}

/** csv-parse errors name the line; make them say which survey and what it means. */
function csvError(err: unknown, label: string): unknown {
  if (err instanceof CsvSyntaxError) {
    return new DataError(`The export of ${label} is not valid CSV at line ${String(err.lines)}: ${err.message}.`, { cause: err });
  }
  return err;
}
