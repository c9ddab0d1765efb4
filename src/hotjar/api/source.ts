/**
 * API-key mode's source of survey responses: Hotjar's official API behind the same port as password
 * mode's export (SurveySource). A pass streams a survey's responses page by page (100 a page, newest
 * first), each page laid out in the export's columns (rows.ts); memory holds one page at a time, so a
 * full first read of a large survey stays flat. The survey list (with questions) is fetched once per run.
 */
import { ConfigError } from '../../core/errors.js';
import { isObject } from '../../core/json.js';
import type { SurveyInfo, SurveyPass, SurveySource } from '../source.js';
import type { ApiClient } from './client.js';
import { idText, questionsOf, ResponseRows } from './rows.js';

/** A survey id safe in a URL path ([unknown] format: opaque, checked only for that). */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface ApiSourceOptions {
  siteId: string;
  log: (message: string) => void;
}

export class ApiSource implements SurveySource {
  private list: Promise<SurveyInfo[]> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly options: ApiSourceOptions,
  ) {}

  listSurveys(): Promise<SurveyInfo[]> {
    // A failed list is asked for again by the next caller (it may have been an outage).
    this.list ??= this.fetchList().catch((err: unknown) => {
      this.list = undefined;
      throw err;
    });
    return this.list;
  }

  /** The token (first call), the site (the list), each survey in it, and the plan (one response of each). */
  async verify(surveyIds: readonly string[]): Promise<void> {
    for (const id of surveyIds) {
      await this.survey(id);
      await this.client.firstResponses(id, 1);
    }
  }

  /** The columns of a survey's pass: its questions, and the user attributes of its newest 100 responses. */
  async columns(surveyId: string): Promise<string[]> {
    const rows = new ResponseRows(questionsOf((await this.survey(surveyId)).fields));
    rows.learn(await this.client.firstResponses(surveyId));
    return rows.header();
  }

  async open(surveyId: string): Promise<SurveyPass> {
    const survey = await this.survey(surveyId);
    const rows = new ResponseRows(questionsOf(survey.fields));
    const pages = this.client.responsePages(surveyId);
    const headers = new WeakSet<readonly string[]>();
    const header = (): string[] => {
      const h = rows.header();
      headers.add(h);
      return h;
    };
    async function* batches(): AsyncGenerator<string[][]> {
      let first = true;
      for await (const page of pages) {
        const grew = rows.learn(page);
        const batch: string[][] = first || grew ? [header()] : [];
        first = false;
        for (const response of page) batch.push(rows.row(response));
        yield batch;
      }
      if (first) yield [header()];
    }
    const it = batches();
    return {
      rows: it,
      bytes: 0,
      close: async () => {
        await it.return(undefined);
        await pages.return(undefined);
      },
      isHeader: (row) => headers.has(row),
      questionIdOf: (column) => rows.questionIdOf(column),
    };
  }

  async close(): Promise<void> {}

  private async survey(surveyId: string): Promise<SurveyInfo> {
    const list = await this.listSurveys();
    const found = list.find((s) => s.id === surveyId);
    if (found) return found;
    const shown = list
      .slice(0, 10)
      .map((s) => s.id)
      .join(', ');
    throw new ConfigError(
      `Hotjar's API lists no survey ${surveyId} in site ${this.options.siteId}${list.length ? ` (it lists ${shown}${list.length > 10 ? ', …' : ''})` : ' (it lists none)'}. Check survey_ids: with an API key they are the API's survey ids (the surveys stream shows them), or leave survey_ids out to read every survey of the site.`,
    );
  }

  /**
   * The site's surveys. An entry whose id the connector cannot use in a URL (none, or characters outside
   * SAFE_ID) is left out with a warning naming it, so that it does not stop the other surveys: with
   * survey_ids left out it is not read, and survey_ids cannot name it (they take the same characters).
   */
  private async fetchList(): Promise<SurveyInfo[]> {
    const out: SurveyInfo[] = [];
    const unusable: string[] = [];
    for await (const page of this.client.surveyPages()) {
      for (const entry of page) {
        const id = isObject(entry) ? idText(entry['id']) : '';
        if (!isObject(entry) || !SAFE_ID.test(id)) {
          unusable.push(isObject(entry) ? (JSON.stringify(entry['id'] ?? null) ?? 'null').slice(0, 60) : 'an entry that is not an object');
          continue;
        }
        out.push({ id, fields: { ...entry, id } });
      }
    }
    if (unusable.length) {
      this.options.log(
        `Hotjar's API listed ${unusable.length} survey${unusable.length > 1 ? 's' : ''} of site ${this.options.siteId} whose id the connector cannot use in a URL (${unusable.slice(0, 5).join(', ')}${unusable.length > 5 ? ', …' : ''}); ${unusable.length > 1 ? 'they are' : 'it is'} left out and not read. Please report it.`,
      );
    }
    return out;
  }
}
