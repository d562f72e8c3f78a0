#!/usr/bin/env node
// The compiled CLI lives in dist/; `npm run build` (part of the install step) produces it.
import { main } from '../dist/services/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
