/**
 * survey_answers: the long format. One record per response and answer column with a non-empty cell:
 * the question (the column's record key), the answer, the matching `Tags for:` cell, and the column's
 * position among the answer columns (0-based). Fixed columns never become rows; `Tags for:` columns
 * fold into `tags`; user-attribute columns cannot be told apart from questions and become rows too.
 *
 * API-key mode (the "api" flavour of the header, see columns.ts) keys a record by response_id instead of
 * Number and adds the question's id, the answer's comment and sentiment; a record is made when any of
 * answer, tags, comment or sentiment is there (the API may give a comment without an answer: keep it).
 * User attributes become rows there too (question_id null), so both modes' tables hold the same rows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../core/json.js';
import { packageRoot } from '../core/package-root.js';
import { CURSOR_FIELD, NUMBER_FIELD, RESPONSE_ID_FIELD } from './state.js';
import { cell, type ResponseStreamDefinition, type RowEncoder, type SurveyContext } from './stream.js';

const STATIC_SCHEMA = join(packageRoot, 'catalog', 'survey_answers.json');
const API_KEY_SCHEMA = join(packageRoot, 'catalog', 'survey_answers.api_key.json');

export const surveyAnswers: ResponseStreamDefinition = {
  kind: 'responses',
  name: 'survey_answers',
  description: 'One record per response and non-empty answer column (long format).',
  primaryKey: [[NUMBER_FIELD], ['survey_id'], ['question']],
  cursorField: [CURSOR_FIELD],
  declaresColumns: false,
  selectedByDefault: true,

  schema() {
    return JSON.parse(readFileSync(STATIC_SCHEMA, 'utf8')) as JsonObject;
  },

  encoder(ctx) {
    if (ctx.layout.flavour === 'api') return apiEncoder(ctx);
    const {
      siteId,
      surveyId,
      layout: { answers },
    } = ctx;
    const head = `{"site_id":${JSON.stringify(siteId)},"survey_id":${JSON.stringify(surveyId)},"Number":`;
    const columns = answers.map((a, position) => ({
      index: a.index,
      tagsIndex: a.tagsIndex,
      middle: `,"question":${JSON.stringify(a.question)},"position":${position},"answer":`,
    }));
    return {
      encode(row, number, date, emit) {
        let wait: Promise<void> | undefined;
        const start = `${head}${String(number)},"${CURSOR_FIELD}":"${date}"`;
        for (const c of columns) {
          const answer = row[c.index];
          if (answer === undefined || answer === '') continue;
          const tags = c.tagsIndex >= 0 ? cell(row[c.tagsIndex]) : 'null';
          wait = emit(`${start}${c.middle}${JSON.stringify(answer)},"tags":${tags}}`) ?? wait;
        }
        return wait;
      },
    };
  },
};

/** survey_answers in API-key mode: keyed by response_id, with question_id, comment and sentiment. */
export const surveyAnswersApiKey: ResponseStreamDefinition = {
  ...surveyAnswers,
  primaryKey: [[RESPONSE_ID_FIELD], ['survey_id'], ['question']],
  schema() {
    return JSON.parse(readFileSync(API_KEY_SCHEMA, 'utf8')) as JsonObject;
  },
};

function apiEncoder({ siteId, surveyId, layout: { answers, keys }, questionIdOf }: SurveyContext): RowEncoder {
  const idIndex = keys.indexOf(RESPONSE_ID_FIELD);
  const head = `{"site_id":${JSON.stringify(siteId)},"survey_id":${JSON.stringify(surveyId)},"${RESPONSE_ID_FIELD}":`;
  const at = (row: readonly string[], index: number | undefined): string | undefined =>
    index === undefined || index < 0 ? undefined : row[index];
  const columns = answers.map((a, position) => {
    const questionId = questionIdOf?.(a.index);
    return {
      ...a,
      middle: `,"question_id":${questionId === undefined ? 'null' : JSON.stringify(questionId)},"question":${JSON.stringify(a.question)},"position":${position},"answer":`,
    };
  });
  return {
    encode(row, _number, date, emit) {
      let wait: Promise<void> | undefined;
      const start = `${head}${JSON.stringify(row[idIndex] ?? '')},"${CURSOR_FIELD}":"${date}"`;
      for (const c of columns) {
        const answer = row[c.index];
        const tags = at(row, c.tagsIndex);
        const comment = at(row, c.commentIndex);
        const sentiment = at(row, c.sentimentIndex);
        if (!answer && !tags && !comment && !sentiment) continue;
        wait =
          emit(`${start}${c.middle}${cell(answer)},"tags":${cell(tags)},"comment":${cell(comment)},"sentiment":${cell(sentiment)}}`) ??
          wait;
      }
      return wait;
    },
  };
}

export const ANSWER_FIELDS = ['site_id', 'survey_id', NUMBER_FIELD, CURSOR_FIELD, 'question', 'answer', 'tags', 'position'];
