/**
 * surveys: one record per survey of the site (restricted to survey_ids when they are given), with every
 * field the mode's survey list gives, plus site_id. Full refresh only: the list is small and has no
 * cursor. Read on its own path by the driver, before the per-survey passes (no export is needed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../core/json.js';
import { packageRoot } from '../core/package-root.js';
import type { SurveysStreamDefinition } from './stream.js';

const STATIC_SCHEMA = join(packageRoot, 'catalog', 'surveys.json');

export const surveysStream: SurveysStreamDefinition = {
  kind: 'surveys',
  name: 'surveys',
  description: 'One record per survey of the site, as Hotjar lists it (full refresh only).',
  // Survey ids are unique per site for all we know ([unknown] across sites), so the key holds both.
  primaryKey: [['site_id'], ['id']],
  cursorField: [],
  declaresColumns: false,
  // Not synced by a Singer run without a catalog: password mode's survey list is an undocumented
  // endpoint, and a run that asked for nothing new should not start failing on it.
  selectedByDefault: false,

  schema() {
    return JSON.parse(readFileSync(STATIC_SCHEMA, 'utf8')) as JsonObject;
  },

  record(siteId, survey) {
    // site_id first and the connector's own: a field of that name in Hotjar's answer would be the same site.
    const record: JsonObject = { site_id: siteId };
    for (const [key, value] of Object.entries(survey.fields)) if (key !== 'site_id') record[key] = value;
    record['id'] = survey.id;
    return JSON.stringify(record);
  },
};
