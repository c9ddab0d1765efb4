/** The survey_responses stream as discover publishes it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { CURSOR_FIELD } from './cursor.js';

export const STREAM_NAME = 'survey_responses';
export const PRIMARY_KEY: string[][] = [['Number'], ['survey_id']];

export function streamSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(packageRoot, 'catalog', `${STREAM_NAME}.json`), 'utf8')) as Record<string, unknown>;
}

export function airbyteStream(): Record<string, unknown> {
  return {
    name: STREAM_NAME,
    json_schema: streamSchema(),
    supported_sync_modes: ['full_refresh', 'incremental'],
    source_defined_cursor: true,
    default_cursor_field: [CURSOR_FIELD],
    source_defined_primary_key: PRIMARY_KEY,
    // Full refresh ignores incoming state, so the platform must not resume one from a previous attempt.
    is_resumable: false,
  };
}
