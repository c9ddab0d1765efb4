/**
 * Password mode's survey list: the internal API's `GET {base}/v1/sites/{site}/surveys`. Public code
 * names the endpoint but none shows its answer ([unknown] in the team's notes on the official API (hotjar-official-api.md)), so it is
 * read tolerantly: a list of surveys, or an object holding exactly one such list; each entry an object
 * with an `id` (a string, or a whole number). Anything else is a ConfigError that says what was expected
 * and asks for survey_ids, which do not need the list.
 *
 * A record keeps every field the entry has. `name` is the entry's name (or its title when it has no
 * name). A field named like one the official API defines (and catalog/surveys.json declares) is kept as
 * "<name> (internal)": its type in this API is unknown, so it must not fill a declared column.
 */
import { ConfigError } from '../../core/errors.js';
import { isObject, type JsonObject } from '../../core/json.js';
import type { SurveyInfo } from '../source.js';

/** The official API's survey fields other than id and name (catalog/surveys.json declares them). */
export const DECLARED_SURVEY_FIELDS: readonly string[] = [
  'site_id',
  'type',
  'url',
  'responses_url',
  'is_enabled',
  'created_time',
  'updated_time',
  'sentiment_analysis_enabled',
  'questions',
];

const ASK = 'Hotjar answered the survey list in a shape the connector does not know';
const FIX =
  "List the surveys to read in survey_ids (the numbers in each survey's URL on insights.hotjar.com); the export does not need this list.";

export function parseInternalSurveyList(body: unknown, siteId: string): SurveyInfo[] {
  const list = surveyArray(body);
  if (list === undefined) {
    throw new ConfigError(
      `${ASK} (expected a list of surveys with an "id", or an object holding one such list, for site ${siteId}). ${FIX}`,
    );
  }
  return list.map((entry, i) => {
    const id = idOf(isObject(entry) ? entry['id'] : undefined);
    if (!isObject(entry) || id === undefined) {
      throw new ConfigError(`${ASK}: entry ${i} of the list of site ${siteId} has no usable "id" (a string or whole number). ${FIX}`);
    }
    const fields: JsonObject = { id };
    const name = typeof entry['name'] === 'string' ? entry['name'] : typeof entry['title'] === 'string' ? entry['title'] : null;
    fields['name'] = name;
    for (const [key, value] of Object.entries(entry)) {
      if (key === 'id') continue;
      if (key === 'name') {
        if (typeof value !== 'string') fields['name (internal)'] = value;
        continue;
      }
      fields[DECLARED_SURVEY_FIELDS.includes(key) ? `${key} (internal)` : key] = value;
    }
    return { id, fields };
  });
}

/** The list itself, or the one list of id-bearing objects an object holds; undefined when neither fits. */
function surveyArray(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body as unknown[];
  if (!isObject(body)) return undefined;
  const lists = Object.values(body).filter((v): v is unknown[] => Array.isArray(v));
  if (lists.length === 1) return lists[0];
  const withIds = lists.filter((l) => l.length > 0 && l.every((e) => isObject(e) && idOf(e['id']) !== undefined));
  return withIds.length === 1 ? withIds[0] : undefined;
}

/** A survey id from JSON: a non-empty string safe in a URL path, or a whole number. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(value)) return value;
  return undefined;
}
