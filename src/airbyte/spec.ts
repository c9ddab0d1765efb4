import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import type { Command } from './context.js';

export const DOCUMENTATION_URL = 'https://docs.airbyte.com/integrations/sources/hotjar';

export const spec: Command<Record<string, never>> = async ({ writer }) => {
  // Read directly (not through inputs.ts) so `spec` loads no validation library: it must start fast.
  const connectionSpecification = JSON.parse(readFileSync(join(packageRoot, 'spec.json'), 'utf8')) as Record<string, unknown>;
  await writer.write({
    type: 'SPEC',
    spec: {
      documentationUrl: DOCUMENTATION_URL,
      connectionSpecification,
      supportsIncremental: true,
      supported_destination_sync_modes: ['overwrite', 'append', 'append_dedup'],
    },
  });
  return 0;
};
