#!/usr/bin/env -S node --max-semi-space-size=4
// The flag (also in the Docker ENTRYPOINT) keeps V8's young generation small: less peak RSS on large
// exports for ~5% throughput (see the bench). It must be given at start-up.
import { main } from '../core/process.js';
import { airbyteEntry } from './cli.js';

main(airbyteEntry);
