// VICS export and round trip through the real CLI (issue 12.4): a case exported from catalog A as VICS JSON and
// imported as a hash set into catalog B holding the same files gives those files the same categories; the
// per-case mapping (defaults by name, --vics-map stored) and the other formats of `quari case export`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../db/CatalogStore.ts';
import type { CatalogStore } from '../../db/Interface.ts';
import { ingested, tempCatalog, type TempCatalog } from './db-fixtures.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const quari = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/quari.mjs'), ...args], { encoding: 'utf8', cwd: repo });
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

let t: TempCatalog;
beforeEach(() => {
  t = tempCatalog();
});
afterEach(() => t.dispose());

/** The same five files (same paths, sizes and hashes) catalogued in `store`; returns their ids by name. */
function catalogue(store: CatalogStore, files: { name: string; md5: string; sha1: string; sha256: string }[]): Record<string, number> {
  const ids: Record<string, number> = {};
  files.forEach((f, n) => {
    const img = ingested(join(t.dir, 'evidence', f.name), n + 1, []);
    ids[f.name] = store.commitIngestedImage({ ...img, meta: { ...img.meta, md5: f.md5, sha1: f.sha1, sha256: f.sha256 } });
  });
  return ids;
}

test('a case exported as VICS from catalog A and imported into catalog B gives the same files the same categories', () => {
  const files = ['cam.jpg', 'relevant.jpg', 'other.jpg', 'noted.jpg', 'untagged.jpg'].map((name) => ({ name, md5: hex(16), sha1: hex(20), sha256: hex(32) }));
  const a = t.store;
  mkdirSync(join(t.dir, 'evidence'));
  const idsA = catalogue(a, files);
  const kase = a.createCase({ name: 'Operation Lamp', categories: ['CAM', 'Relevant', 'Other', 'Category 3'] });
  const cat = Object.fromEntries(a.listCategories(kase.id).map((c) => [c.name, c.id]));
  a.tagImage({ caseId: kase.id, imageId: idsA['cam.jpg']!, categoryId: cat['CAM']! });
  a.tagImage({ caseId: kase.id, imageId: idsA['relevant.jpg']!, categoryId: cat['Relevant']! });
  a.tagImage({ caseId: kase.id, imageId: idsA['other.jpg']!, categoryId: cat['Other']! });
  // Two categories: the more serious (3 before 0) is exported.
  a.tagImage({ caseId: kase.id, imageId: idsA['other.jpg']!, categoryId: cat['Category 3']! });
  a.setNote(kase.id, idsA['noted.jpg']!, 'seen in the hotel series');
  a.close();

  const out = join(t.dir, 'case.vics.json');
  const r = quari('case', 'export', '--catalog', t.file, '--case', 'operation lamp', '--format', 'vics', '--out', out, '--vics-map', 'Relevant=2');
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  assert.match(doc['@odata.context'], /DataModels\/2\.0\.xml/);
  const byName = Object.fromEntries(doc.value.map((m: { MediaFiles: { FileName: string }[] }) => [m.MediaFiles[0]!.FileName, m]));
  assert.deepEqual(Object.keys(byName).sort(), ['cam.jpg', 'noted.jpg', 'other.jpg', 'relevant.jpg']);
  const cam = byName['cam.jpg'];
  assert.deepEqual([cam.MD5, cam.SHA1, cam.MediaSize, cam.MediaFiles[0].FilePath], [files[0]!.md5.toUpperCase(), files[0]!.sha1.toUpperCase(), 1001, join(t.dir, 'evidence', 'cam.jpg')]);
  assert.deepEqual(
    ['cam.jpg', 'relevant.jpg', 'other.jpg', 'noted.jpg'].map((n) => byName[n].Category),
    [1, 2, 3, 0],
    'CAM by its name, Relevant by --vics-map, Other+Category 3 → 3, note-only → 0',
  );
  assert.match(byName['noted.jpg'].Comments, /note: seen in the hotel series/);
  assert.match(byName['other.jpg'].Comments, /case categories: Other, Category 3/);
  // The mapping was stored with the case: a second export without --vics-map gives the same numbers.
  const again = join(t.dir, 'again.json');
  assert.equal(quari('case', 'export', '--catalog', t.file, '--case', String(kase.id), '--format', 'vics', '--out', again).status, 0);
  assert.deepEqual(JSON.parse(readFileSync(again, 'utf8')).value.map((m: { Category: number }) => m.Category).sort(), [0, 1, 2, 3]);

  // Catalog B holds the same files and one more.
  const bFile = join(t.dir, 'b.sqlite');
  const b = openCatalog(bFile);
  const idsB = catalogue(b, [...files, { name: 'new.jpg', md5: hex(16), sha1: hex(20), sha256: hex(32) }]);
  b.close();
  const imp = quari('hashset', 'import', out, '--catalog', bFile, '--name', 'from A', '--json');
  assert.equal(imp.status, 0, imp.stderr);
  const line = JSON.parse(imp.stdout.trim().split('\n').pop()!);
  assert.deepEqual([line.set, line.format, line.version, line.hashes, line.matchedImages], ['from A', 'vics', '2.0', 4, 4]);
  const b2 = openCatalog(bFile);
  try {
    for (const m of doc.value as { Category: number; MediaFiles: { FileName: string }[] }[]) {
      const name = m.MediaFiles[0]!.FileName;
      assert.deepEqual(b2.getKnownMatches(idsB[name]!).map((k) => k.category), [String(m.Category)], name);
    }
    assert.deepEqual(b2.getKnownMatches(idsB['untagged.jpg']!), []);
    assert.deepEqual(b2.getKnownMatches(idsB['new.jpg']!), []);
  } finally {
    b2.close();
  }
});

test('`quari case export` writes html, csv and json to --out, refuses an --out inside an evidence folder, and names bad options', () => {
  const files = [{ name: 'a.jpg', md5: hex(16), sha1: hex(20), sha256: hex(32) }];
  mkdirSync(join(t.dir, 'evidence'));
  const ids = catalogue(t.store, files);
  const kase = t.store.createCase({ name: 'C', categories: ['Relevant'] });
  t.store.tagImage({ caseId: kase.id, imageId: ids['a.jpg']!, categoryId: t.store.listCategories(kase.id)[0]!.id });
  t.store.startIngestRun(join(t.dir, 'evidence'));
  t.store.close();
  for (const [format, start] of [['html', '<!doctype html>'], ['csv', 'image_id,path,sha256'], ['json', '{']] as const) {
    const out = join(t.dir, `report.${format}`);
    const r = quari('case', 'export', '--catalog', t.file, '--case', 'C', '--format', format, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out, 'utf8').startsWith(start), format);
  }
  assert.deepEqual(readdirSync(t.dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  const inside = quari('case', 'export', '--catalog', t.file, '--case', 'C', '--format', 'html', '--out', join(t.dir, 'evidence', 'photo.jpg'));
  assert.equal(inside.status, 1);
  assert.match(inside.stderr, /lies inside the evidence folder/);
  assert.equal(existsSync(join(t.dir, 'evidence', 'photo.jpg')), false);
  const badFormat = quari('case', 'export', '--catalog', t.file, '--case', 'C', '--format', '../x', '--out', join(t.dir, 'x'));
  assert.equal(badFormat.status, 2);
  assert.match(badFormat.stderr, /--format must be one of html, csv, json, vics/);
  const noCase = quari('case', 'export', '--catalog', t.file, '--case', 'Nope', '--format', 'csv', '--out', join(t.dir, 'x.csv'));
  assert.match(noCase.stderr, /no case with id or name 'Nope'/);
  const badMap = quari('case', 'export', '--catalog', t.file, '--case', 'C', '--format', 'vics', '--out', join(t.dir, 'x.json'), '--vics-map', 'Missing=1');
  assert.match(badMap.stderr, /the case has no category "Missing" \(it has: Relevant\)/);
});
