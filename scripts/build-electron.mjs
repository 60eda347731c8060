#!/usr/bin/env node
// Bundles the Electron main process and preload with esbuild into dist/electron/ (`npm run build:electron`):
//   main.mjs            ESM main process: electron/main/main.ts and the engine it imports
//   encoder-worker.mjs  the image-encoder worker thread, next to main.mjs where EncoderPool's
//                       `new URL('./encoder-worker.mjs', import.meta.url)` looks for it
//   verify-worker.mjs   the geometric-verification worker thread (OpenCV.js), found the same way by VerifyPool
//   import-worker.mjs   the hash-set import's worker thread, found the same way by hashsets/ImportThread.ts
//   preload.cjs         the sandboxed preload: one CommonJS file whose only require is 'electron'
// Runtime dependencies (package.json "dependencies": native addons and their helpers) stay external and are
// packaged as node_modules by electron-builder, which unpacks the native ones from app.asar.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = path.join(ROOT, 'dist', 'electron');

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const runtimeDeps = Object.keys(pkg.dependencies ?? {});
// Electron 41 runs Node 24 and Chromium 146; these targets only keep esbuild from down-levelling anything.
const NODE_TARGET = 'node22';

const common = {
  bundle: true,
  platform: 'node',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
  absWorkingDir: ROOT,
};

/** Builds the five bundles into `outDir` (emptied first); returns it. */
export async function buildElectron(outDir = OUT_DIR) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const external = ['electron', ...runtimeDeps, ...runtimeDeps.map((d) => `${d}/*`)];
  const esm = {
    ...common,
    format: 'esm',
    target: NODE_TARGET,
    external,
    outExtension: { '.js': '.mjs' },
    // ESM output still meets CommonJS code in dependencies; give it a require that resolves from the bundle.
    banner: { js: "import { createRequire as __quariCreateRequire } from 'node:module'; const require = __quariCreateRequire(import.meta.url);" },
  };
  await build({ ...esm, entryPoints: { main: 'electron/main/main.ts' }, outdir: outDir });
  await build({ ...esm, entryPoints: { 'encoder-worker': 'electron/engine/models/encoder-worker.ts' }, outdir: outDir });
  await build({ ...esm, entryPoints: { 'verify-worker': 'electron/engine/verify/verify-worker.ts' }, outdir: outDir });
  await build({ ...esm, entryPoints: { 'import-worker': 'electron/engine/hashsets/import-worker.ts' }, outdir: outDir });
  await build({
    ...common,
    entryPoints: { preload: 'electron/preload/preload.ts' },
    outdir: outDir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    target: ['chrome146'],
    // A sandboxed preload may require only 'electron' (and a few polyfilled builtins); everything else is inlined.
    external: ['electron'],
  });
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const out = await buildElectron();
    console.log(`built Electron bundles in ${path.relative(process.cwd(), out) || out}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
