// Hash-set import on a real catalog file: NSRL RDS v3 (generated SQLite from the published schema), VICS JSON 1.3
// and 2.0, plain lists; matching by each hash kind, re-matching when an image is ingested or its bytes change,
// one transaction per import (every malformed input leaves the catalog exactly as it was), and the CLI contract.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { syntheticRdsRows, writeRdsFile, writeVicsFile } from '../../bench/hashset-files.ts';
import { importHashSetFile } from '../../electron/engine/hashsets/importFile.ts';
import { ingested, tempCatalog, type TempCatalog } from './db-fixtures.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

let t: TempCatalog;
let images: { id: number; md5: string; sha1: string; sha256: string }[];
beforeEach(() => {
  t = tempCatalog();
  images = [];
  for (let n = 1; n <= 6; n++) {
    const h = { md5: hex(16), sha1: hex(20), sha256: hex(32) };
    const img = ingested(join(t.dir, `ev/${n}.jpg`), n, []);
    const id = t.store.commitIngestedImage({ ...img, meta: { ...img.meta, ...h } });
    images.push({ id, ...h });
  }
});
afterEach(() => t.dispose());

/** Rows of the hash-set tables, read straight from the file. */
function tableCounts(): Record<string, number> {
  const db = new Database(t.file, { readonly: true });
  try {
    return Object.fromEntries(
      ['hash_sets', 'hash_set_entries', 'known_matches'].map((tb) => [tb, db.prepare(`SELECT count(*) FROM ${tb}`).pluck().get() as number]),
    );
  } finally {
    db.close();
  }
}

test('RDS v3, VICS 1.3 and 2.0 and text sets match images by SHA-256, SHA-1 and MD5, with categories and kinds', async () => {
  const rds = join(t.dir, 'rds.db');
  const rows = [...syntheticRdsRows(200, 5)];
  // Image 1 is a known OS file; a repeated hash (the same file in two packages) is stored once.
  rows.push({ sha256: images[0]!.sha256, sha1: images[0]!.sha1, md5: images[0]!.md5, fileName: 'kernel32.dll', fileSize: 10 });
  rows.push({ sha256: images[0]!.sha256, sha1: images[0]!.sha1, md5: images[0]!.md5, fileName: 'kernel32.dll', fileSize: 10, packageId: 2 });
  writeRdsFile(rds, rows);
  const nsrl = await importHashSetFile(t.store, rds, { name: 'NSRL modern' });
  assert.deepEqual([nsrl.format, nsrl.kind, nsrl.version, nsrl.records, nsrl.hashCount, nsrl.matchedImages], ['nsrl-rds3', 'ignorable', '2024.03.1', 202, 201, 1]);

  const v13 = join(t.dir, 'v13.json');
  writeVicsFile(v13, [{ sha1: images[1]!.sha1, category: 1 }, { md5: hex(16), sha1: hex(20), category: 2 }], '1.3');
  const a = await importHashSetFile(t.store, v13);
  assert.deepEqual([a.name, a.format, a.kind, a.version, a.records, a.matchedImages], ['v13.json', 'vics', 'of-interest', '1.3', 2, 1]);

  const v20 = join(t.dir, 'v20.json');
  writeVicsFile(v20, [{ md5: images[2]!.md5, category: '2' }, { md5: images[0]!.md5, sha1: images[0]!.sha1, category: 0 }], '2.0');
  const b = await importHashSetFile(t.store, v20, { name: 'VICS 2' });
  assert.deepEqual([b.version, b.matchedImages], ['2.0', 2]);

  const list = join(t.dir, 'list.txt');
  writeFileSync(list, `# seized earlier\n\n${images[3]!.md5.toUpperCase()}  photo.jpg\n${images[4]!.sha256}\n`);
  const c = await importHashSetFile(t.store, list, { kind: 'ignorable' });
  assert.deepEqual([c.format, c.kind, c.hashCount, c.matchedImages], ['text', 'ignorable', 2, 2]);

  assert.deepEqual(t.store.getKnownMatches(images[1]!.id).map((m) => [m.setName, m.kind, m.category]), [['v13.json', 'of-interest', '1']]);
  assert.deepEqual(t.store.getKnownMatches(images[0]!.id).map((m) => [m.setName, m.category]), [['NSRL modern', null], ['VICS 2', '0']]);
  assert.deepEqual(t.store.getKnownMatches(images[5]!.id), []);
  // Image 1 is in NSRL and in an of-interest set: flagging wins. Images 4, 5 are only in the ignorable list.
  assert.deepEqual(t.store.knownStats(), { sets: 4, ofInterest: 3, ignorable: 2, unknown: 1, ofInterestByCategory: { '0': 1, '1': 1, '2': 1 } });
});

test('every new ingest is re-matched; changed bytes drop the match; deleting a set drops its matches', async () => {
  const known = { md5: hex(16), sha1: hex(20), sha256: hex(32) };
  const list = join(t.dir, 'list.txt');
  writeFileSync(list, `${known.sha1}\n`);
  const set = await importHashSetFile(t.store, list, { name: 'later' });
  assert.equal(set.matchedImages, 0);
  const img = ingested(join(t.dir, 'ev/new.jpg'), 99, []);
  const id = t.store.commitIngestedImage({ ...img, meta: { ...img.meta, ...known } });
  assert.deepEqual(t.store.getKnownMatches(id).map((m) => m.setName), ['later']);
  assert.equal(t.store.listHashSets()[0]!.matchedImages, 1);
  t.store.upsertPendingImage({ path: img.path, size: img.size + 1, mtimeMs: img.mtimeMs });
  assert.deepEqual(t.store.getKnownMatches(id), [], 'bytes changed: the old hashes no longer describe the file');
  t.store.commitIngestedImage({ ...img, meta: { ...img.meta, ...known } });
  t.store.markImageFailed(id, 'now corrupt');
  assert.deepEqual(t.store.getKnownMatches(id), []);
  t.store.deleteHashSet(set.id);
  assert.deepEqual(tableCounts(), { hash_sets: 0, hash_set_entries: 0, known_matches: 0 });
});

test('malformed input of every importer is refused with the record or line named, leaving nothing imported', async () => {
  const cases: [string, () => void, RegExp, Record<string, unknown>?][] = [
    ['garbage.db', () => writeFileSync(join(t.dir, 'garbage.db'), Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(4000)])), /garbage\.db: (not a readable NSRL RDS v3 SQLite file|cannot be opened).*(malformed|not a database)/],
    ['other.db', () => new Database(join(t.dir, 'other.db')).exec('CREATE TABLE x (y)').close(), /other\.db: an SQLite file without the RDS v3 FILE table \(it has: 'x'\)/],
    ['badrow.db', () => writeRdsFile(join(t.dir, 'badrow.db'), [...syntheticRdsRows(3), { sha256: 'zz'.repeat(32), sha1: hex(20), md5: hex(16), fileName: 'a', fileSize: 1 }]), /badrow\.db: FILE row 4: SHA-256 'ZZZZ.*' is not 64 hex digits/],
    ['cut.json', () => writeFileSync(join(t.dir, 'cut.json'), `{"@odata.context":"x/DataModels/2.0.xml/US/$metadata#Media","value":[{"MD5":"${hex(16)}"},{"MD5":`), /cut\.json: the JSON ends early/],
    ['bad.json', () => writeFileSync(join(t.dir, 'bad.json'), `{"@odata.context":"x/DataModels/2.0.xml/US/$metadata#Media","value":[{"MD5":"${hex(16)}"} {]}`), /bad\.json: not valid JSON in bytes 0\.\.\d+/],
    ['v11.json', () => writeVicsFile(join(t.dir, 'v11.json'), [{ md5: hex(16) }], '1.1'), /v11\.json: unknown VICS version 1\.1 \(this reader knows 1\.3 and 2\.0\)/],
    ['hex.json', () => writeVicsFile(join(t.dir, 'hex.json'), [{ md5: hex(16) }, { md5: hex(16), sha1: 'not-a-sha1' }], '1.3'), /hex\.json: value\[0\]\.Media\[1\] \(MediaID 2\): SHA-1 'NOT-A-SHA1' is not 40 hex digits/],
    ['cat.json', () => writeVicsFile(join(t.dir, 'cat.json'), [{ md5: hex(16), category: 'CAM' }]), /cat\.json: value\[0\] \(MediaID 1\): Category 'CAM' is not an integer/],
    ['nohash.json', () => writeVicsFile(join(t.dir, 'nohash.json'), [{ md5: hex(16) }, {}]), /nohash\.json: value\[1\] \(MediaID 2\): no MD5, SHA-1 or SHA-256/],
    ['list.txt', () => writeFileSync(join(t.dir, 'list.txt'), `${hex(16)}\n${hex(20)}\n${hex(15)}g\n`), /list\.txt: line 3: '[0-9a-f]{30}g' is not a hex MD5/],
    ['len.txt', () => writeFileSync(join(t.dir, 'len.txt'), `${hex(16)}\n${hex(10)}\n`), /len\.txt: line 2: .* is not a hex MD5, SHA-1 or SHA-256 \(length 20\)/],
    ['typed.txt', () => writeFileSync(join(t.dir, 'typed.txt'), `${hex(16)}\n${hex(20)}\n`), /typed\.txt: line 2: MD5 '[0-9a-f]{40}' is not 32 hex digits/, { hashType: 'md5' }],
  ];
  const before = tableCounts();
  for (const [name, make, pattern, options] of cases) {
    make();
    await assert.rejects(importHashSetFile(t.store, join(t.dir, name), options), pattern, name);
    assert.deepEqual(tableCounts(), before, `${name} left nothing behind`);
  }
  // A name already taken is refused too, and the first set stays as it was.
  writeFileSync(join(t.dir, 'ok.txt'), `${images[0]!.md5}\n`);
  await importHashSetFile(t.store, join(t.dir, 'ok.txt'), { name: 'Set' });
  await assert.rejects(importHashSetFile(t.store, join(t.dir, 'ok.txt'), { name: 'set' }), /hash set 'set' already exists/);
  assert.equal(t.store.listHashSets().length, 1);
});

test('CLI: `quari hashset import` ends with the contract JSON line and `quari stats --json` carries "known"', async () => {
  const rds = join(t.dir, 'nsrl.db');
  writeRdsFile(rds, [...syntheticRdsRows(50), { sha256: images[0]!.sha256, sha1: images[0]!.sha1, md5: images[0]!.md5, fileName: 'x', fileSize: 1 }]);
  t.store.close();
  const quari = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/quari.mjs'), ...args], { encoding: 'utf8', cwd: repo });
  const r = quari('hashset', 'import', rds, '--catalog', t.file, '--name', 'NSRL');
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(
    [last.set, last.format, last.kind, last.records, last.hashes, last.matchedImages],
    ['NSRL', 'nsrl-rds3', 'ignorable', 51, 51, 1],
  );
  assert.match(last.sourceSha256, /^[0-9a-f]{64}$/);
  const s = quari('stats', '--catalog', t.file, '--json');
  assert.equal(s.status, 0, s.stderr);
  assert.deepEqual(JSON.parse(s.stdout).known, { sets: 1, ofInterest: 0, ignorable: 1, unknown: 5, ofInterestByCategory: {}, missingHashes: 0 });
  const bad = quari('hashset', 'import', join(t.dir, 'missing.txt'), '--catalog', t.file);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no such file .*missing\.txt/);
});

test('VICS as public writers spell it: a 1.3 media list (#Media) and a 2.0 case document (#Cases) with string flags', async () => {
  // 1.3 hash sets as IPED reads them (sepinf-inc/IPED ProjectVICHashLookup: "odata.metadata" ".../1.3.xml#Media",
  // value[] of Media); 2.0 cases as case writers emit them (value[] of cases with Media[], flags as "true" strings).
  const media13 = join(t.dir, 'media13.json');
  writeFileSync(media13, JSON.stringify({
    'odata.metadata': 'http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media',
    value: [{ MediaID: 7, Category: 2, MD5: images[0]!.md5.toUpperCase(), SHA1: images[0]!.sha1.toUpperCase(), VictimIdentified: 'false', IsDistributed: 'true', Series: 'S', Tags: '' }],
  }));
  const a = await importHashSetFile(t.store, media13);
  assert.deepEqual([a.version, a.records, a.matchedImages], ['1.3', 1, 1]);
  const cases20 = join(t.dir, 'cases20.json');
  writeFileSync(cases20, JSON.stringify({
    '@odata.context': 'http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases',
    value: [{ CaseID: '{0F8FAD5B-D9CB-469F-A165-70867728950E}', CaseNumber: 'C-1', Media: [
      { MediaID: 1, Category: 1, MD5: images[1]!.md5.toUpperCase(), IsPrecategorized: 'true', PrecategorizationSource: 'NCMEC', DateUpdated: '2023-06-07T02:31:49.8300Z',
        MediaFiles: [{ MD5: images[1]!.md5.toUpperCase(), FileName: 'a.jpg', FilePath: 'C:\\a.jpg', Unallocated: false }] },
    ] }],
  }));
  const b = await importHashSetFile(t.store, cases20);
  assert.deepEqual([b.version, b.records, b.matchedImages], ['2.0', 1, 1]);
  assert.deepEqual(t.store.getKnownMatches(images[1]!.id).map((m) => m.category), ['1']);
});
