import type { RunContext } from '../core/process.js';
import type { AirbyteMessage } from './messages.js';

export type AirbyteContext = RunContext<AirbyteMessage>;
