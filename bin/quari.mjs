#!/usr/bin/env node
// Launcher for the `quari` CLI: the engine is TypeScript run through tsx, so no build step is needed after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/engine/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
