#!/usr/bin/env -S node --max-semi-space-size=4
// The flag (also in the Docker ENTRYPOINT) keeps V8's young generation small: ~20 MB less peak RSS on
// large exports for ~5% throughput (bench/). It must be given at start-up; setting it later has no effect.
import { installCrashGuards, run } from './cli.js';

installCrashGuards();
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
