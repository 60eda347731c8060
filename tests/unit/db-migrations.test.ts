import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import Database from 'better-sqlite3';
import { configureConnection, openCatalog } from '../../db/CatalogStore.ts';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import { migrate } from '../../db/migrate.ts';
import { MIGRATIONS } from '../../db/migrations/index.ts';
import { ingested, tempCatalog, type TempCatalog } from './db-fixtures.ts';

let t: TempCatalog;
beforeEach(() => {
  t = tempCatalog();
});
afterEach(() => t.dispose());

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
  } finally {
    db.close();
  }
}

test('a new catalog is migrated to the latest version with every table', () => {
  t.store.close();
  const db = new Database(t.file);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  db.close();
  assert.deepEqual(tables(t.file), [
    'audit_log',
    'cases',
    'duplicate_members',
    'duplicate_stacks',
    'embeddings',
    'hash_set_entries',
    'hash_sets',
    'image_tags',
    'images',
    'ingest_runs',
    'known_matches',
    'model_packs',
    'notes',
    'perceptual_hashes',
    'query_images',
    'relevance',
    'search_hits',
    'searches',
    'settings',
    'tag_categories',
  ]);
});

test('connections run in WAL mode with foreign keys, NORMAL sync and a busy timeout', () => {
  const db = new Database(join(t.dir, 'pragmas.sqlite'));
  try {
    configureConnection(db);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
  } finally {
    db.close();
  }
  t.store.close();
  const persisted = new Database(t.file);
  assert.equal(persisted.pragma('journal_mode', { simple: true }), 'wal');
  persisted.close();
});

test('foreign keys are enforced on the store connection', () => {
  assert.throws(() => t.store.setNote(12345, 67890, 'orphan'), /setNote: case 12345 or image 67890 does not exist/);
});

test('re-opening keeps the data and does not re-run migrations', () => {
  t.store.registerPack({ id: 'p', version: '1', name: 'P', dim: 2, manifest: { k: 'v' } });
  const id = t.store.commitIngestedImage(ingested('/evidence/a.jpg', 1, []));
  t.store.close();
  const again = openCatalog(t.file);
  try {
    assert.equal(again.getImage(id)?.path, '/evidence/a.jpg');
    assert.deepEqual(again.listPacks().map((p) => p.manifest), [{ k: 'v' }]);
  } finally {
    again.close();
  }
  const db = new Database(t.file);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  db.close();
});

test('a catalog from a newer build is refused with an error naming the file and both versions', () => {
  t.store.close();
  const db = new Database(t.file);
  db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  db.close();
  assert.throws(
    () => openCatalog(t.file),
    (err: Error) =>
      err.message.includes(t.file) &&
      err.message.includes(`schema version ${MIGRATIONS.length + 5}`) &&
      err.message.includes(`(${MIGRATIONS.length})`),
  );
});

test('a failing migration rolls back completely and leaves the earlier version in place', () => {
  const file = join(t.dir, 'partial.sqlite');
  const db = new Database(file);
  try {
    const ok = { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER);' };
    const bad = { version: 2, name: 'two', sql: 'CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);' };
    assert.throws(() => migrate(db, file, [ok, bad]), /partial\.sqlite: migration 2 \(two\) failed: no such table: nowhere/);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    const names = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all();
    assert.deepEqual(names, ['a']);
    // Fixing the migration lets the catalog continue from version 1.
    assert.equal(migrate(db, file, [ok, { ...bad, sql: 'CREATE TABLE b (y INTEGER);' }]), 2);
  } finally {
    db.close();
  }
});

test('a migration list with a gap is rejected before touching the catalog', () => {
  const db = new Database(':memory:');
  try {
    assert.throws(
      () => migrate(db, ':memory:', [{ version: 2, name: 'two', sql: 'CREATE TABLE b (y INTEGER);' }]),
      /entry 0 \('two'\) has version 2, expected 1/,
    );
    assert.equal(db.pragma('user_version', { simple: true }), 0);
  } finally {
    db.close();
  }
});

test('a file that is not a SQLite database is refused with its path in the message', () => {
  const file = join(t.dir, 'not-a-db.sqlite');
  writeFileSync(file, 'this is plainly not a database, just some text long enough to have a header'.repeat(10));
  assert.throws(() => openCatalog(file), (err: Error) => err.message.startsWith(`Cannot open catalog ${file}`));
});

test('catalogDataDir sits next to the catalog', () => {
  assert.equal(catalogDataDir(t.file), `${t.file}.data`);
});

test('a version-1 catalog is upgraded in place, keeping its data', () => {
  const file = join(t.dir, 'v1.sqlite');
  const db = new Database(file);
  configureConnection(db);
  assert.equal(migrate(db, file, MIGRATIONS.slice(0, 1)), 1);
  db.prepare(`INSERT INTO images (path, size, mtime_ms, added_at, updated_at) VALUES ('/ev/old.jpg', 1, 2, 'a', 'b')`).run();
  db.close();
  assert.ok(!tables(file).includes('settings'));

  const store = openCatalog(file);
  try {
    assert.equal(store.getImageByPath('/ev/old.jpg')?.size, 1);
    assert.equal(store.getSetting('activePackId'), undefined);
    store.setSetting('activePackId', 'mobilenetv2-nsfwjs');
    store.setSetting('blur', { blurAll: false, explicitThreshold: 0.6 });
    store.setSetting('blur', { blurAll: true, explicitThreshold: 0.6 });
    assert.deepEqual(store.getSetting('blur'), { blurAll: true, explicitThreshold: 0.6 });
    assert.throws(() => store.setSetting('x', undefined), /setSetting\(x\): value is not JSON-serialisable/);
  } finally {
    store.close();
  }
  const check = new Database(file, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length);
  check.close();
  const again = openCatalog(file);
  assert.equal(again.getSetting('activePackId'), 'mobilenetv2-nsfwjs');
  again.close();
});
