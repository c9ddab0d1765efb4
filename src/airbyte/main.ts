#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=4
// The flag (also in the Docker ENTRYPOINT) keeps V8's young generation small: less peak RSS on large
// exports for ~5% throughput (see the bench). MALLOC_ARENA_MAX=1 (also in the image's ENV) keeps glibc
// from giving each thread its own malloc arena, whose freed memory it keeps: 10–30 MB less peak RSS at
// no measured cost in speed (README "Performance"). Both must be given at start-up.
import { main } from '../core/process.js';
import { airbyteEntry } from './cli.js';

main(airbyteEntry);
