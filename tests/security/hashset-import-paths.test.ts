// Hostile paths and hostile content handed to the app's importHashSet, through the shared dispatch both hosts call,
// on a real AppService and catalog. The rule (electron/engine/app/hashSetImports.ts): an absolute path, resolved
// through its links, that is neither in the catalog's data folder nor the catalog or its journal files, naming a
// regular file; what an error quotes of the file is at most 40 characters with every control, C1 and bidi
// character escaped; the readers never read past the size the file had when opened. Each attack below is
// performed and refused, and no set is left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import { createAppService, type AppService } from '../../electron/engine/app/AppService.ts';
import type { ApiError } from '../../electron/shared/api.ts';
import { dispatch } from '../../electron/shared/protocol/dispatch.ts';
import { readTextList } from '../../electron/engine/hashsets/textList.ts';

const context = { chooseFolder: async () => null, log: { warn: () => undefined, error: () => undefined } };
/** Characters a terminal or the UI would act on: C0, DEL, C1, bidi overrides and isolates, line separators. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;
const ATTACK = '\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u202egnp.exe\u009b31m';

let dir: string;
let catalogPath: string;
let service: AppService;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quari-sec-hashset-paths-'));
  catalogPath = join(dir, 'catalog.sqlite');
  service = await createAppService({ catalogPath, dataHome: join(dir, 'home') });
});
after(async () => {
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function refused(input: Record<string, unknown>): Promise<ApiError> {
  const r = await dispatch(service, 'importHashSet', [input], context);
  assert.equal(r.ok, false, `${JSON.stringify(input)} was imported`);
  const sets = await dispatch(service, 'listHashSets', [], context);
  assert.ok(sets.ok);
  assert.deepEqual((sets.value as { sets: unknown[] }).sets, [], 'no set is left behind');
  return (r as { ok: false; error: ApiError }).error;
}

test('relative paths and paths carrying control characters never reach the engine', async () => {
  const relative = await refused({ path: 'hashes.txt' });
  assert.equal(relative.code, 'bad-request');
  assert.match(relative.message, /importHashSet: argument 1\.path: must be an absolute file path/);
  const control = await refused({ path: `${dir}/a\u0000b.txt` });
  assert.match(control.message, /argument 1\.path: contains control characters/);
  const long = await refused({ path: `/${'a'.repeat(100_000)}` });
  assert.match(long.message, /argument 1\.path: must be at most \d+ characters/);
});

test("a link into the catalog's data folder, and the catalog's own files, are refused", async () => {
  const data = catalogDataDir(catalogPath);
  mkdirSync(join(data, 'thumbs'), { recursive: true });
  writeFileSync(join(data, 'thumbs', 'list.txt'), `${'ab'.repeat(16)}\n`);
  symlinkSync(join(data, 'thumbs', 'list.txt'), join(dir, 'innocent.txt'));
  const viaLink = await refused({ path: join(dir, 'innocent.txt') });
  assert.equal(viaLink.code, 'bad-request');
  assert.match(viaLink.message, /innocent\.txt lies in the catalog's own data folder/);
  for (const own of [catalogPath, `${catalogPath}-wal`]) {
    const e = await refused({ path: own, format: 'text' });
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, /is the catalog itself \(or its journal\), not a hash set/);
  }
});

test('a device, a directory and a FIFO are refused at once, named as what they are', async () => {
  symlinkSync('/dev/zero', join(dir, 'zero.txt'));
  const device = await refused({ path: join(dir, 'zero.txt'), format: 'text' });
  assert.equal(device.code, 'bad-request');
  assert.match(device.message, /\/dev\/zero: is a device; only regular files are accepted/);
  mkdirSync(join(dir, 'folder.json'));
  assert.match((await refused({ path: join(dir, 'folder.json') })).message, /folder\.json: is a folder; only regular files are accepted/);
  if (spawnSync('mkfifo', [join(dir, 'pipe.txt')]).status === 0) {
    assert.match((await refused({ path: join(dir, 'pipe.txt'), format: 'text' })).message, /pipe\.txt: is a FIFO; only regular files are accepted/);
  }
});

test('a list line of 100 KB of escape sequences is quoted in 40 escaped characters', async () => {
  const file = join(dir, 'escapes.txt');
  // No white space, ',' or ';' in it: the whole line is one token (those separate a hash from a file name).
  const line = '\u001b[2J\u202egnp.exe\u009b31m\u0007'.repeat(10_000);
  writeFileSync(file, `${'ab'.repeat(16)}\n${line}\n`);
  const e = await refused({ path: file });
  assert.equal(e.code, 'bad-request');
  assert.match(e.message, /escapes\.txt: line 2: '\\u001b\[2J\\u202egnp\.exe\\u009b31m\\u0007.*…' is not a hex MD5/);
  assert.doesNotMatch(e.message, RAW_CONTROL);
  assert.ok(e.message.length < dir.length + 200, `message of ${e.message.length} characters`);
});

test('VICS metadata, MediaID and Category strings made of escape sequences are quoted short and escaped', async () => {
  const cases: [string, object, RegExp][] = [
    ['metadata.json', { 'odata.metadata': ATTACK.repeat(5000), value: [] }, /the OData metadata '\\u001b.*…' names no VICS data-model version/],
    [
      'category.json',
      { '@odata.context': 'http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media', value: [{ MediaID: ATTACK.repeat(5000), MD5: 'ab'.repeat(16), Category: ATTACK.repeat(5000) }] },
      /value\[0\] \(MediaID '\\u001b.*…'\): Category '\\u001b.*…' is not an integer 0\.\.99/,
    ],
  ];
  for (const [name, doc, pattern] of cases) {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(doc));
    const e = await refused({ path: file });
    assert.equal(e.code, 'bad-request', name);
    assert.match(e.message, pattern, name);
    assert.doesNotMatch(e.message, RAW_CONTROL, name);
    assert.ok(e.message.length < dir.length + 300, `${name}: message of ${e.message.length} characters`);
  }
});

test("an SQLite file whose table names are escape sequences is refused naming them escaped", async () => {
  const file = join(dir, 'tables.db');
  const db = new Database(file);
  db.exec(`CREATE TABLE "${ATTACK.repeat(200).replaceAll('"', '""')}" (x)`);
  db.close();
  const e = await refused({ path: file });
  assert.equal(e.code, 'bad-request');
  assert.match(e.message, /tables\.db: an SQLite file without the RDS v3 FILE table \(it has: '\\u001b.*…'\)/);
  assert.doesNotMatch(e.message, RAW_CONTROL);
});

test('a list appended to while it is read is refused once it passes the size it had when opened', () => {
  const file = join(dir, 'growing.txt');
  const line = `${'ab'.repeat(16)}\n`;
  writeFileSync(file, line.repeat(40_000)); // 1.3 MB: more than one 1 MiB read
  const records = readTextList(file)[Symbol.iterator]();
  assert.equal(records.next().done, false);
  appendFileSync(file, line.repeat(100_000)); // a writer keeps appending (here: once, 3.3 MB)
  assert.throws(() => {
    for (let r = records.next(); !r.done; r = records.next());
  }, /growing\.txt grew while it was read \(more than the 1320000 bytes it had when opened\)/);
});
