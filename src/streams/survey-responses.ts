/**
 * survey_responses: one record per response, every column of the export under its header text (see
 * columns.ts for duplicates and clashes), `Number` an integer, `Date Submitted` in cursor form, empty
 * cells null, plus site_id and survey_id. The record's JSON is written straight from the row with
 * pre-encoded keys (faster than building an object and stringifying it).
 *
 * API-key mode reads the same way (the pass's header names the same columns), with its own keys and
 * schema (catalog/survey_responses.api_key.json): there is no Number, so the key is response_id.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isObject, type JsonObject } from '../core/json.js';
import { packageRoot } from '../core/package-root.js';
import { layout } from './columns.js';
import { CURSOR_FIELD, NUMBER_FIELD, RESPONSE_ID_FIELD } from './state.js';
import { cell, type ResponseStreamDefinition } from './stream.js';

const STATIC_SCHEMA = join(packageRoot, 'catalog', 'survey_responses.json');
const API_KEY_SCHEMA = join(packageRoot, 'catalog', 'survey_responses.api_key.json');

export const surveyResponses: ResponseStreamDefinition = {
  kind: 'responses',
  name: 'survey_responses',
  description: 'One record per survey response, with every column of the export.',
  primaryKey: [[NUMBER_FIELD], ['survey_id']],
  cursorField: [CURSOR_FIELD],
  declaresColumns: true,
  selectedByDefault: true,

  schema(columns) {
    return discovered(STATIC_SCHEMA, columns);
  },

  encoder({ siteId, surveyId, layout: { keys } }) {
    const prefixes = keys.map((key, i) => `${i ? ',' : '{'}${JSON.stringify(key)}:`);
    const numberIndex = keys.indexOf(NUMBER_FIELD);
    const dateIndex = keys.indexOf(CURSOR_FIELD);
    const suffix = `,"site_id":${JSON.stringify(siteId)},"survey_id":${JSON.stringify(surveyId)}}`;
    return {
      encode(row, number, date, emit) {
        let json = '';
        for (let i = 0; i < prefixes.length; i++) {
          json += prefixes[i];
          json += i === numberIndex ? String(number) : i === dateIndex ? `"${date}"` : cell(row[i]);
        }
        return emit(json + suffix);
      },
    };
  },
};

/** survey_responses in API-key mode: keyed by response_id (no Number), its own static schema. */
export const surveyResponsesApiKey: ResponseStreamDefinition = {
  ...surveyResponses,
  description: 'One record per survey response, with the same columns as an export where the meaning is the same, plus the API-only ones.',
  primaryKey: [[RESPONSE_ID_FIELD], ['survey_id']],
  schema(columns) {
    return discovered(API_KEY_SCHEMA, columns);
  },
};

/** A static schema, with the discovered columns declared (as nullable text) and nothing else allowed. */
function discovered(file: string, columns: readonly string[] | undefined): JsonObject {
  const schema = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
  if (columns === undefined) return schema;
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  for (const key of columns) properties[key] ??= { type: ['null', 'string'] };
  schema['properties'] = properties;
  schema['additionalProperties'] = false;
  return schema;
}

/** The record keys a survey's header makes (what discover declares). */
export function responseColumns(header: readonly string[]): string[] {
  return layout(header).keys;
}
