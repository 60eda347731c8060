// Duplicate stacks and search filters on a real catalog: generated originals with byte-identical, recompressed,
// downsized and cropped copies plus two photos with EXIF (camera, capture time, GPS), ingested with the default
// pack (pHash at ingest). Checks the three tiers stay distinct and nested, `quari dupes` backfills a catalog whose
// hashes are missing, search folds copies under their best-ranked member, filters act inside the search before K
// and the top N are cut (known-file status from imported hash sets too), and a stack tag tags every member and
// records that it came from a stack.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { makeDuplicateSet, type DuplicateFile } from '../../bench/duplicate-set.ts';
import { cameraJpeg, photoLikeJpeg } from '../../bench/ingest-photos.ts';
import { openCatalog } from '../../db/CatalogStore.ts';
import { CatalogError } from '../../db/errors.ts';
import type { CatalogStore } from '../../db/Interface.ts';
import { rebuildDuplicateStacks } from '../../electron/engine/duplicates/rebuild.ts';
import { importHashSetFile } from '../../electron/engine/hashsets/importFile.ts';
import { ingestFolder } from '../../electron/engine/ingest/ingestFolder.ts';
import { SearchService } from '../../electron/engine/search/SearchService.ts';
import type { VerifiedPack } from '../../native-models/runtime/packs/verify.ts';
import { defaultPack } from './ingest-helpers.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'quari-dupes-'));
const evidence = join(root, 'evidence');
const catalogFile = join(root, 'catalog.quari');
let files: DuplicateFile[];
let pack: VerifiedPack;
let store: CatalogStore;
let service: SearchService;
const canon = join(evidence, 'camera', 'canon.jpg');
const nikon = join(evidence, 'camera', 'nikon.jpg');

const idOf = (path: string) => store.getImageByPath(path)!.id;
const fileOf = (group: number, kind: DuplicateFile['kind']) => files.find((f) => f.group === group && f.kind === kind)!.path;

before(async () => {
  pack = await defaultPack();
  files = await makeDuplicateSet(evidence, { originals: 5, withCopies: 2, width: 640, height: 480 });
  mkdirSync(join(evidence, 'camera'));
  writeFileSync(canon, await cameraJpeg());
  writeFileSync(nikon, await sharp(await photoLikeJpeg(9002, 640, 480)).withExif({ IFD0: { Make: 'NIKON CORPORATION', Model: 'D750' }, IFD2: { DateTimeOriginal: '2023:01:10 08:00:00' } }).jpeg().toBuffer());
  store = openCatalog(catalogFile);
  await ingestFolder({ root: evidence, catalog: store, pack });
  await rebuildDuplicateStacks(store, pack.manifest.id);
  service = await SearchService.open(store, pack, { intraOpThreads: 1 });
});
after(async () => {
  await service?.close();
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

test('ingest stores a pHash per distinct file content; copies share it by SHA-256', () => {
  const inputs = store.duplicates.listStackInputs();
  assert.equal(inputs.length, files.length + 2);
  assert.ok(inputs.every((i) => i.phash !== null && /^[0-9a-f]{16}$/.test(i.phash)));
  const exact = store.getImage(idOf(fileOf(0, 'exact')))!;
  assert.equal(exact.sha256, store.getImage(idOf(fileOf(0, null)))!.sha256);
});

test('the three tiers are distinct and nested: exact holds byte copies only, perceptual adds recompressed and resized copies', () => {
  const stacksOf = (tier: 'exact' | 'perceptual' | 'embedding') =>
    store.duplicates.listStacks(tier).map((s) => new Set(store.duplicates.stackMembers(s.stackId)));
  for (const g of [0, 1]) {
    const original = idOf(fileOf(g, null));
    const exact = stacksOf('exact').find((m) => m.has(original))!;
    assert.deepEqual([...exact].sort(), [original, idOf(fileOf(g, 'exact'))].sort(), `exact stack of photo ${g}`);
    const perceptual = stacksOf('perceptual').find((m) => m.has(original))!;
    for (const kind of ['exact', 'recompressed', 'resized'] as const) assert.ok(perceptual.has(idOf(fileOf(g, kind))), `perceptual stack of photo ${g} holds its ${kind} copy`);
    const embedding = stacksOf('embedding').find((m) => m.has(original))!;
    for (const id of perceptual) assert.ok(embedding.has(id), 'every perceptual member is in the enclosing embedding stack');
  }
  // Distinct photos never share a stack in any tier.
  for (const tier of ['exact', 'perceptual', 'embedding'] as const) {
    for (const members of stacksOf(tier)) {
      const groups = new Set([...members].map((id) => files.find((f) => idOf(f.path) === id)?.group ?? `other ${id}`));
      assert.equal(groups.size, 1, `${tier} stack mixes photos: ${[...groups].join(', ')}`);
    }
  }
  // Best member: the largest copy (the original or its byte copy, never the downsized one).
  const best = store.duplicates.listStacks('perceptual').find((s) => store.duplicates.stackMembers(s.stackId).includes(idOf(fileOf(0, null))))!.bestImageId;
  assert.ok([idOf(fileOf(0, null)), idOf(fileOf(0, 'exact'))].includes(best));
});

test('quari dupes computes the hashes a catalog lacks, with progress, and rebuilds the stacks', async () => {
  const raw = new Database(catalogFile);
  raw.exec('DELETE FROM perceptual_hashes; DELETE FROM duplicate_members; DELETE FROM duplicate_stacks;');
  raw.close();
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/quari.mjs'), 'dupes', '--catalog', catalogFile, '--json'], {
    env: { ...process.env, QUARI_HOME: join(root, 'home') },
  });
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
  const distinct = new Set(store.duplicates.listStackInputs().map((i) => i.sha256)).size;
  assert.equal(summary.hashed, distinct);
  assert.deepEqual(summary.hashFailures, []);
  assert.match(stderr, new RegExp(`hashing ${distinct}/${distinct} failed 0`));
  assert.equal(summary.stacks.exact.stacks, 2);
  assert.ok(summary.stacks.perceptual.stacks >= 2 && summary.stacks.perceptual.images >= 8);
  assert.equal(summary.packId, pack.manifest.id);
  assert.ok(store.duplicates.listStackInputs().every((i) => i.phash !== null));
});

test('search folds duplicates under their best-ranked member, with the stack size and tier; "none" shows every copy', async () => {
  const query = { imagePath: fileOf(0, null), crops: [], mode: 'baseline' as const, k: 100, top: 5 };
  const plain = await service.search({ ...query, stackTier: 'none' });
  const copies = new Set(files.filter((f) => f.group === 0).map((f) => idOf(f.path)));
  assert.ok(plain.hits.filter((h) => copies.has(h.imageId)).length >= 4, 'without folding the copies fill the top hits');
  assert.ok(plain.hits.every((h) => h.stack === null));

  const folded = await service.search({ ...query, stackTier: 'perceptual' });
  const top = folded.hits[0]!;
  assert.ok(copies.has(top.imageId));
  assert.equal(top.stack!.tier, 'perceptual');
  assert.ok(top.stack!.size >= 4);
  assert.ok(top.stack!.folded.length >= 3 && top.stack!.folded.every((id) => copies.has(id)));
  const stacked = new Set([top.imageId, ...top.stack!.folded]);
  assert.ok(folded.hits.slice(1).every((h) => !stacked.has(h.imageId)), 'folded members are not hits of their own');
  assert.equal(folded.hits.length, 5, 'the top N counts stacks, not folded copies');
});

test('filters apply inside the search: K and the top N are cut among allowed images only', async () => {
  const query = { imagePath: fileOf(0, null), crops: [], mode: 'baseline' as const, k: 1, top: 3 };
  const camera = { folderPrefix: join(evidence, 'camera') };
  const inCamera = await service.search({ ...query, filter: camera });
  const exhaustive = await service.search({ ...query, k: 0, filter: camera });
  assert.deepEqual(exhaustive.hits.map((h) => h.path).sort(), [canon, nikon].sort());
  assert.deepEqual(inCamera.hits.map((h) => h.path), [exhaustive.hits[0]!.path], 'k=1 keeps the best allowed image, not the filtered remnant of the global top 1');
  const copiesOnly = await service.search({ ...query, filter: { folderPrefix: join(evidence, 'copies') } });
  assert.equal(copiesOnly.hits.length, 1);
  assert.ok(copiesOnly.hits[0]!.path.startsWith(join(evidence, 'copies') + '/'));
  // A prefix matches whole path components only.
  assert.equal((await service.search({ ...query, filter: { folderPrefix: join(evidence, 'cam') } })).hits.length, 0);

  const only = async (filter: Parameters<SearchService['search']>[0]['filter']) => (await service.search({ ...query, k: 0, top: 50, filter })).hits.map((h) => h.path);
  assert.deepEqual(await only({ hasGps: true }), [canon]);
  assert.ok(!(await only({ hasGps: false })).includes(canon));
  assert.deepEqual(await only({ cameraMake: 'nikon' }), [nikon]);
  assert.deepEqual(await only({ cameraModel: 'eos' }), [canon]);
  assert.deepEqual(await only({ capturedFrom: '2024-05-03', capturedTo: '2024-05-03' }), [canon], 'a date takes its whole day');
  assert.deepEqual(await only({ capturedTo: '2023-12-31' }), [nikon]);
  assert.deepEqual(await only({ capturedFrom: '2024-05-03T10:12' }), []);

  const c = store.createCase({ name: 'filters', categories: ['scene'] });
  const [cat] = store.listCategories(c.id);
  store.tagImage({ caseId: c.id, imageId: idOf(nikon), categoryId: cat!.id });
  assert.deepEqual(await only({ tagged: { caseId: c.id, state: 'tagged' } }), [nikon]);
  assert.deepEqual(await only({ tagged: { caseId: c.id, state: 'tagged', categoryId: cat!.id } }), [nikon]);
  const untagged = await only({ tagged: { caseId: c.id, state: 'untagged' } });
  assert.equal(untagged.length, files.length + 1);
  assert.ok(!untagged.includes(nikon));
  // The caller's mistake, named: a CatalogError the protocol answers as bad-request.
  await assert.rejects(() => only({ capturedFrom: "2024' OR 1=1 --" }), (err: unknown) => {
    assert.ok(err instanceof CatalogError);
    assert.deepEqual([err.code, err.field], ['invalid', 'filter.capturedFrom']);
    assert.match(err.message, /filter\.capturedFrom must be YYYY-MM-DD/);
    return true;
  });
});

test('tagging a stack tags every member, each tag recording the tier and the member it came from', () => {
  const c = store.createCase({ name: 'stack tags', categories: ['copies'] });
  const [cat] = store.listCategories(c.id);
  const from = idOf(fileOf(1, 'resized'));
  const { stack, tagged } = store.duplicates.tagStack({ caseId: c.id, imageId: from, tier: 'perceptual', categoryId: cat!.id });
  const members = store.duplicates.stackMembers(stack.stackId);
  assert.deepEqual([...tagged].sort(), [...members].sort());
  const items = store.listCaseItems(c.id);
  assert.deepEqual(items.map((i) => i.imageId).sort(), [...members].sort());
  for (const item of items) assert.deepEqual([item.tags[0]!.stackTier, item.tags[0]!.stackOf], ['perceptual', from]);
  // Again: nothing new; a single-image tag stays a plain tag.
  assert.deepEqual(store.duplicates.tagStack({ caseId: c.id, imageId: from, tier: 'perceptual', categoryId: cat!.id }).tagged, []);
  store.tagImage({ caseId: c.id, imageId: idOf(canon), categoryId: cat!.id });
  assert.equal(store.getImageTags(c.id, idOf(canon))[0]!.stackTier, null);
  assert.throws(() => store.duplicates.tagStack({ caseId: c.id, imageId: idOf(canon), tier: 'exact', categoryId: cat!.id }), /image \d+ is in no exact duplicate stack/);
});

test('quari search takes every filter and the stack tier as flags', async () => {
  const run = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/quari.mjs'), 'search', '--catalog', catalogFile, '--image', fileOf(0, null), '--mode', 'baseline', '--json', ...args], {
        env: { ...process.env, QUARI_HOME: join(root, 'home') },
      });
      return { code: 0, lines: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: '' };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, lines: [], stderr: e.stderr };
    }
  };
  const gps = await run('--has-gps', '--camera-make', 'CANON', '--captured-from', '2024-05-01', '--captured-to', '2024-05-31', '--folder', join(evidence, 'camera'));
  assert.deepEqual(gps.lines.map((h) => h.path), [canon]);
  assert.ok(!('stack' in gps.lines[0]), 'without --stack-tier the JSON line keeps its keys');
  const stacked = await run('--stack-tier', 'perceptual', '--top', '3');
  assert.equal(stacked.lines[0].stack.tier, 'perceptual');
  assert.ok(stacked.lines[0].stack.folded.length >= 3);
  const bad = await run('--untagged');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--untagged needs --case/);
});

test('known-file status filters the search and every hit carries the sets it is in', async () => {
  const sha = (path: string) => store.getImageByPath(path)!.sha256!;
  const ignorable = join(root, 'nsrl-like.txt');
  const ofInterest = join(root, 'flagged.txt');
  writeFileSync(ignorable, `${sha(nikon)}\n${sha(canon)}\n`);
  writeFileSync(ofInterest, `${sha(canon)}\n`);
  await importHashSetFile(store, ignorable, { kind: 'ignorable', name: 'OS files' });
  await importHashSetFile(store, ofInterest, { kind: 'of-interest', name: 'Flagged' });
  const query = { imagePath: fileOf(0, null), crops: [], mode: 'baseline' as const, k: 0, top: 50 };
  const paths = async (known: 'unknown' | 'not-ignorable' | 'of-interest') => (await service.search({ ...query, filter: { known } })).hits.map((h) => h.path);
  assert.deepEqual(await paths('of-interest'), [canon]);
  const visible = await paths('not-ignorable');
  assert.ok(visible.includes(canon), 'an of-interest file stays even when an ignorable set lists it too');
  assert.ok(!visible.includes(nikon), 'a file only in ignorable sets is hidden');
  assert.equal(visible.length, files.length + 1);
  const unknown = await paths('unknown');
  assert.equal(unknown.length, files.length);
  assert.ok(!unknown.includes(canon) && !unknown.includes(nikon));
  const all = await service.search(query);
  const canonHit = all.hits.find((h) => h.path === canon)!;
  assert.deepEqual(canonHit.known.map((m) => [m.setName, m.kind]).sort(), [['Flagged', 'of-interest'], ['OS files', 'ignorable']]);
  assert.deepEqual(all.hits.find((h) => h.path === fileOf(0, null))!.known, []);
});
