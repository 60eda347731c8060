// `quari case export --out` never writes into an evidence folder (issue 11.1's guarantee on the CLI side), also when
// --out reaches it through a symbolic link to the folder: the check is made on the real path of --out's folder, so
// a link planted beside the analyst's reports cannot turn an export into an overwrite of an evidence photo. Its
// human-readable line escapes the case name (the API admits C1 and bidi characters in names; on a terminal U+009B
// starts an escape sequence and U+202E reorders the line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../db/CatalogStore.ts';

const CLI = fileURLToPath(new URL('../../bin/quari.mjs', import.meta.url));
const root = realpathSync(mkdtempSync(join(tmpdir(), 'quari-sec-export-out-')));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('an --out through a symlinked folder into the evidence folder is refused and the evidence photo is untouched', () => {
  const evidence = join(root, 'evidence');
  mkdirSync(evidence);
  const photo = join(evidence, 'photo.jpg');
  const original = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
  writeFileSync(photo, original);
  const catalog = join(root, 'catalog.quari');
  const store = openCatalog(catalog);
  store.createCase({ name: 'C', categories: ['Relevant'] });
  store.startIngestRun(evidence);
  store.close();
  mkdirSync(join(root, 'reports'));
  symlinkSync(evidence, join(root, 'reports', 'latest'));

  const r = spawnSync(process.execPath, [CLI, 'case', 'export', '--catalog', catalog, '--case', 'C', '--format', 'html', '--out', join(root, 'reports', 'latest', 'photo.jpg')], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /lies inside the evidence folder/);
  assert.deepEqual(readFileSync(photo), original, 'the evidence photo keeps its bytes');
});

test('the human-readable export line escapes C1 and bidi characters of the case name', () => {
  const catalog = join(root, 'names.quari');
  const store = openCatalog(catalog);
  store.createCase({ name: 'Lamp \u009b2J\u202eevil', categories: ['Relevant'] });
  store.close();
  const out = join(root, 'names.html');
  const r = spawnSync(process.execPath, [CLI, 'case', 'export', '--catalog', catalog, '--case', '1', '--format', 'html', '--out', out], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /[\u0080-\u009f\u202a-\u202e]/, 'no raw C1 or bidi character reaches the terminal');
  assert.match(r.stdout, /case 1 'Lamp \\u009b2J\\u202eevil' as html/);
});
