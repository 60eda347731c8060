// Hash sets through the shared dispatch path both hosts call (validators, engine, error mapping): import, the
// Catalog view's counts, per-image membership; a malformed file is a 'bad-request' naming the line, not a generic
// internal error, and bad arguments never reach the engine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { writeVicsFile } from '../../bench/hashset-files.ts';
import { createAppService, type AppService } from '../../electron/engine/app/AppService.ts';
import { dispatch } from '../../electron/shared/protocol/dispatch.ts';
import { ingested } from './db-fixtures.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const logged: string[] = [];
const context = { chooseFolder: async () => null, log: { warn: (l: string) => logged.push(l), error: (l: string) => logged.push(l) } };

let dir: string;
let service: AppService;
const ids: number[] = [];
const hashes = [0, 1, 2].map(() => ({ md5: hex(16), sha1: hex(20), sha256: hex(32) }));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hashsets-api-'));
  const catalogPath = join(dir, 'catalog.sqlite');
  const store = openCatalog(catalogPath);
  hashes.forEach((h, n) => {
    const img = ingested(join(dir, `ev/${n}.jpg`), n + 1, []);
    ids.push(store.commitIngestedImage({ ...img, meta: { ...img.meta, ...h } }));
  });
  store.close();
  service = await createAppService({ catalogPath, dataHome: join(dir, 'home') });
});
after(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('importHashSet, listHashSets and getKnownMatches answer through dispatch', async () => {
  const vics = join(dir, 'vics.json');
  writeVicsFile(vics, [{ md5: hashes[0]!.md5, sha1: hashes[0]!.sha1, category: 1 }]);
  const list = join(dir, 'nsrl.txt');
  writeFileSync(list, `${hashes[1]!.sha256}\n`);
  const a = await dispatch(service, 'importHashSet', [{ path: vics }], context);
  assert.ok(a.ok, JSON.stringify(a));
  assert.deepEqual([(a.value as { format: string }).format, (a.value as { matchedImages: number }).matchedImages], ['vics', 1]);
  const b = await dispatch(service, 'importHashSet', [{ path: list, name: 'OS files', kind: 'ignorable' }], context);
  assert.ok(b.ok, JSON.stringify(b));
  const sets = await dispatch(service, 'listHashSets', [], context);
  assert.ok(sets.ok);
  const value = sets.value as { sets: { name: string; kind: string }[]; known: Record<string, unknown> };
  assert.deepEqual(value.sets.map((s) => [s.name, s.kind]), [['vics.json', 'of-interest'], ['OS files', 'ignorable']]);
  assert.deepEqual(value.known, { sets: 2, ofInterest: 1, ignorable: 1, unknown: 1, ofInterestByCategory: { '1': 1 } });
  const m = await dispatch(service, 'getKnownMatches', [ids], context);
  assert.ok(m.ok);
  assert.deepEqual(
    (m.value as { imageId: number; matches: { setName: string; category: string | null }[] }[]).map((r) => r.matches.map((x) => [x.setName, x.category])),
    [[['vics.json', '1']], [['OS files', null]], []],
  );
});

test('exportCase writes VICS JSON into the exports folder through dispatch, with the case category mapped', async () => {
  const kase = await dispatch(service, 'createCase', [{ name: 'Hotel', categories: ['CAM', 'Other'] }], context);
  assert.ok(kase.ok, JSON.stringify(kase));
  const details = kase.value as { caseId: number; categories: { categoryId: number; name: string }[] };
  const cam = details.categories.find((c) => c.name === 'CAM')!;
  assert.ok((await dispatch(service, 'tagImage', [{ caseId: details.caseId, imageId: ids[2]!, categoryId: cam.categoryId, searchId: null }], context)).ok);
  const r = await dispatch(service, 'exportCase', [{ caseId: details.caseId, format: 'vics' }], context);
  assert.ok(r.ok, JSON.stringify(r));
  const written = r.value as { path: string; fileName: string; mimeType: string };
  assert.match(written.fileName, /^case-\d+-Hotel-.*\.vics\.json$/);
  assert.equal(written.path, join(dir, 'catalog.sqlite.data', 'exports', written.fileName));
  const doc = JSON.parse(readFileSync(written.path, 'utf8'));
  assert.deepEqual(doc.value.map((m: { MD5: string; Category: number }) => [m.MD5, m.Category]), [[hashes[2]!.md5.toUpperCase(), 1]]);
});

test('a malformed file is a bad-request naming the line; bad arguments are refused before the engine', async () => {
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, `${hex(16)}\nnot-hex\n`);
  const r = await dispatch(service, 'importHashSet', [{ path: bad }], context);
  assert.deepEqual(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'bad-request');
  assert.match(!r.ok ? r.error.message : '', /bad\.txt: line 2: 'not-hex' is not a hex MD5, SHA-1 or SHA-256/);
  const v11 = join(dir, 'v11.json');
  writeVicsFile(v11, [{ md5: hex(16) }], '1.1');
  const v = await dispatch(service, 'importHashSet', [{ path: v11 }], context);
  assert.match(!v.ok ? `${v.error.code} ${v.error.message}` : '', /^bad-request .*unknown VICS version 1\.1/);
  const listed = await dispatch(service, 'listHashSets', [], context);
  assert.equal((listed.ok && (listed.value as { sets: unknown[] }).sets.length), 2, 'nothing half-imported');
  for (const [args, pattern] of [
    [[{ path: 'relative.txt' }], /importHashSet: argument 1\.path: must be an absolute/],
    [[{ path: bad, format: 'csv' }], /argument 1\.format: must be one of "nsrl-rds3", "vics", "text"/],
    [[{ path: bad, kind: 'x', extra: 1 }], /unknown field "extra"/],
    [[Array.from({ length: 10_001 }, (_, i) => i + 1)], /getKnownMatches: argument 1: must have at most 10000 entries/],
    [[[1, -2]], /getKnownMatches: argument 1\[1\]: expected a positive integer id/],
  ] as const) {
    const method = pattern.source.startsWith('getKnownMatches') ? 'getKnownMatches' : 'importHashSet';
    const res = await dispatch(service, method, args as unknown, context);
    assert.ok(!res.ok && res.error.code === 'bad-request', JSON.stringify(res));
    assert.match(res.error.message, pattern);
  }
  const missing = await dispatch(service, 'importHashSet', [{ path: join(dir, 'none.json') }], context);
  assert.ok(!missing.ok && missing.error.code === 'not-found');
});

test("a write while another connection holds the catalog's write lock (an import committing) answers 'unavailable'", async () => {
  const other = new Database(join(dir, 'catalog.sqlite'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const r = await dispatch(service, 'createCase', [{ name: 'while locked', categories: [] }], context);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'unavailable');
    assert.match(!r.ok ? r.error.message : '', /createCase: the catalog is busy with another writer/);
    other.exec('ROLLBACK');
    const again = await dispatch(service, 'createCase', [{ name: 'while locked', categories: [] }], context);
    assert.equal(again.ok, true, 'the same call succeeds once the lock is gone');
  } finally {
    other.close();
  }
});
