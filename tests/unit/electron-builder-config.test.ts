// electron-builder.yml without the Electron binary: the keys the offline product depends on, that its unpack
// patterns really match the native files installed here, and electron-builder's own schema validation.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG_FILE = path.join(ROOT, 'electron-builder.yml');
const require = createRequire(import.meta.url);
const config = parse(readFileSync(CONFIG_FILE, 'utf8')) as Record<string, any>;

const configModule = require.resolve('app-builder-lib/out/util/config/config');
const builderUtil = createRequire(configModule)('builder-util');
// electron-builder logs ("• loaded configuration …") to stdout, which node:test reads as its own message stream
// from this file's process: a log line landing mid-message fails the file. Its log goes to stderr instead.
builderUtil.log.stream = process.stderr;

/** electron-builder's own loader and schema check (app-builder-lib ships with electron-builder). */
async function validate(configPath: string | null, inline: Record<string, unknown> | null): Promise<void> {
  const { getConfig, validateConfiguration } = require(configModule);
  const { DebugLogger } = builderUtil;
  const loaded = await getConfig(ROOT, configPath, inline);
  await validateConfiguration(loaded, new DebugLogger(false));
}

function findFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) out.push(path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }
  return out;
}

describe('electron-builder.yml', () => {
  test("passes electron-builder's schema validation", async () => {
    await validate(CONFIG_FILE, null);
  });

  test('the validator is live: an unknown key and a wrong type are rejected', async () => {
    await assert.rejects(validate(null, { ...config, autoUpdate: true }), /unknown property 'autoUpdate'/);
    await assert.rejects(validate(null, { ...config, asar: 'yes' }), /asar/);
  });

  test('targets: Linux AppImage and deb, Windows NSIS', () => {
    assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
    assert.deepEqual(config.win.target.map((t: { target: string }) => t.target), ['nsis']);
    assert.ok(config.linux.maintainer, 'deb needs a maintainer');
  });

  test('no auto-update or publishing; user data is kept on uninstall', () => {
    assert.ok('publish' in config && config.publish === null, 'publish must be explicitly null');
    assert.equal(config.nsis.deleteAppDataOnUninstall, false);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.ok(!/electron-updater|update-electron-app|analytics|sentry|telemetry/.test(dep), `${dep} phones home`);
    }
  });

  test('the app is the bundles, the built UI, the search kernels and package.json, with main pointing at the bundle', () => {
    assert.equal(config.extraMetadata.main, 'dist/electron/main.mjs');
    for (const f of ['dist/electron/**/*', 'dist/renderer/**/*', 'build/Release/*.node', 'binding.gyp', 'package.json']) {
      assert.ok(config.files.includes(f), `files lacks ${f}`);
    }
    // The install-time and offline tools never ship (the engine loads only native-models/runtime/, bundled).
    assert.ok(config.files.includes('!native-models/tools/**'), 'files does not exclude native-models/tools');
    // node-gyp's build/ folder must not double as electron-builder's (excluded) resources folder.
    assert.notEqual(config.directories.buildResources ?? 'build', 'build');
    const script = readFileSync(path.join(ROOT, 'scripts', 'build-electron.mjs'), 'utf8');
    assert.match(script, /entryPoints: \{ main: 'electron\/main\/main\.ts' \}/);
    assert.match(script, /outExtension: \{ '\.js': '\.mjs' \}/);
  });

  test('asar with every native addon installed here unpacked', async () => {
    assert.equal(config.asar, true);
    const { minimatch } = require('minimatch');
    const unpacked = (file: string) => (config.asarUnpack as string[]).some((pattern) => minimatch(file, pattern, { dot: true }));
    const natives = [
      ...findFiles(path.join(ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release'), '.node'),
      ...findFiles(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin'), '.node'),
      ...findFiles(path.join(ROOT, 'node_modules', '@img'), '.node'),
      ...findFiles(path.join(ROOT, 'build', 'Release'), '.node'),
    ];
    assert.ok(natives.some((f) => f.includes('better_sqlite3.node')));
    assert.ok(natives.some((f) => f.includes('onnxruntime_binding.node')));
    assert.ok(natives.some((f) => f.includes('sharp-')));
    assert.ok(natives.includes('build/Release/search_kernels.node'));
    for (const file of natives) assert.ok(unpacked(file), `${file} would stay inside app.asar`);
    // onnxruntime's and libvips's shared libraries sit next to the addons and must be unpacked with them.
    for (const lib of [...findFiles(path.join(ROOT, 'node_modules', 'onnxruntime-node', 'bin'), '.so.1'), ...findFiles(path.join(ROOT, 'node_modules', '@img'), '.so.42')]) {
      assert.ok(unpacked(lib), `${lib} would stay inside app.asar`);
    }
    assert.ok(unpacked('dist/electron/encoder-worker.mjs'), 'the worker-thread bundle must be on disk');
    assert.ok(unpacked('dist/electron/verify-worker.mjs'), 'the verification worker bundle must be on disk');
    assert.ok(unpacked('node_modules/@techstark/opencv-js/dist/opencv.js'), 'the unpacked verification worker resolves OpenCV.js beside it');
  });

  test('the default model pack ships as an extra resource, where main.ts looks for it', () => {
    const packs = (config.extraResources as { from: string; to: string }[]).find((r) => r.from === 'native-models/packs/built');
    assert.ok(packs, 'extraResources lacks native-models/packs/built');
    assert.equal(packs.to, 'packs');
    const main = readFileSync(path.join(ROOT, 'electron', 'main', 'main.ts'), 'utf8');
    assert.match(main, /path\.join\(process\.resourcesPath, 'packs'\)/);
  });

  test('fuses turn off run-as-node and Node debugging flags in the shipped binary', () => {
    assert.equal(config.electronFuses.runAsNode, false);
    assert.equal(config.electronFuses.enableNodeOptionsEnvironmentVariable, false);
    assert.equal(config.electronFuses.enableNodeCliInspectArguments, false);
    assert.equal(config.electronFuses.onlyLoadAppFromAsar, true);
  });
});
