// The case exports on a real catalog: the court report (grouping, query crops beside matched boxes, hashes, readable
// parameters, escaping, no overflow on screen or on A4 in Chromium), CSV and JSON.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { openCatalog } from '../../db/CatalogStore.ts';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import { buildCaseReport, writeCaseExport } from '../../electron/engine/export/caseExport.ts';
import { prepareReportMedia } from '../../electron/engine/export/courtReport.ts';
import { launchBrowser } from '../e2e/support/browser.ts';

const root = mkdtempSync(join(tmpdir(), 'quari-export-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a case exports to a self-contained court report, CSV and JSON with paths, hashes, tags, notes and searches', async () => {
  const catalogFile = join(root, 'case.quari');
  const store = openCatalog(catalogFile, { examiner: 'Examiner <b>Jones</b>' });
  const dataDir = catalogDataDir(catalogFile);
  mkdirSync(join(dataDir, 'thumbs'), { recursive: true });
  mkdirSync(join(dataDir, 'queries'), { recursive: true });
  await sharp({ create: { width: 32, height: 24, channels: 3, background: '#c04020' } }).jpeg().toFile(join(dataDir, 'thumbs', 'a.jpg'));
  const queryId = `${'e'.repeat(64)}.png`;
  await sharp({ create: { width: 200, height: 100, channels: 3, background: '#2040c0' } }).png().toFile(join(dataDir, 'queries', queryId));

  // A long unbroken path: the report must wrap it rather than scroll sideways.
  const evidencePath = `/evidence/room 12/${'x'.repeat(180)}/<lamp>.jpg`;
  const image = (n: number, path: string) => store.commitIngestedImage({
    path,
    size: 1000,
    mtimeMs: 1,
    meta: { sha256: String(n).repeat(64).slice(0, 64), width: 1600, height: 1200, format: 'jpeg', thumbnail: 'thumbs/a.jpg', capturedAt: '2024-05-01T10:11:12' },
    embeddings: [],
  });
  const imageId = image(1, evidencePath);
  const rejectedId = image(2, '/evidence/other.jpg');
  const notedId = image(3, '/evidence/noted.jpg');
  store.registerPack({ id: 'test-pack', version: '1', name: 'Test', dim: 4, manifest: { id: 'test-pack' } });
  const kase = store.createCase({ name: 'Hotel rooms', description: 'Operation test', categories: ['Same room', 'Same object'] });
  const [sameRoom] = store.listCategories(kase.id);
  const search = store.recordSearch({
    caseId: kase.id,
    packId: 'test-pack',
    checkpointHash: 'cd'.repeat(32),
    mode: 'adaptive',
    params: { queryImageId: queryId, queryName: 'query.png', imagePath: join(dataDir, 'queries', queryId), crops: [{ x: 1, y: 2, w: 30, h: 40 }, { x: 100, y: 50, w: 60, h: 40 }], k: 500, top: 200 },
    resultCount: 2,
    durationMs: 12,
    hits: [
      { imageId: rejectedId, rank: 1, score: 0.91, baselineScore: 0.5, explicitScore: 0.1, box: { x: 0, y: 0, w: 100, h: 100 }, regionBoxes: [{ x: 0, y: 0, w: 100, h: 100 }, { x: 0, y: 0, w: 50, h: 50 }] },
      { imageId, rank: 2, score: 0.8765, baselineScore: 0.4321, explicitScore: 0.2, box: { x: 400, y: 300, w: 200, h: 150 }, regionBoxes: [{ x: 400, y: 300, w: 200, h: 150 }, { x: 900, y: 700, w: 300, h: 200 }] },
    ],
  });
  store.tagImage({ caseId: kase.id, imageId, categoryId: sameRoom!.id, searchId: search.id });
  store.setNote(kase.id, imageId, 'lamp base matches, "=SUM(1)" is not a formula');
  store.tagImage({ caseId: kase.id, imageId: rejectedId, categoryId: sameRoom!.id, searchId: search.id });
  store.setRelevance({ caseId: kase.id, imageId: rejectedId, relevant: false, searchId: search.id });
  store.setNote(kase.id, notedId, 'worth a second look');

  const report = buildCaseReport(store, kase.id);
  const exportDir = join(dataDir, 'exports');
  const written = writeCaseExport(report, 'html', exportDir, dataDir, await prepareReportMedia(report, dataDir));
  const html = readFileSync(written.path, 'utf8');
  assert.match(html, /<title>Case report: Hotel rooms<\/title>/);
  assert.ok(html.includes(`/evidence/room 12/${'x'.repeat(180)}/&#60;lamp&#62;.jpg`), 'path is present and escaped');
  assert.ok(html.includes('1'.repeat(64)), 'SHA-256 is present');
  assert.ok(html.includes('cd'.repeat(32)), 'checkpoint hash of the search is present');
  assert.ok(html.includes(report.searches[0]!.packManifestSha256!), 'pack manifest hash is present');
  assert.ok(html.includes('Examiner &#60;b&#62;Jones&#60;/b&#62;'), 'examiner named, escaped');
  assert.ok(html.includes(report.audit.headHash) && report.audit.records > 0, 'audit head hash at export');
  assert.match(html, /rank 2 · score 0\.8765 \(adaptive\) · baseline 0\.4321/);
  assert.match(html, /2024-05-01T10:11:12/, 'EXIF time');
  assert.match(html, /found by <a href="#search-\d+">search #\d+<\/a>/);
  assert.equal((html.match(/<rect /g) ?? []).length, 4, 'one matched box per query crop on each of the two hits');
  assert.match(html, /Query crop 2 of 2: 60 × 40 px at \(100, 50\)/);
  assert.equal((html.match(/<img src="data:image\/jpeg;base64,\/9j\//g) ?? []).length, 4, 'both query crops beside both hits, as embedded JPEGs');
  assert.match(html, /Candidates rescored: the 500 best images of the plain search/, 'parameters in words');
  assert.doesNotMatch(html, /&#34;k&#34;|"crops"/, 'no raw JSON');
  assert.ok(!html.includes(dataDir) && !html.includes(root), 'no internal paths (catalog folder, query copies)');
  assert.doesNotMatch(html, /<script|src="(?!data:)|href="(?!#|data:)/, 'no scripts and no external resources');
  // Grouping: the category holds the relevant tagged image only; the rejected and the note-only images stand apart.
  const section = (id: string) => html.slice(html.indexOf(`<h2 id="${id}"`), html.indexOf('<h2', html.indexOf(`<h2 id="${id}"`) + 1));
  assert.ok(section(`category-${sameRoom!.id}`).includes('&#60;lamp&#62;') && !section(`category-${sameRoom!.id}`).includes('other.jpg'));
  assert.ok(section('not-relevant').includes('/evidence/other.jpg'));
  assert.ok(section('noted').includes('/evidence/noted.jpg') && section('noted').includes('worth a second look'));

  // On screen at 1280 px and 1024 px, and printed on A4: nothing wider than the page.
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(written.path).href);
    for (const width of [1280, 1024, 600]) {
      await page.setViewportSize({ width, height: 800 });
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `no horizontal overflow at ${width} px (${scroll} > ${client})`);
    }
    await page.emulateMedia({ media: 'print' });
    await page.setViewportSize({ width: 718, height: 1000 }); // A4 less 12 mm margins at 96 dpi
    const printed = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(printed.scroll <= printed.client, `no horizontal overflow in print (${printed.scroll} > ${printed.client})`);
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    assert.ok(pdf.subarray(0, 5).toString() === '%PDF-' && pdf.length > 10_000);
    if (process.env.QUARI_REPORT_PDF) writeFileSync(process.env.QUARI_REPORT_PDF, pdf);
  } finally {
    await browser.close();
  }

  const csv = readFileSync(writeCaseExport(report, 'csv', exportDir, dataDir).path, 'utf8').split('\r\n');
  assert.equal(csv[0], 'image_id,path,sha256,width,height,captured_at,category,tagged_at,search_id,note,known_sets');
  assert.ok(csv[1]!.startsWith(`${imageId},${evidencePath},${'1'.repeat(64)},1600,1200,2024-05-01T10:11:12,Same room,`));
  assert.ok(csv[1]!.endsWith(`,${search.id},"lamp base matches, ""=SUM(1)"" is not a formula",`));

  const json = JSON.parse(readFileSync(writeCaseExport(report, 'json', exportDir, dataDir).path, 'utf8'));
  assert.equal(json.items[0].path, evidencePath);
  assert.equal(json.items[0].tags[0].searchId, search.id);
  assert.equal(json.items[0].findings[0].hit.rank, 2);
  assert.equal(json.searches[0].checkpointHash, 'cd'.repeat(32));
  assert.equal(json.audit.headHash, report.audit.headHash);
  assert.deepEqual(json.searches[0].params.crops[0], { x: 1, y: 2, w: 30, h: 40 });
  store.close();
});

test('exporting a case that does not exist names it', () => {
  const store = openCatalog(join(root, 'empty.quari'));
  assert.throws(() => buildCaseReport(store, 42), /case 42 does not exist/);
  store.close();
});
