/**
 * Password mode's source of survey responses: export → download to a spool file → verify the whole
 * file (ZIP structure, CRC, size, or a plain CSV's proven end) → parse. Rows are given out only after
 * verification, so no record ever comes from bytes that were not checked; a broken or damaged download
 * is retried from a fresh export before anything is emitted.
 *
 * The check inflates the CSV once and writes it next to the download (export-file.ts: csvPath), which
 * is then deleted; the pass offers that file to block readers (SurveyPass.csvFile) and streams it for
 * `rows`.
 *
 * Cost (measured in the bench): the first record waits for the whole download and its check; the spool
 * takes the CSV's size on disk (in the system temp folder) for the time of one survey's pass, plus the
 * compressed size while it is checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { BrokenExportError, CancelledError, CsvSyntaxError, DataError } from '../../core/errors.js';
import type { SurveyPass, SurveySource } from '../source.js';
import type { ExportClient } from './client.js';
import { csvRows } from './csv-rows.js';
import { csvHead, verifyExport, type ExportLimits } from './export-file.js';

export interface ExportSourceOptions {
  maxAttempts: number;
  limits: ExportLimits;
  maxRecordBytes: number;
  log: (message: string) => void;
  signal?: AbortSignal | undefined;
}

/** The export part of password mode's SurveySource (connect.ts adds the survey list). */
export class ExportSource implements Omit<SurveySource, 'listSurveys'> {
  private readonly dir: string;

  constructor(
    private readonly client: ExportClient,
    private readonly options: ExportSourceOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'source-hotjar-'));
  }

  async verify(surveyIds: readonly string[]): Promise<void> {
    for (const id of surveyIds) await this.client.downloadUrl(id);
  }

  async columns(surveyId: string): Promise<string[]> {
    const label = `survey ${surveyId}`;
    const url = await this.client.downloadUrl(surveyId);
    return this.client.download(url, surveyId, async (res) => {
      const parser = parse({ bom: true, to: 1, max_record_size: this.options.maxRecordBytes });
      const records: string[][] = [];
      parser.on('data', (row: string[]) => records.push(row));
      const failed = new Promise<never>((_, reject) => parser.once('error', reject));
      failed.catch(() => undefined);
      for await (const chunk of csvHead(res.body as AsyncIterable<Uint8Array>, label)) {
        parser.write(chunk);
        await Promise.race([new Promise<void>((resolve) => setImmediate(resolve)), failed]);
        if (records.length) break;
      }
      if (!records.length) {
        parser.end();
        await Promise.race([new Promise<void>((resolve) => parser.once('end', resolve)), failed]).catch((err: unknown) => {
          throw dataError(err, label);
        });
      }
      const header = records[0];
      if (!header) throw new DataError(`The export of ${label} is empty: it has no header row.`);
      return header;
    });
  }

  async open(surveyId: string): Promise<SurveyPass> {
    const label = `survey ${surveyId}`;
    const path = join(this.dir, `survey-${surveyId}.export`);
    const csvPath = join(this.dir, `survey-${surveyId}.csv`);
    const { maxAttempts, limits, maxRecordBytes, log, signal } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const url = await this.client.downloadUrl(surveyId);
        const spooled = await this.client.spool(url, surveyId, path);
        const verified = await verifyExport(spooled, label, limits, { csvPath });
        if (verified.csv && verified.csv.path !== path) rmSync(path, { force: true }); // the CSV was written out while it was checked
        // Opened only if iterated: a block reader never starts the row worker.
        const rows = csvRows(
          { [Symbol.asyncIterator]: () => (verified.open() as AsyncIterable<Buffer>)[Symbol.asyncIterator]() },
          maxRecordBytes,
        );
        const layout = verified.csv?.layout;
        return {
          rows: withDataErrors(rows, label),
          bytes: verified.csvBytes,
          csvFile: verified.csv && layout ? { path: verified.csv.path, layout, maxRecordBytes } : undefined,
          close: async () => {
            await rows.return(undefined);
            rmSync(path, { force: true });
            rmSync(csvPath, { force: true });
          },
        };
      } catch (err) {
        rmSync(path, { force: true });
        rmSync(csvPath, { force: true });
        if (signal?.aborted) throw new CancelledError(signal.reason as NodeJS.Signals);
        if (!(err instanceof BrokenExportError) || attempt >= maxAttempts) throw err;
        log(
          `Survey ${surveyId}: ${err.message} Retrying from a fresh export (attempt ${attempt + 1} of ${maxAttempts}); nothing was emitted from the broken one.`,
        );
      }
    }
  }

  close(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    return Promise.resolve();
  }
}

/** csv-parse errors name the line; make them say which survey and what it means. */
async function* withDataErrors(rows: AsyncGenerator<string[][]>, label: string): AsyncGenerator<string[][]> {
  try {
    yield* rows;
  } catch (err) {
    throw dataError(err, label);
  }
}

function dataError(err: unknown, label: string): unknown {
  if (
    err instanceof CsvSyntaxError ||
    (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('CSV_'))
  ) {
    const lines = err instanceof CsvSyntaxError ? err.lines : (err as { lines?: number }).lines;
    const code = err instanceof CsvSyntaxError ? err.code : String((err as { code: unknown }).code);
    const at = `line ${String(lines ?? '?')}`;
    const text =
      code === 'CSV_MAX_RECORD_SIZE'
        ? `The export of ${label} has a response larger than max_field_bytes at ${at}; raise max_field_bytes in the config if the survey really holds such answers.`
        : `The export of ${label} is not valid CSV at ${at}: ${err.message}.`;
    return new DataError(text, { cause: err });
  }
  return err;
}
