#!/usr/bin/env node
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
