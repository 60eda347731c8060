import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { catalogDataDir, openCatalog } from '../../db/CatalogStore.ts';
import { buildCaseReport, writeCaseExport } from '../../electron/engine/export/caseExport.ts';

const root = mkdtempSync(join(tmpdir(), 'quari-export-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a case exports to self-contained HTML, CSV and JSON with paths, hashes, tags, notes and searches', async () => {
  const catalogFile = join(root, 'case.quari');
  const store = openCatalog(catalogFile);
  const dataDir = catalogDataDir(catalogFile);
  mkdirSync(join(dataDir, 'thumbs'), { recursive: true });
  await sharp({ create: { width: 32, height: 24, channels: 3, background: '#c04020' } }).jpeg().toFile(join(dataDir, 'thumbs', 'a.jpg'));

  const evidencePath = '/evidence/room 12/<lamp>.jpg';
  const imageId = store.commitIngestedImage({
    path: evidencePath,
    size: 1000,
    mtimeMs: 1,
    meta: { sha256: 'ab'.repeat(32), width: 1600, height: 1200, format: 'jpeg', thumbnail: 'thumbs/a.jpg' },
    embeddings: [],
  });
  store.registerPack({ id: 'test-pack', version: '1', name: 'Test', dim: 4, manifest: {} });
  const kase = store.createCase({ name: 'Hotel rooms', description: 'Operation test', categories: ['Same room', 'Same object'] });
  const [sameRoom] = store.listCategories(kase.id);
  const search = store.recordSearch({
    caseId: kase.id,
    packId: 'test-pack',
    checkpointHash: 'cd'.repeat(32),
    mode: 'adaptive',
    params: { query: 'q.jpg', crops: [{ x: 1, y: 2, w: 30, h: 40 }], k: 500 },
    resultCount: 10,
    durationMs: 12,
  });
  store.tagImage({ caseId: kase.id, imageId, categoryId: sameRoom!.id, searchId: search.id });
  store.setNote(kase.id, imageId, 'lamp base matches, "=SUM(1)" is not a formula');

  const report = buildCaseReport(store, kase.id);
  const exportDir = join(dataDir, 'exports');
  const html = readFileSync(writeCaseExport(report, 'html', exportDir, dataDir).path, 'utf8');
  assert.match(html, /<title>Case report: Hotel rooms<\/title>/);
  assert.ok(html.includes('/evidence/room 12/&#60;lamp&#62;.jpg'), 'path is present and escaped');
  assert.ok(html.includes('ab'.repeat(32)), 'SHA-256 is present');
  assert.ok(html.includes('cd'.repeat(32)), 'checkpoint hash of the search is present');
  assert.match(html, /Same room/);
  assert.match(html, /found by <a href="#search-\d+">search #\d+<\/a>/);
  assert.match(html, /data:image\/jpeg;base64,\/9j\//, 'thumbnail embedded as a JPEG data URI');
  assert.doesNotMatch(html, /<script|src="(?!data:)/, 'no scripts and no external resources');
  assert.match(html, /&#34;k&#34;: 500/, 'search parameters listed');

  const csv = readFileSync(writeCaseExport(report, 'csv', exportDir, dataDir).path, 'utf8').split('\r\n');
  assert.equal(csv[0], 'image_id,path,sha256,width,height,captured_at,category,tagged_at,search_id,note');
  assert.ok(csv[1]!.startsWith(`${imageId},/evidence/room 12/<lamp>.jpg,${'ab'.repeat(32)},1600,1200,,Same room,`));
  assert.ok(csv[1]!.endsWith(`,${search.id},"lamp base matches, ""=SUM(1)"" is not a formula"`));

  const json = JSON.parse(readFileSync(writeCaseExport(report, 'json', exportDir, dataDir).path, 'utf8'));
  assert.equal(json.items[0].path, evidencePath);
  assert.equal(json.items[0].tags[0].searchId, search.id);
  assert.equal(json.searches[0].checkpointHash, 'cd'.repeat(32));
  assert.deepEqual(json.searches[0].params.crops, [{ x: 1, y: 2, w: 30, h: 40 }]);
  store.close();
});

test('exporting a case that does not exist names it', () => {
  const store = openCatalog(join(root, 'empty.quari'));
  assert.throws(() => buildCaseReport(store, 42), /case 42 does not exist/);
  store.close();
});
