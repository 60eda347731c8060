// Hostile hash-set files through the real `quari hashset import` CLI (a child process with a time limit, so a hang
// fails the test instead of stalling the suite): an NSRL RDS whose FILE or VERSION is a recursive view (its SQL
// would run for ever) or whose VERSION is a megabyte of text (stored with the set and sent by every listing), a
// FIFO handed over as a hash set (a blocking open would freeze the host's main thread), and
// VICS JSON nested a million levels deep or repeating a case's Media array (memory beyond the per-record bound).
// Each is refused naming the file, and the catalog keeps no set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';

const CLI = fileURLToPath(new URL('../../bin/quari.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'quari-sec-hashsets-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const haveMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
let n = 0;

/** Runs `quari hashset import file` into a fresh catalog; returns its exit status, stderr and the sets it kept. */
function importFile(file: string): { status: number | null; stderr: string; sets: number } {
  const catalog = join(root, `catalog-${++n}.db`);
  const r = spawnSync(process.execPath, [CLI, 'hashset', 'import', file, '--catalog', catalog], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.signal, 'SIGTERM', `${file}: import still running after 30 s (hung)`);
  let sets = 0;
  try {
    const c = openCatalog(catalog);
    sets = c.listHashSets().length;
    c.close();
  } catch {
    // no catalog was created
  }
  return { status: r.status, stderr: r.stderr, sets };
}

/** An SQLite file built from `sql`. */
function sqliteFile(name: string, sql: string): string {
  const file = join(root, name);
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return file;
}

const ENDLESS = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)`;

test('an RDS whose FILE is a recursive view is refused without running it', () => {
  const file = sqliteFile('view-file.db', `CREATE VIEW FILE AS ${ENDLESS} SELECT printf('%064x', x) AS sha256 FROM c;`);
  const r = importFile(file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /view-file\.db: FILE is a view, not a table/);
  assert.equal(r.sets, 0);
});

test('an RDS whose VERSION is a recursive view is refused without running it', () => {
  const file = sqliteFile(
    'view-version.db',
    `CREATE TABLE FILE (sha256 TEXT); INSERT INTO FILE VALUES ('${'ab'.repeat(32)}');
     CREATE VIEW VERSION AS ${ENDLESS} SELECT max(x) AS version FROM c;`,
  );
  const r = importFile(file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /view-version\.db: VERSION is a view, not a table/);
  assert.equal(r.sets, 0);
});

test('an RDS whose VERSION is a megabyte long, or carries control characters, is refused', () => {
  for (const [name, version, message] of [
    ['long-version.db', `2024.03.1${'x'.repeat(1024 * 1024)}`, /long-version\.db: VERSION\.version is 1048585 characters, more than 64/],
    ['csi-version.db', '2024.03.1\u009b2J\u202e', /csi-version\.db: VERSION\.version contains control characters/],
  ] as const) {
    const file = sqliteFile(name, `CREATE TABLE FILE (sha256 TEXT); INSERT INTO FILE VALUES ('${'ab'.repeat(32)}'); CREATE TABLE VERSION (version TEXT);`);
    const db = new Database(file);
    db.prepare('INSERT INTO VERSION VALUES (?)').run(version);
    db.close();
    const r = importFile(file);
    assert.equal(r.status, 1, name);
    assert.match(r.stderr, message);
    assert.equal(r.sets, 0);
  }
});

test('a FIFO handed over as a hash set is refused at once', { skip: !haveMkfifo && 'no mkfifo' }, () => {
  const fifo = join(root, 'list.txt');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const r = importFile(fifo);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /list\.txt: is a FIFO; only regular files are accepted/);
});

const VICS_HEAD = '{"odata.metadata":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/1.3.xml#Cases","value":[';
const MEDIA = JSON.stringify({ MD5: 'ab'.repeat(16), Category: 1 });

test('VICS JSON nested a million levels deep inside one record is refused', () => {
  const file = join(root, 'deep.json');
  const depth = 1_000_000;
  writeFileSync(file, `${VICS_HEAD}{"Media":[{"MD5":"${'ab'.repeat(16)}","x":${'['.repeat(depth)}${']'.repeat(depth)}}]}]}`);
  const r = importFile(file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /deep\.json: nesting deeper than 64 levels/);
  assert.equal(r.sets, 0);
});

test('a VICS case repeating its Media key (junk piling up between the arrays) is refused', () => {
  const file = join(root, 'dup.json');
  const junk = 'x'.repeat(1024);
  writeFileSync(file, `${VICS_HEAD}{"j1":"${junk}","Media":[${MEDIA}],"j2":"${junk}","Media":[${MEDIA}]}]}`);
  const r = importFile(file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /dup\.json: value\[0\] has more than one Media array/);
  assert.equal(r.sets, 0);
});
