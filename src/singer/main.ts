#!/usr/bin/env node
import { installCrashGuards } from '../cli.js';
import { run } from './cli.js';

installCrashGuards();
process.exitCode = await run(process.argv.slice(2)).catch(() => 1);
