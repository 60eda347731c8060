import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import Database from 'better-sqlite3';
import { embedding, ingested, meta, rng, sha, tempCatalog, type TempCatalog } from './db-fixtures.ts';

let t: TempCatalog;
beforeEach(() => {
  t = tempCatalog();
  t.store.registerPack({ id: 'pack', version: '1', name: 'Pack', dim: 8, manifest: {} });
});
afterEach(() => t.dispose());

const file = (path: string, size = 100, mtimeMs = 1000.5) => ({ path, size, mtimeMs });

test('upsertPendingImage inserts once per path and keeps the id', () => {
  const a = t.store.upsertPendingImage(file('/ev/a.jpg'));
  const b = t.store.upsertPendingImage(file('/ev/b.jpg'));
  assert.notEqual(a, b);
  assert.equal(t.store.upsertPendingImage(file('/ev/a.jpg')), a);
  const row = t.store.getImage(a)!;
  assert.equal(row.status, 'pending');
  assert.equal(row.path, '/ev/a.jpg');
  assert.equal(row.mtimeMs, 1000.5);
  assert.deepEqual(t.store.countImages(), { total: 2, pending: 2, ok: 0, failed: 0 });
});

test('an unchanged file keeps its ingest results; a changed one goes back to pending without stale vectors', () => {
  const id = t.store.commitIngestedImage(
    ingested('/ev/a.jpg', 1, [embedding('pack', 'float32', 8, 2, rng(1))]),
  );
  const before = t.store.getImage(id)!;
  assert.equal(t.store.upsertPendingImage({ path: '/ev/a.jpg', size: before.size, mtimeMs: before.mtimeMs }), id);
  assert.equal(t.store.getImage(id)!.status, 'ok');
  assert.equal(t.store.countEmbeddings('pack'), 1);

  assert.equal(t.store.upsertPendingImage({ path: '/ev/a.jpg', size: before.size + 1, mtimeMs: before.mtimeMs }), id);
  const after = t.store.getImage(id)!;
  assert.equal(after.status, 'pending');
  assert.equal(after.sha256, null);
  assert.equal(after.width, null);
  assert.equal(after.size, before.size + 1);
  assert.equal(t.store.countEmbeddings('pack'), 0);
});

test('markImageOk stores the metadata and markImageFailed the error; listFailures shows failures only', () => {
  const a = t.store.upsertPendingImage(file('/ev/a.jpg'));
  const b = t.store.upsertPendingImage(file('/ev/b.png'));
  t.store.markImageOk(a, {
    ...meta(7),
    capturedAt: '2024-05-01T10:11:12',
    cameraMake: 'Canon',
    cameraModel: 'EOS 5D',
    gpsLat: 51.5,
    gpsLon: -0.12,
    orientation: 6,
    thumbnail: 'thumbs/00/1.webp',
  });
  t.store.markImageFailed(b, 'unsupported image format');
  const ra = t.store.getImage(a)!;
  assert.deepEqual(
    [ra.status, ra.sha256, ra.width, ra.height, ra.format, ra.capturedAt, ra.cameraMake, ra.cameraModel],
    ['ok', sha(7), 647, 480, 'jpeg', '2024-05-01T10:11:12', 'Canon', 'EOS 5D'],
  );
  assert.deepEqual([ra.gpsLat, ra.gpsLon, ra.orientation, ra.thumbnail, ra.error], [51.5, -0.12, 6, 'thumbs/00/1.webp', null]);
  assert.equal(t.store.getImage(b)!.status, 'failed');
  assert.deepEqual(
    t.store.listFailures().map((f) => [f.imageId, f.path, f.error]),
    [[b, '/ev/b.png', 'unsupported image format']],
  );
  assert.deepEqual(t.store.countImages(), { total: 2, pending: 0, ok: 1, failed: 1 });
  assert.deepEqual(t.store.listImages({ status: 'ok' }).map((r) => r.id), [a]);
  assert.deepEqual(t.store.getImageByPath('/ev/b.png')?.id, b);
  assert.equal(t.store.getImageByPath('/ev/missing.png'), undefined);
});

test('a failure after a successful ingest drops the old vectors', () => {
  const id = t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [embedding('pack', 'float16', 8, 1, rng(2))]));
  t.store.markImageFailed(id, 'truncated file');
  assert.equal(t.store.countEmbeddings(), 0);
  assert.equal(t.store.getImage(id)!.error, 'truncated file');
});

test('bad arguments are refused with messages naming them', () => {
  assert.throws(() => t.store.upsertPendingImage(file('relative/a.jpg')), /path must be absolute, got 'relative\/a.jpg'/);
  assert.throws(() => t.store.upsertPendingImage(file('/ev/a.jpg', -1)), /invalid size -1/);
  const id = t.store.upsertPendingImage(file('/ev/a.jpg'));
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), sha256: 'ABC' }), /sha256 must be 64 lower-case hex/);
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), width: 0 }), /invalid width 0/);
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), orientation: 9 }), /orientation 9/);
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), gpsLat: 91 }), /gpsLat 91 is outside/);
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), thumbnail: '/abs/t.webp' }), /thumbnail must be a path relative/);
  assert.throws(() => t.store.markImageOk(id, { ...meta(1), thumbnail: '../t.webp' }), /thumbnail must be a path relative/);
  assert.throws(() => t.store.markImageOk(999, meta(1)), /markImageOk: no image with id 999/);
  assert.throws(() => t.store.markImageFailed(id, ''), /error text must be non-empty/);
  assert.equal(t.store.getImage(id)!.status, 'pending');
});

test('moveImage re-points the row, keeps vectors, and refuses a path already catalogued', () => {
  const id = t.store.commitIngestedImage(ingested('/ev/old/a.jpg', 3, [embedding('pack', 'float32', 8, 3, rng(3))]));
  const other = t.store.upsertPendingImage(file('/ev/b.jpg'));
  assert.deepEqual(t.store.findImagesBySha256(sha(3)).map((r) => r.id), [id]);
  t.store.moveImage(id, '/ev/new/a.jpg', 1003, 5000);
  const row = t.store.getImage(id)!;
  assert.deepEqual([row.path, row.size, row.mtimeMs, row.status, row.sha256], ['/ev/new/a.jpg', 1003, 5000, 'ok', sha(3)]);
  assert.equal(t.store.getImageByPath('/ev/old/a.jpg'), undefined);
  assert.equal(t.store.countEmbeddings('pack'), 1);
  assert.throws(() => t.store.moveImage(other + 100, '/ev/c.jpg', 1, 1), /no image with id/);

  // A placeholder queued at the destination gives way; the moved image keeps its id and vectors.
  t.store.moveImage(id, '/ev/b.jpg', 1003, 6000);
  assert.equal(t.store.getImage(other), undefined);
  assert.equal(t.store.getImageByPath('/ev/b.jpg')!.id, id);
  assert.equal(t.store.countEmbeddings('pack'), 1);

  // An ingested image at the destination does not.
  const third = t.store.commitIngestedImage(ingested('/ev/c.jpg', 4, []));
  assert.throws(() => t.store.moveImage(id, '/ev/c.jpg', 1, 1), new RegExp(`/ev/c.jpg is already catalogued as image ${third}`));
  assert.equal(t.store.getImageByPath('/ev/b.jpg')!.id, id);

  // Nor does a placeholder carrying an analyst's note (a tagged file that changed on disk).
  const noted = t.store.upsertPendingImage(file('/ev/d.jpg'));
  t.store.setNote(t.store.createCase({ name: 'K' }).id, noted, 'keep');
  assert.throws(() => t.store.moveImage(id, '/ev/d.jpg', 1, 1), /\/ev\/d.jpg is held by image \d+, which a case has tagged or annotated/);
  assert.equal(t.store.getImageByPath('/ev/b.jpg')!.id, id);
});

test('getImages returns rows in the order asked and skips unknown ids', () => {
  const ids = ['/ev/1.jpg', '/ev/2.jpg', '/ev/3.jpg'].map((p) => t.store.upsertPendingImage(file(p)));
  assert.deepEqual(t.store.getImages([ids[2], 9999, ids[0]]).map((r) => r.path), ['/ev/3.jpg', '/ev/1.jpg']);
  assert.deepEqual(t.store.getImages([]), []);
});

test('listImages pages by id', () => {
  const ids = Array.from({ length: 7 }, (_, i) => t.store.upsertPendingImage(file(`/ev/${i}.jpg`)));
  assert.deepEqual(t.store.listImages({ limit: 3, offset: 2 }).map((r) => r.id), ids.slice(2, 5));
  assert.deepEqual(t.store.listImages({ status: 'pending', limit: 100 }).map((r) => r.id), ids);
  assert.deepEqual(t.store.listImages({ status: 'failed' }), []);
});

test('deleteImage cascades to embeddings but refuses while a case tags the image', () => {
  const id = t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [embedding('pack', 'float32', 8, 2, rng(4))]));
  const c = t.store.createCase({ name: 'Case', categories: ['weapon'] });
  const [cat] = t.store.listCategories(c.id);
  t.store.tagImage({ caseId: c.id, imageId: id, categoryId: cat.id });
  assert.throws(() => t.store.deleteImage(id), /deleteImage\(\d+\): the image is tagged or annotated in a case/);
  assert.equal(t.store.countEmbeddings(), 1);
  t.store.untagImage({ caseId: c.id, imageId: id, categoryId: cat.id });
  t.store.deleteImage(id);
  assert.equal(t.store.getImage(id), undefined);
  assert.equal(t.store.countEmbeddings(), 0);
});

test('commitIngestedImage writes image and embeddings together, or nothing', () => {
  const good = ingested('/ev/a.jpg', 1, [embedding('pack', 'float32', 8, 2, rng(5))]);
  const id = t.store.commitIngestedImage(good);
  assert.equal(t.store.getImage(id)!.status, 'ok');
  assert.equal(t.store.getEmbedding(id, 'pack')!.nVectors, 2);

  // An embedding for an unregistered pack fails validation before anything is written.
  const bad = ingested('/ev/b.jpg', 2, [embedding('nope', 'float32', 8, 1, rng(6))]);
  assert.throws(() => t.store.commitIngestedImage(bad), /model pack 'nope' is not registered/);
  assert.equal(t.store.getImageByPath('/ev/b.jpg'), undefined);

  // A batch is one transaction: a constraint failing in the middle leaves none of it behind.
  const batch = [ingested('/ev/c.jpg', 3, []), ingested('/ev/d.jpg', 4, [])];
  t.store.registerPack({ id: 'gone', version: '1', name: 'Gone', dim: 8, manifest: {} });
  batch[1].embeddings = [embedding('gone', 'float32', 8, 1, rng(7))];
  // Re-registering with another dim is allowed while the pack has no vectors, which invalidates the batch.
  t.store.registerPack({ id: 'gone', version: '2', name: 'Gone', dim: 4, manifest: {} });
  assert.throws(() => t.store.commitIngestedImages(batch), /dim 8 does not match the pack's dim 4/);
  assert.equal(t.store.getImageByPath('/ev/c.jpg'), undefined);

  const ids = t.store.commitIngestedImages([ingested('/ev/c.jpg', 3, []), ingested('/ev/a.jpg', 1, good.embeddings)]);
  assert.equal(ids[1], id, 'an already catalogued path keeps its id');
  assert.deepEqual(t.store.countImages(), { total: 2, pending: 0, ok: 2, failed: 0 });
});

test('an invalid embedding leaves the earlier pending row untouched', () => {
  const id = t.store.upsertPendingImage(file('/ev/a.jpg', 1001, 1_700_000_000_001));
  const bad = { ...embedding('pack', 'float32', 8, 2, rng(8)), explicitScore: 2 };
  assert.throws(() => t.store.commitIngestedImage(ingested('/ev/a.jpg', 1, [bad])), /explicitScore 2 is outside 0..1/);
  assert.equal(t.store.getImage(id)!.status, 'pending');
  assert.equal(t.store.countEmbeddings(), 0);
});

test('a write failing inside SQLite rolls back the whole ingest batch', () => {
  // The API validates everything up front, so inject the failure below it: a trigger (added through a second
  // connection) that aborts the embedding insert of the batch's second image.
  const raw = new Database(t.file);
  raw.exec(`CREATE TRIGGER inject_failure BEFORE INSERT ON embeddings
    WHEN NEW.image_id = (SELECT id FROM images WHERE path = '/ev/d.jpg')
    BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  raw.close();
  const e = () => [embedding('pack', 'float16', 8, 2, rng(9))];
  assert.throws(
    () => t.store.commitIngestedImages([ingested('/ev/c.jpg', 3, e()), ingested('/ev/d.jpg', 4, e())]),
    /injected failure/,
  );
  assert.equal(t.store.getImageByPath('/ev/c.jpg'), undefined);
  assert.equal(t.store.getImageByPath('/ev/d.jpg'), undefined);
  assert.equal(t.store.countEmbeddings(), 0);
  assert.equal(t.store.commitIngestedImages([ingested('/ev/c.jpg', 3, e())]).length, 1);
  assert.equal(t.store.countEmbeddings(), 1);
});
