#!/usr/bin/env -S node --max-semi-space-size=4
import { main } from '../core/process.js';
import { tapEntry } from './cli.js';

main(tapEntry);
