import { loadSpec } from '../core/spec-file.js';
import { PROTOCOL_VERSION, specMessage, type SpecMessage } from './messages.js';

export const DOCUMENTATION_URL = 'https://docs.airbyte.com/integrations/sources/hotjar';

export function spec(): SpecMessage {
  return specMessage({
    documentationUrl: DOCUMENTATION_URL,
    connectionSpecification: loadSpec(),
    supportsIncremental: true,
    protocol_version: PROTOCOL_VERSION,
  });
}
