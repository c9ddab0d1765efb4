/**
 * survey_answers: the long format. One record per response and answer column with a non-empty cell:
 * the question (the column's record key), the answer, the matching `Tags for:` cell, and the column's
 * position among the answer columns (0-based). Fixed columns never become rows; `Tags for:` columns
 * fold into `tags`; user-attribute columns cannot be told apart from questions and become rows too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../core/json.js';
import { packageRoot } from '../core/package-root.js';
import { CURSOR_FIELD, NUMBER_FIELD } from './state.js';
import { cell, type StreamDefinition } from './stream.js';

const STATIC_SCHEMA = join(packageRoot, 'catalog', 'survey_answers.json');

export const surveyAnswers: StreamDefinition = {
  name: 'survey_answers',
  description: 'One record per response and non-empty answer column (long format).',
  primaryKey: [[NUMBER_FIELD], ['survey_id'], ['question']],
  cursorField: [CURSOR_FIELD],
  declaresColumns: false,

  schema() {
    return JSON.parse(readFileSync(STATIC_SCHEMA, 'utf8')) as JsonObject;
  },

  encoder({ siteId, surveyId, layout: { answers } }) {
    const head = `{"site_id":${JSON.stringify(siteId)},"survey_id":${JSON.stringify(surveyId)},"Number":`;
    const columns = answers.map((a, position) => ({
      index: a.index,
      tagsIndex: a.tagsIndex,
      middle: `,"question":${JSON.stringify(a.question)},"position":${position},"answer":`,
    }));
    return {
      encode(row, number, date, emit) {
        let wait: Promise<void> | undefined;
        const start = `${head}${number},"${CURSOR_FIELD}":"${date}"`;
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

export const ANSWER_FIELDS = ['site_id', 'survey_id', NUMBER_FIELD, CURSOR_FIELD, 'question', 'answer', 'tags', 'position'];
