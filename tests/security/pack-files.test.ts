// Hostile model packs (issue 11.5), through the real `quari pack verify/import` CLI, the registry and a real catalog:
// a FIFO listed as a pack file or as manifest.json (refused at once, no hang), four concurrent verifies of FIFO packs
// leave libuv's pool free, symlinked files and folders, an oversized manifest, a pack taking the built-in pack's id,
// and a different manifest under an id already imported or already in a catalog (refused at ingest and at search).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCatalog } from '../../db/CatalogStore.ts';
import { encoderFingerprint, type PackManifest } from '../../native-models/runtime/packs/manifest.ts';
import { makePack } from '../helpers/tinyPack.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../../native-models/runtime/packs/registry.ts';
import { MANIFEST_MAX_BYTES, verifyPack } from '../../native-models/runtime/packs/verify.ts';
import { SearchService } from '../../electron/engine/search/SearchService.ts';
import { haveMkfifo, mkfifo, startSwapping, stopSwapping } from '../helpers/fifo-swap.ts';

const CLI = fileURLToPath(new URL('../../bin/quari.mjs', import.meta.url));
const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'quari-sec-packs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const env = { ...process.env, QUARI_HOME: join(root, 'home') };


async function cliFails(args: string[], pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  await assert.rejects(run(process.execPath, [CLI, ...args], { env, timeout: timeoutMs }), (err: { code?: number | string; killed?: boolean; stderr?: string }) => {
    assert.equal(err.killed, false, `quari ${args.join(' ')} hung`);
    assert.equal(err.code, 1, `exit code of quari ${args.join(' ')}: ${err.stderr}`);
    assert.match(err.stderr ?? '', pattern);
    return true;
  });
}

test('a FIFO listed as a pack file, or as manifest.json, is refused at once by quari pack verify', { skip: !haveMkfifo && 'mkfifo is not available' }, async () => {
  const dir = join(root, 'fifo-file');
  makePack(dir, 'fifo-file');
  rmSync(join(dir, 'sub', 'extra.bin'));
  mkfifo(join(dir, 'sub', 'extra.bin'));
  await cliFails(['pack', 'verify', dir], /file sub\/extra\.bin: is a FIFO; only regular files are accepted/);

  const dir2 = join(root, 'fifo-manifest');
  mkdirSync(dir2);
  mkfifo(join(dir2, 'manifest.json'));
  await cliFails(['pack', 'verify', dir2], /manifest\.json: is a FIFO; only regular files are accepted/);
});

test('four verifies of FIFO packs at once leave libuv\'s pool free for other file reads', { skip: !haveMkfifo && 'mkfifo is not available' }, async () => {
  const packs = [0, 1, 2, 3].map((i) => {
    const dir = join(root, `pool-${i}`);
    makePack(dir, `pool-${i}`);
    rmSync(join(dir, 'encoder.onnx'));
    mkfifo(join(dir, 'encoder.onnx'));
    return dir;
  });
  // the attack went through setActivePack, which verifies the pack in-process: four of them used to block all
  // four pool threads on open(); now each is refused and an ordinary read still completes.
  const verdicts = Promise.allSettled(packs.map((d) => verifyPack(d)));
  const read = await Promise.race([
    readFile(join(packs[0], 'sub', 'extra.bin'), 'utf8'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('a file read starved behind the FIFO opens')), 5000)),
  ]);
  assert.equal(read, 'extra');
  for (const v of await verdicts) {
    assert.equal(v.status, 'rejected');
    assert.match(String((v as PromiseRejectedResult).reason), /encoder\.onnx: is a FIFO/);
  }
});

test('a symlinked pack file or folder is refused; import copies regular files, never links', async () => {
  const outside = join(root, 'outside.bin');
  writeFileSync(outside, 'stand-in encoder bytes');
  const dir = join(root, 'linked-file');
  makePack(dir, 'linked-file');
  rmSync(join(dir, 'encoder.onnx'));
  symlinkSync(outside, join(dir, 'encoder.onnx'));
  await cliFails(['pack', 'verify', dir], /encoder\.onnx is a symbolic link; pack files must be regular files inside the pack/);
  await cliFails(['pack', 'import', dir], /encoder\.onnx is a symbolic link/);

  const dir2 = join(root, 'linked-folder');
  makePack(dir2, 'linked-folder');
  const real = join(root, 'real-sub');
  mkdirSync(real);
  writeFileSync(join(real, 'extra.bin'), 'extra');
  rmSync(join(dir2, 'sub'), { recursive: true });
  symlinkSync(real, join(dir2, 'sub'));
  await cliFails(['pack', 'verify', dir2], /sub is a symbolic link/);

  const good = join(root, 'good');
  makePack(good, 'good-pack');
  const { stdout } = await run(process.execPath, [CLI, 'pack', 'import', good, '--json'], { env });
  const imported = JSON.parse(stdout) as { dir: string };
  for (const p of ['manifest.json', 'encoder.onnx', 'sub/extra.bin']) assert.ok(lstatSync(join(imported.dir, p)).isFile(), `${p} is a regular file`);
  rmSync(good, { recursive: true }); // the USB stick is gone: the imported pack still verifies
  await run(process.execPath, [CLI, 'pack', 'verify', 'good-pack'], { env });
});

test('a manifest over the size cap is refused without being parsed', async () => {
  const dir = join(root, 'big-manifest');
  const manifest = makePack(dir, 'big-manifest');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, measurements: { pad: 'x'.repeat(MANIFEST_MAX_BYTES) } }));
  await cliFails(['pack', 'verify', dir], new RegExp(`manifest\\.json: \\d+ bytes is more than the limit of ${MANIFEST_MAX_BYTES} bytes`));
});

test('an imported pack cannot take the built-in pack\'s id, nor shadow it from the user folder', async () => {
  const builtIn = join(root, 'built-in');
  makePack(join(builtIn, DEFAULT_PACK_ID), DEFAULT_PACK_ID, 'the real built-in encoder');
  const registry = new PackRegistry(join(root, 'home2'), builtIn);
  const impostor = join(root, 'impostor');
  makePack(impostor, DEFAULT_PACK_ID, 'an impostor encoder');
  await assert.rejects(registry.import(impostor), /id "mobilenetv2-nsfwjs" is the built-in pack's; an imported pack needs an id of its own/);

  // a folder placed by hand in the user folder under the built-in id is ignored, not resolved
  makePack(join(registry.userPacksDir, DEFAULT_PACK_ID), DEFAULT_PACK_ID, 'an impostor encoder');
  assert.equal(registry.resolveDir(DEFAULT_PACK_ID), join(builtIn, DEFAULT_PACK_ID));
  const listed = registry.list().filter((p) => p.id === DEFAULT_PACK_ID);
  assert.deepEqual(listed.map((p) => [p.source, p.error ?? null]), [['built-in', null], ['user', 'ignored: "mobilenetv2-nsfwjs" is the id of a built-in pack']]);

  // and through the CLI, against the project's real built-in pack
  await cliFails(['pack', 'import', impostor], /is the built-in pack's/);
});

test('a different manifest under an imported id is refused; the identical one re-imports', async () => {
  const registry = new PackRegistry(join(root, 'home3'), join(root, 'no-built-ins'));
  const first = join(root, 'v1');
  makePack(first, 'same-id', 'encoder one');
  await registry.import(first);
  await registry.import(first); // identical: fine
  const second = join(root, 'v2');
  makePack(second, 'same-id', 'encoder two');
  await assert.rejects(registry.import(second), /a different pack with id "same-id" is already imported .*a pack id is immutable: give this pack a new id/);
  assert.equal(readFileSync(join(registry.userPacksDir, 'same-id', 'encoder.onnx'), 'utf8'), 'encoder one');
});

test('a catalog refuses a different encoder under a pack id it already holds', (t) => {
  const catalog = openCatalog(join(root, 'catalog.sqlite'));
  t.after(() => catalog.close());
  const one = makePack(join(root, 'fp1'), 'pinned', 'encoder one');
  const two = makePack(join(root, 'fp2'), 'pinned', 'encoder two');
  const register = (m: PackManifest) => catalog.registerPack({ id: m.id, version: m.version, name: m.name, dim: m.embeddingDim, manifest: m, fingerprint: encoderFingerprint(m) });
  register(one);
  register({ ...one, version: '1.0.1', measurements: { note: 'rebuilt' } }); // same encoder, other prose: fine
  assert.throws(() => register(two), /model pack "pinned" is already in catalog .* with another encoder .*a pack id is immutable in a catalog/);
  assert.equal(catalog.getPack('pinned')?.fingerprint, encoderFingerprint(one));
  assert.ok(existsSync(join(root, 'catalog.sqlite')));
});

test('a search refuses a pack whose encoder differs from the one the catalog indexed under its id', async (t) => {
  const catalog = openCatalog(join(root, 'catalog-search.sqlite'));
  t.after(() => catalog.close());
  const one = makePack(join(root, 'fs1'), 'swapped', 'encoder one');
  catalog.registerPack({ id: one.id, version: one.version, name: one.name, dim: one.embeddingDim, manifest: one, fingerprint: encoderFingerprint(one) });
  const two = makePack(join(root, 'fs2'), 'swapped', 'encoder two'); // the folder was replaced under the same id
  await assert.rejects(SearchService.open(catalog, await verifyPack(join(root, 'fs2'))), /model pack "swapped" is not the encoder this catalog indexed under that id/);
  assert.notEqual(encoderFingerprint(two), encoderFingerprint(one));
});

test('a pack file swapped for a FIFO and back, over and over, during quari pack import: every import ends, no FIFO is copied', { skip: !haveMkfifo && 'mkfifo is not available', timeout: 300_000 }, async () => {
  const dir = join(root, 'swapping');
  // 4 MiB of encoder: hashing takes long enough for the swap to land between one read of the folder and the next.
  makePack(dir, 'swapping', 'x'.repeat(4 * 1024 * 1024));
  const parts = join(root, 'swapping-parts');
  mkdirSync(parts);
  linkSync(join(dir, 'encoder.onnx'), join(parts, 'regular'));
  mkfifo(join(parts, 'fifo'));
  // Renames are atomic: encoder.onnx is always either the regular file or the FIFO, never missing.
  const swapper = await startSwapping(parts, join(dir, 'encoder.onnx'));
  const outcomes = { imported: 0, refused: 0 };
  try {
    for (let i = 0; i < 6; i++) {
      const home = join(root, `swapping-home-${i}`);
      try {
        const { stdout } = await run(process.execPath, [CLI, 'pack', 'import', dir, '--json'], { env: { ...env, QUARI_HOME: home }, timeout: 30_000 });
        const imported = JSON.parse(stdout) as { dir: string };
        const copy = join(imported.dir, 'encoder.onnx');
        assert.ok(lstatSync(copy).isFile(), 'the imported encoder is a regular file');
        assert.equal(createHash('sha256').update(readFileSync(copy)).digest('hex'), createHash('sha256').update('x'.repeat(4 * 1024 * 1024)).digest('hex'));
        outcomes.imported++;
      } catch (err) {
        const e = err as { killed?: boolean; code?: number | string; stderr?: string };
        assert.equal(e.killed, false, `quari pack import hung on a FIFO swapped in (attempt ${i + 1})`);
        assert.equal(e.code, 1, `exit code: ${e.stderr}`);
        assert.match(e.stderr ?? '', /file encoder\.onnx: is a FIFO; only regular files are accepted/);
        outcomes.refused++;
      }
    }
  } finally {
    await stopSwapping(swapper);
  }
  console.log(`# pack import under the FIFO swap: ${JSON.stringify(outcomes)}`);
});
