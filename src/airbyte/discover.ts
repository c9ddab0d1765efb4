/**
 * discover: the survey_responses stream. The schema is static (question columns are not known in
 * advance, so it allows additional properties); discover validates the config but does not call Hotjar:
 * `check` is the command that proves the credentials.
 */
import { parseConfig, readJsonFile } from '../protocol/inputs.js';
import { airbyteStream } from '../stream/schema.js';
import type { Command } from './context.js';

export const discover: Command<{ config: string }> = async ({ writer }, args) => {
  parseConfig(readJsonFile(args.config, 'config'), args.config);
  await writer.write({ type: 'CATALOG', catalog: { streams: [airbyteStream()] } });
  return 0;
};
