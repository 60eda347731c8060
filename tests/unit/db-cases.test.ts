import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { openCatalog } from '../../db/CatalogStore.ts';
import { CatalogError } from '../../db/errors.ts';
import { ingested, tempCatalog, type TempCatalog } from './db-fixtures.ts';

let t: TempCatalog;
let img: number[];
beforeEach(() => {
  t = tempCatalog();
  t.store.registerPack({ id: 'pack', version: '1', name: 'Pack', dim: 4, manifest: {} });
  img = t.store.commitIngestedImages([1, 2, 3].map((n) => ingested(`/ev/${n}.jpg`, n, [])));
});
afterEach(() => t.dispose());

test('createCase makes the case and its categories with hotkeys 1.. and palette colours', () => {
  const c = t.store.createCase({ name: '  Operation Falcon ', description: 'tip 42', categories: ['weapon', { name: 'face', hotkey: 5, colour: '#00FF00' }, 'vehicle'] });
  assert.deepEqual([c.name, c.description], ['Operation Falcon', 'tip 42']);
  const cats = t.store.listCategories(c.id);
  assert.deepEqual(cats.map((x) => [x.name, x.hotkey, x.caseId]), [['weapon', 1, c.id], ['vehicle', 2, c.id], ['face', 5, c.id]]);
  assert.equal(cats[2].colour, '#00ff00');
  assert.match(cats[0].colour, /^#[0-9a-f]{6}$/);
  assert.notEqual(cats[0].colour, cats[1].colour);
  assert.deepEqual(t.store.getCase(c.id), { ...c, taggedCount: 0 });
});

test('case names are unique regardless of case; a failed createCase leaves nothing behind', () => {
  t.store.createCase({ name: 'Falcon' });
  assert.throws(() => t.store.createCase({ name: 'falcon' }), /a case named 'falcon' already exists/);
  assert.throws(() => t.store.createCase({ name: 'Heron', categories: ['a', 'A'] }), /category name 'A' or hotkey 2 is already used/);
  assert.deepEqual(t.store.listCases().map((c) => c.name), ['Falcon']);
  assert.throws(() => t.store.createCase({ name: '   ' }), /name must be non-empty/);
});

test('categories: hotkeys are unique per case, at most nine, and editable', () => {
  const c = t.store.createCase({ name: 'C', categories: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] });
  assert.throws(() => t.store.createCategory(c.id, { name: 'ten' }), /already has a category on each hotkey 1..9/);
  const cats = t.store.listCategories(c.id);
  assert.throws(() => t.store.updateCategory(cats[0].id, { hotkey: 2 }), /hotkey 2 is already used in this case/);
  assert.throws(() => t.store.updateCategory(cats[0].id, { hotkey: 10 }), /hotkey 10 is not 1..9/);
  assert.throws(() => t.store.updateCategory(cats[0].id, { colour: 'red' }), /colour must be '#rrggbb'/);
  t.store.deleteCategory(cats[1].id);
  const renamed = t.store.updateCategory(cats[0].id, { name: 'weapons', hotkey: 2, colour: '#123456' });
  assert.deepEqual([renamed.name, renamed.hotkey, renamed.colour], ['weapons', 2, '#123456']);
  const other = t.store.createCase({ name: 'Other', categories: ['1'] });
  assert.equal(t.store.listCategories(other.id)[0].hotkey, 1, 'hotkeys are per case');
  assert.throws(() => t.store.createCategory(999, { name: 'x' }), /no case with id 999/);
});

test('tagging: idempotent, remembers the finding search, and a category of another case is refused', () => {
  const c = t.store.createCase({ name: 'C', categories: ['weapon', 'face'] });
  const other = t.store.createCase({ name: 'Other', categories: ['elsewhere'] });
  const [weapon, face] = t.store.listCategories(c.id);
  const [foreign] = t.store.listCategories(other.id);
  const s1 = t.store.recordSearch({ caseId: c.id, packId: 'pack', checkpointHash: 'ab'.repeat(32), mode: 'adaptive', params: { k: 100, crops: [{ x: 1, y: 2, w: 3, h: 4 }] }, resultCount: 50, durationMs: 123.4 });
  const s2 = t.store.recordSearch({ packId: 'pack', checkpointHash: null, mode: 'baseline', params: {}, resultCount: 0, durationMs: 5 });

  assert.equal(t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: weapon.id, searchId: s1.id }), true);
  assert.equal(t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: weapon.id, searchId: s2.id }), false);
  assert.equal(t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: face.id }), true);
  assert.equal(t.store.tagImage({ caseId: c.id, imageId: img[2], categoryId: face.id, searchId: s2.id }), true);
  assert.throws(
    () => t.store.tagImage({ caseId: c.id, imageId: img[1], categoryId: foreign.id }),
    /the category belongs to another case/,
  );
  assert.throws(() => t.store.tagImage({ caseId: c.id, imageId: 999, categoryId: weapon.id }), /image 999/);
  assert.throws(() => t.store.tagImage({ caseId: c.id, imageId: img[1], categoryId: weapon.id, searchId: 999 }), /search 999/);

  assert.deepEqual(
    t.store.getImageTags(c.id, img[0]).map((x) => [x.name, x.hotkey, x.searchId]),
    [['weapon', 1, s1.id], ['face', 2, null]],
  );
  assert.equal(t.store.getCase(c.id)!.taggedCount, 2);
  assert.equal(t.store.untagImage({ caseId: c.id, imageId: img[0], categoryId: face.id }), true);
  assert.equal(t.store.untagImage({ caseId: c.id, imageId: img[0], categoryId: face.id }), false);
  assert.deepEqual(t.store.getImageTags(c.id, img[0]).map((x) => x.name), ['weapon']);
});

test('listCaseItems gathers each image once with its tags, finding search and note', () => {
  const c = t.store.createCase({ name: 'C', categories: ['weapon', 'face'] });
  const [weapon, face] = t.store.listCategories(c.id);
  const s = t.store.recordSearch({ caseId: c.id, packId: 'pack', checkpointHash: null, mode: 'baseline', params: { top: 10 }, resultCount: 10, durationMs: 1 });
  t.store.tagImage({ caseId: c.id, imageId: img[1], categoryId: weapon.id, searchId: s.id });
  t.store.tagImage({ caseId: c.id, imageId: img[1], categoryId: face.id });
  t.store.setNote(c.id, img[2], 'same jacket as in 2.jpg');
  t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: face.id, searchId: s.id });
  t.store.setNote(c.id, img[1], 'first');
  const updated = t.store.setNote(c.id, img[1], 'serial number visible');
  assert.equal(updated.text, 'serial number visible');

  const items = t.store.listCaseItems(c.id);
  assert.deepEqual(items.map((i) => i.path), ['/ev/2.jpg', '/ev/1.jpg', '/ev/3.jpg']);
  assert.deepEqual(items[0].tags.map((x) => [x.name, x.searchId]), [['weapon', s.id], ['face', null]]);
  assert.equal(items[0].note, 'serial number visible');
  assert.equal(items[1].sha256, t.store.getImage(img[0])!.sha256);
  assert.deepEqual([items[2].tags, items[2].note], [[], 'same jacket as in 2.jpg']);
  assert.deepEqual(t.store.listCaseItems(c.id + 100), []);

  assert.equal(t.store.getNote(c.id, img[2])!.text, 'same jacket as in 2.jpg');
  assert.equal(t.store.deleteNote(c.id, img[2]), true);
  assert.equal(t.store.getNote(c.id, img[2]), undefined);
  assert.equal(t.store.listCaseItems(c.id).length, 2);
});

test('deleting a category drops its tags; deleting a case drops everything but detaches its searches', () => {
  const c = t.store.createCase({ name: 'C', categories: ['weapon', 'face'] });
  const [weapon, face] = t.store.listCategories(c.id);
  const s = t.store.recordSearch({ caseId: c.id, packId: 'pack', checkpointHash: null, mode: 'baseline', params: {}, resultCount: 1, durationMs: 1 });
  t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: weapon.id, searchId: s.id });
  t.store.tagImage({ caseId: c.id, imageId: img[1], categoryId: face.id });
  t.store.setNote(c.id, img[0], 'note');
  t.store.deleteCategory(weapon.id);
  assert.deepEqual(t.store.getImageTags(c.id, img[0]), []);
  assert.equal(t.store.getCase(c.id)!.taggedCount, 1);

  t.store.deleteCase(c.id);
  assert.equal(t.store.getCase(c.id), undefined);
  assert.deepEqual(t.store.listCategories(c.id), []);
  assert.equal(t.store.getNote(c.id, img[0]), undefined);
  assert.equal(t.store.getSearch(s.id)!.caseId, null);
  // With the case gone nothing holds the images any more.
  t.store.deleteImage(img[0]);
  assert.throws(() => t.store.deleteCase(c.id), /no case with id/);
});

test('searches are recorded with their params and listed newest first, per case or overall', () => {
  const c = t.store.createCase({ name: 'C' });
  const params = { queryImage: '/q/query.png', crops: [{ x: 10, y: 20, w: 30, h: 40 }], text: 'red car', k: 500, top: 50 };
  const a = t.store.recordSearch({ caseId: c.id, packId: 'pack', checkpointHash: 'f'.repeat(64), mode: 'adaptive', params, resultCount: 50, durationMs: 812.5 });
  const b = t.store.recordSearch({ packId: 'pack', checkpointHash: null, mode: 'baseline', params: { k: 1 }, resultCount: 1, durationMs: 3 });
  assert.deepEqual(t.store.getSearch(a.id), a);
  assert.deepEqual(
    [a.caseId, a.packId, a.checkpointHash, a.mode, a.params, a.resultCount, a.durationMs],
    [c.id, 'pack', 'f'.repeat(64), 'adaptive', params, 50, 812.5],
  );
  assert.deepEqual(t.store.listSearches().map((s) => s.id), [b.id, a.id]);
  assert.deepEqual(t.store.listSearches({ caseId: c.id }).map((s) => s.id), [a.id]);
  assert.deepEqual(t.store.listSearches({ limit: 1, offset: 1 }).map((s) => s.id), [a.id]);
  assert.throws(
    () => t.store.recordSearch({ packId: 'missing', checkpointHash: null, mode: 'baseline', params: {}, resultCount: 0, durationMs: 0 }),
    /pack 'missing' does not exist/,
  );
  assert.throws(
    () => t.store.recordSearch({ packId: 'pack', checkpointHash: null, mode: 'baseline', params: {}, resultCount: -1, durationMs: 0 }),
    /invalid resultCount -1/,
  );
});

test('updateCase renames and re-describes; names stay unique', () => {
  const a = t.store.createCase({ name: 'A', description: 'first' });
  t.store.createCase({ name: 'B' });
  assert.deepEqual([t.store.updateCase(a.id, { name: 'A2' }).description, t.store.getCase(a.id)!.name], ['first', 'A2']);
  assert.equal(t.store.updateCase(a.id, { description: 'second' }).name, 'A2');
  assert.throws(() => t.store.updateCase(a.id, { name: 'b' }), /a case named 'b' already exists/);
  assert.deepEqual(t.store.listCases().map((c) => c.name).sort(), ['A2', 'B']);
});

test('ingest runs record progress and their outcome', () => {
  const run = t.store.startIngestRun('/ev');
  assert.deepEqual([run.status, run.root, run.finishedAt, run.seen], ['running', '/ev', null, 0]);
  const counts = { seen: 10, added: 6, updated: 1, moved: 1, unchanged: 1, failed: 1 };
  t.store.updateIngestRun(run.id, { ...counts, seen: 5 });
  assert.equal(t.store.listIngestRuns()[0].seen, 5);
  const done = t.store.finishIngestRun(run.id, 'done', counts);
  assert.deepEqual({ ...done, finishedAt: null }, { ...run, ...counts, status: 'done', error: null, finishedAt: null });
  assert.ok(done.finishedAt);
  assert.throws(() => t.store.finishIngestRun(run.id, 'failed', counts, 'again'), /no running ingest run with id/);
  assert.throws(() => t.store.updateIngestRun(run.id, counts), /no running ingest run with id/);
  const second = t.store.startIngestRun('/ev2');
  t.store.finishIngestRun(second.id, 'failed', counts, 'disk unplugged');
  assert.deepEqual(t.store.listIngestRuns().map((r) => [r.root, r.status, r.error]), [['/ev2', 'failed', 'disk unplugged'], ['/ev', 'done', null]]);
  assert.throws(() => t.store.startIngestRun('relative'), /root must be absolute/);
});

test('refusals are CatalogErrors that say their kind and name the field at fault', () => {
  const c = t.store.createCase({ name: 'Falcon', categories: ['weapon'] });
  const refusal = (fn: () => unknown, code: string, field: string, message: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof CatalogError, `${String(err)} is a CatalogError`);
      assert.deepEqual([err.code, err.field], [code, field]);
      assert.match(err.message, message);
      return true;
    });
  refusal(() => t.store.createCase({ name: 'falcon' }), 'conflict', 'name', /a case named 'falcon' already exists/);
  refusal(() => t.store.updateCase(c.id + 1, { name: 'x' }), 'not-found', 'id', /no case with id/);
  refusal(() => t.store.createCategory(c.id, { name: 'knife', hotkey: 12 }), 'invalid', 'hotkey', /hotkey 12 is not 1..9/);
  refusal(() => t.store.tagImage({ caseId: c.id, imageId: 999, categoryId: t.store.listCategories(c.id)[0].id }), 'not-found', 'categoryId', /does not exist/);
  t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: t.store.listCategories(c.id)[0].id });
  refusal(() => t.store.deleteImage(img[0]), 'conflict', 'id', /tagged or annotated in a case/);
});

test('snapshot: reads inside it see one catalog state while another connection commits; reads outside see the change', () => {
  const c = t.store.createCase({ name: 'Falcon', categories: ['weapon'] });
  const [weapon] = t.store.listCategories(c.id);
  t.store.tagImage({ caseId: c.id, imageId: img[0], categoryId: weapon.id });
  const other = openCatalog(t.file);
  try {
    const seen = t.store.snapshot(() => {
      const before = t.store.listCaseItems(c.id).map((i) => i.imageId);
      other.tagImage({ caseId: c.id, imageId: img[1], categoryId: weapon.id });
      other.setNote(c.id, img[2], 'seen at the border');
      return { before, after: t.store.listCaseItems(c.id).map((i) => i.imageId), tagged: t.store.getCase(c.id)!.taggedCount };
    });
    assert.deepEqual(seen, { before: [img[0]], after: [img[0]], tagged: 1 });
    // The same two reads without a snapshot see the other connection's commit in between.
    const before = t.store.listCaseItems(c.id).map((i) => i.imageId);
    other.untagImage({ caseId: c.id, imageId: img[1], categoryId: weapon.id });
    assert.deepEqual([before, t.store.listCaseItems(c.id).map((i) => i.imageId)], [[img[0], img[1], img[2]], [img[0], img[2]]]);
  } finally {
    other.close();
  }
});
