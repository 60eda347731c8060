// Ingest end to end: real SQLite catalog, real ONNX session from the default pack, real images made with sharp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openCatalog } from '../../db/CatalogStore.ts';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import type { IngestProgress } from '../../electron/shared/api.ts';
import { ingestFolder } from '../../electron/engine/ingest/ingestFolder.ts';
import { formatProgress, ProgressTracker, terminalProgress } from '../../electron/engine/ingest/progress.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack, packVariant, pngBomb, snapshotTree } from './ingest-helpers.ts';

async function photo(seed: number, format: 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' = 'jpeg'): Promise<Buffer> {
  const p = await photoLike(seed, 320, 240);
  return format === 'avif' ? p.avif({ quality: 50, effort: 0 }).toBuffer() : p[format]().toBuffer();
}

test('ingest catalogues every good image, records every bad file, never touches the evidence, and is incremental', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'folder.jpg')); // a folder with an image name: walked, not read
  mkdirSync(outside);

  const good: string[] = [];
  const put = (rel: string, bytes: Buffer | string) => {
    writeFileSync(join(root, rel), bytes);
    return join(root, rel);
  };
  for (let i = 0; i < 4; i++) good.push(put(`img${i}.jpg`, await photo(i + 1)));
  good.push(put('sub/scan.png', await photo(10, 'png')));
  good.push(put('sub/web.WEBP', await photo(11, 'webp')));
  good.push(put('sub/deeper/page.tiff', await photo(12, 'tiff')));
  good.push(put('sub/deeper/anim.gif', await photo(13, 'gif')));
  good.push(put('sub/deeper/phone.avif', await photo(14, 'avif')));
  good.push(put('folder.jpg/inside.jpg', await photo(15)));
  const rotated = put(
    'sub/rotated.jpg',
    await (await photoLike(16, 320, 240))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'Canon', Model: 'EOS 5D' },
        IFD2: { DateTimeOriginal: '2021:06:07 08:09:10' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 30/1' },
      })
      .toBuffer(),
  );
  good.push(rotated);
  const copy = put('sub/copy-of-img0.jpg', readFileSync(good[0]));
  good.push(copy);
  writeFileSync(join(outside, 'secret.jpg'), await photo(20));
  symlinkSync(outside, join(root, 'link-to-outside')); // a symlinked folder leaving the root: not followed
  symlinkSync(join(root, 'sub'), join(root, 'link-to-sub')); // inside the root: not followed either (no duplicates)
  put('notes.txt', 'not an image extension: ignored');

  const jpeg = readFileSync(good[1]);
  const bad: Record<string, RegExp> = {
    [put('empty.jpg', '')]: /is empty \(0 bytes\)/,
    [put('text.png', 'just some text with an image extension')]: /not a decodable image/,
    [put('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))]: /cannot decode/,
    [put('corrupt.jpg', Buffer.concat([jpeg.subarray(0, 200), Buffer.alloc(4000, 0x5a)]))]: /cannot decode|not a decodable image/,
    [put('bomb.png', pngBomb(30000))]: /30000×30000 pixels exceeds the limit/,
  };
  execFileSync('mkfifo', [join(root, 'pipe.jpg')]);
  bad[join(root, 'pipe.jpg')] = /pipe\.jpg: is a FIFO; only regular files are accepted/;
  symlinkSync(join(dir, 'gone.jpg'), join(root, 'broken.jpg'));
  bad[join(root, 'broken.jpg')] = /broken symbolic link/;
  symlinkSync('loop.jpg', join(root, 'loop.jpg'));
  bad[join(root, 'loop.jpg')] = /broken symbolic link.*ELOOP/;

  const pack = await defaultPack();
  const catalogFile = join(dir, 'catalog', 'catalog.sqlite');
  mkdirSync(join(dir, 'catalog'));
  const catalog = openCatalog(catalogFile);
  t.after(() => catalog.close());
  const before = snapshotTree(root);
  const events: IngestProgress[] = [];
  const first = await ingestFolder({ root, catalog, pack, onProgress: (p) => events.push(p) });
  assert.deepEqual(snapshotTree(root), before, 'evidence folder unchanged (bytes, listing, mtimes)');

  const badPaths = Object.keys(bad);
  assert.equal(first.added, good.length, JSON.stringify(first.failures, null, 1));
  assert.equal(first.failed, badPaths.length);
  assert.deepEqual(first.failures.map((f) => f.path).sort(), [...badPaths].sort());
  for (const [path, pattern] of Object.entries(bad)) {
    const row = catalog.getImageByPath(path);
    assert.equal(row?.status, 'failed', path);
    assert.match(row!.error!, pattern, path);
  }
  const dataDir = catalogDataDir(catalogFile);
  const m = pack.manifest;
  for (const path of good) {
    const row = catalog.getImageByPath(path);
    assert.equal(row?.status, 'ok', path);
    const e = catalog.getEmbedding(row!.id, m.id);
    assert.ok(e, `embedding of ${path}`);
    assert.equal(e!.dim, m.embeddingDim);
    assert.equal(e!.dtype, 'float16');
    assert.deepEqual(Array.from(e!.boxes.subarray(0, 4)), [0, 0, 1, 1]);
    assert.equal(e!.contentScores?.length, m.content?.labels.length);
    assert.ok(row!.thumbnail && existsSync(join(dataDir, row!.thumbnail)), `thumbnail of ${path}`);
    assert.equal(row!.sha256, execFileSync('sha256sum', [path], { encoding: 'utf8' }).slice(0, 64));
  }
  assert.equal(catalog.countImages().total, good.length + badPaths.length, 'nothing else catalogued (no symlinked folders, no .txt)');
  assert.equal(catalog.getImageByPath(join(outside, 'secret.jpg')), undefined);
  const rot = catalog.getImageByPath(rotated)!;
  assert.deepEqual([rot.width, rot.height, rot.orientation, rot.format], [240, 320, 6, 'jpeg']);
  assert.deepEqual([rot.cameraMake, rot.cameraModel, rot.capturedAt], ['Canon', 'EOS 5D', '2021-06-07T08:09:10']);
  assert.ok(Math.abs(rot.gpsLat! - 51.5) < 1e-9 && Math.abs(rot.gpsLon! + 0.125) < 1e-9);
  const thumb = await sharp(join(dataDir, rot.thumbnail!)).metadata();
  assert.ok(thumb.height! > thumb.width!, 'thumbnail is upright (orientation applied)');
  assert.equal(catalog.getImageByPath(join(root, 'sub/deeper/phone.avif'))!.format, 'avif');
  // The copy shares the original's bytes, so it got the original's vectors without another forward pass.
  const e0 = catalog.getEmbedding(catalog.getImageByPath(good[0])!.id, m.id)!;
  const eCopy = catalog.getEmbedding(catalog.getImageByPath(copy)!.id, m.id)!;
  assert.deepEqual(eCopy.vectors, e0.vectors);

  assert.equal(events[0].state, 'scanning');
  const last = events[events.length - 1];
  assert.deepEqual([last.state, last.total, last.done, last.added, last.failed], ['done', good.length + badPaths.length, good.length + badPaths.length, good.length, badPaths.length]);
  assert.ok(events.some((e) => e.state === 'running'));

  // Unchanged folder: nothing is re-read, decoded or embedded.
  const again = await ingestFolder({ root, catalog, pack });
  assert.deepEqual([again.added, again.updated, again.moved, again.failed, again.skipped], [0, 0, 0, 0, good.length + badPaths.length]);
  assert.deepEqual(snapshotTree(root), before);

  // Moved: same bytes at a new path, old path gone → the same row, re-pointed, the same embedding row.
  const movedFrom = good[2];
  const movedTo = join(root, 'sub', 'renamed.jpg');
  const idBefore = catalog.getImageByPath(movedFrom)!.id;
  const embBefore = catalog.getEmbedding(idBefore, m.id)!;
  renameSync(movedFrom, movedTo);
  // Changed: new bytes under an old name.
  const changed = good[3];
  const oldVectors = catalog.getEmbedding(catalog.getImageByPath(changed)!.id, m.id)!.vectors;
  writeFileSync(changed, await photo(99));
  utimesSync(changed, new Date(), new Date(Date.now() + 5000));
  const third = await ingestFolder({ root, catalog, pack });
  assert.deepEqual([third.added, third.updated, third.moved, third.failed], [0, 1, 1, 0]);
  const movedRow = catalog.getImageByPath(movedTo)!;
  assert.equal(movedRow.id, idBefore);
  assert.equal(catalog.getImageByPath(movedFrom), undefined);
  assert.equal(catalog.getEmbedding(idBefore, m.id)!.createdAt, embBefore.createdAt, 'not re-embedded');
  assert.notDeepEqual(catalog.getEmbedding(catalog.getImageByPath(changed)!.id, m.id)!.vectors, oldVectors, 'changed file re-embedded');
  assert.equal(catalog.countImages().total, good.length + badPaths.length);
});

test('ingest refuses a catalog inside the evidence folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-inside-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.jpg'), await photo(1));
  const catalog = openCatalog(join(dir, 'catalog.sqlite'));
  t.after(() => catalog.close());
  const pack = await defaultPack();
  await assert.rejects(ingestFolder({ root: dir, catalog, pack }), /lies inside the evidence folder/);
  // The same through a symlinked catalog folder that points into the evidence.
  const evidence = join(dir, 'evidence');
  mkdirSync(join(evidence, 'sub'), { recursive: true });
  const outside = await mkdtemp(join(tmpdir(), 'ingest-link-'));
  t.after(() => rm(outside, { recursive: true, force: true }));
  symlinkSync(join(evidence, 'sub'), join(outside, 'catalogs'));
  const linked = openCatalog(join(outside, 'catalogs', 'c.sqlite'));
  t.after(() => linked.close());
  await assert.rejects(ingestFolder({ root: evidence, catalog: linked, pack }), /lies inside the evidence folder/);
});

test('a file the ingesting user may not read is recorded as failed (as root, `quari ingest` runs as nobody to get EACCES)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-perm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  mkdirSync(root);
  writeFileSync(join(root, 'readable.jpg'), await photo(1));
  writeFileSync(join(root, 'locked.jpg'), await photo(2));
  chmodSync(join(root, 'locked.jpg'), 0o000);
  mkdirSync(join(dir, 'catalog'));
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'catalog'), 0o777);
  const catalogFile = join(dir, 'catalog', 'catalog.sqlite');
  const pack = await defaultPack();
  const before = snapshotTree(root);
  if (process.getuid?.() === 0) {
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    // nobody must reach the checkout to run the CLI; a clone under a 0700 folder (mktemp -d) is out of its reach.
    const cli = join(repo, 'bin', 'quari.mjs');
    const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(cli)}, require('fs').constants.R_OK)`], { uid: 65534, gid: 65534 });
    if (probe.status !== 0) {
      t.skip(`user nobody cannot read ${cli}: clone the project under a world-readable folder to run this test as root`);
      return;
    }
    const run = spawnSync(process.execPath, [cli, 'ingest', root, '--catalog', catalogFile, '--pack', pack.dir, '--json'], {
      cwd: repo,
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    assert.equal(run.status, 3, `quari ingest exits 3 when it finished with a file recorded as failed: ${run.stderr}`);
    assert.equal(JSON.parse(run.stdout.trim().split('\n').pop()!).failed, 1);
  } else {
    const c = openCatalog(catalogFile);
    await ingestFolder({ root, catalog: c, pack });
    c.close();
  }
  assert.deepEqual(snapshotTree(root), before);
  const catalog = openCatalog(catalogFile);
  t.after(() => catalog.close());
  assert.equal(catalog.getImageByPath(join(root, 'readable.jpg'))?.status, 'ok');
  const locked = catalog.getImageByPath(join(root, 'locked.jpg'));
  assert.equal(locked?.status, 'failed');
  assert.match(locked!.error!, /EACCES|permission denied/i);
});

test('progress: recent-rate files/s and ETA; the terminal line redraws in place on a TTY and prints lines otherwise', () => {
  let now = 0;
  const tracker = new ProgressTracker('7', '/evidence', () => now);
  tracker.state = 'running';
  tracker.total = 100;
  tracker.snapshot();
  now = 10_000;
  tracker.done = 20;
  const p = tracker.snapshot();
  assert.equal(p.filesPerSecond, 2);
  assert.equal(p.etaSeconds, 40);
  assert.equal(formatProgress(p), 'running 20/100 (20.0%) added 0 skipped 0 failed 0 2.0 files/s ETA 00:40');
  // Old samples fall out of the rate window: a fast start does not make the ETA optimistic for long.
  now = 40_000;
  tracker.done = 30;
  assert.ok(Math.abs(tracker.snapshot().filesPerSecond - 10 / 30) < 1e-9);

  const written: string[] = [];
  const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  tty.on('data', (d: Buffer) => written.push(d.toString()));
  const render = terminalProgress(tty);
  render({ ...p, state: 'running' });
  render({ ...p, state: 'running', done: 21 }); // within 100 ms of the last redraw: dropped
  render({ ...p, state: 'done', done: 100 });
  assert.equal(written.length, 2);
  assert.ok(written[0].startsWith('\r\x1b[2K') && !written[0].endsWith('\n'));
  assert.ok(written[1].startsWith('\r\x1b[2Kdone 100/100') && written[1].endsWith('\n'));
  const plain: string[] = [];
  const pipe = new PassThrough();
  pipe.on('data', (d: Buffer) => plain.push(d.toString()));
  const log = terminalProgress(pipe);
  log({ ...p, state: 'running' });
  log({ ...p, state: 'running', done: 25 });
  log({ ...p, state: 'done' });
  assert.deepEqual(plain.map((l) => l.split(' ')[0]), ['running', 'done']);
  assert.ok(plain.every((l) => l.endsWith('\n') && !l.includes('\r')));
});

test('cancelling stops taking files, records the run as cancelled, and a rerun completes the folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-cancel-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  mkdirSync(root);
  // Enough files that the run outlasts the first progress events (they come at most every 200 ms).
  const N = 40;
  for (let i = 0; i < N; i++) writeFileSync(join(root, `f${String(i).padStart(2, '0')}.jpg`), await photo(200 + i));
  const catalog = openCatalog(join(dir, 'catalog.sqlite'));
  t.after(() => catalog.close());
  const pack = await defaultPack();
  const controller = new AbortController();
  const first = await ingestFolder({
    root,
    catalog,
    pack,
    lanes: 2,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.done >= 2) controller.abort();
    },
  });
  assert.equal(first.cancelled, true);
  assert.ok(first.added >= 2 && first.added < N, `cancelled after ${first.added} of ${N}`);
  assert.equal(catalog.listIngestRuns()[0].status, 'cancelled');
  const second = await ingestFolder({ root, catalog, pack });
  assert.deepEqual([second.cancelled, second.skipped, second.added], [false, first.added, N - first.added]);
  assert.equal(catalog.countImages().ok, N);
});

test('a second pack embeds the already catalogued images (with its own region scheme); a rescan then skips them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-packs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  mkdirSync(root);
  for (let i = 0; i < 5; i++) writeFileSync(join(root, `p${i}.jpg`), await photo(300 + i));
  const catalog = openCatalog(join(dir, 'catalog.sqlite'));
  t.after(() => catalog.close());
  const packA = await defaultPack();
  const packB = await packVariant(packA, join(dir, 'pack-b'), { id: 'test-pack-b', regions: { inputSize: [448, 320], windowCells: 3, strideCells: 2 }, projectionDim: 32 });
  assert.equal((await ingestFolder({ root, catalog, pack: packA })).added, 5);
  const b = await ingestFolder({ root, catalog, pack: packB });
  assert.deepEqual([b.added, b.updated, b.skipped], [0, 5, 0]);
  const row = catalog.getImageByPath(join(root, 'p0.jpg'))!;
  const eb = catalog.getEmbedding(row.id, 'test-pack-b')!;
  // 448×320 → a 14×10 map; 3-cell windows every 2 cells plus the edge-flush ones: x 0,2,…,10,11 (7) × y 0,2,4,6,7 (5).
  assert.deepEqual([eb.dim, eb.nVectors], [32, 1 + 7 * 5]);
  assert.ok(catalog.getEmbedding(row.id, packA.manifest.id), 'the first pack keeps its vectors');
  const again = await ingestFolder({ root, catalog, pack: packB });
  assert.deepEqual([again.updated, again.skipped], [0, 5]);
});
