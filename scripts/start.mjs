#!/usr/bin/env node
// `npm start [-- --catalog FILE] [--port N]`: the desktop app where Electron's binary is installed; otherwise the
// same UI on the loopback web host (`npm run web`), since the binary cannot be downloaded on an offline machine.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

export const FALLBACK_MESSAGE =
  "Electron's binary is not installed on this machine (it cannot be downloaded offline); starting the same UI on the loopback host instead";

/** The Electron executable, or null: the electron package's index.js throws when its install step never ran. */
export function electronBinary() {
  try {
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Runs a child with inherited stdio; resolves with its exit code; Ctrl-C and termination reach it too. */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** npm itself, as the current npm run invoked us (npm_execpath), else the npm on PATH. */
function npm(args) {
  const npmCli = process.env.npm_execpath;
  return npmCli && npmCli.endsWith('.js') ? run(process.execPath, [npmCli, ...args]) : run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { shell: process.platform === 'win32' });
}

async function startElectron(binary, args) {
  const code = await npm(['run', 'build:renderer']);
  if (code !== 0) return code;
  const { buildElectron } = await import('./build-electron.mjs');
  const outDir = await buildElectron();
  return run(binary, [path.join(outDir, 'main.mjs'), ...args]);
}

async function main(args) {
  const binary = electronBinary();
  if (binary) return startElectron(binary, args);
  console.log(FALLBACK_MESSAGE);
  return npm(['run', '--silent', 'web', '--', ...args]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
