#!/usr/bin/env -S node --max-semi-space-size=4
import { installCrashGuards } from '../cli.js';
import { run } from './cli.js';

installCrashGuards();
process.exitCode = await run(process.argv.slice(2)).catch(() => 1);
