#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=4
// Start-up settings as in ../airbyte/main.ts (see there).
import { main } from '../core/process.js';
import { tapEntry } from './cli.js';

main(tapEntry);
