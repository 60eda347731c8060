// Known files in case exports (issue 12.3), through the real CLI on a real catalog with imported plain-text hash
// sets: every item of the court report, CSV and JSON carries its set matches (name, kind); --hide-known-ignorable
// leaves out the files in ignorable sets only, keeps a file an of-interest set also lists, and says how many it left
// out; the API's exportCase refuses option values of the wrong type.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../db/CatalogStore.ts';
import { ValidationError, validateArgs } from '../../electron/shared/protocol/validate.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const quari = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin/quari.mjs'), ...args], { encoding: 'utf8', cwd: repo });
const root = mkdtempSync(join(tmpdir(), 'quari-export-known-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('case exports badge known-set matches and leave known-ignorable files out only on request, with the count', () => {
  const file = join(root, 'known.quari');
  const store = openCatalog(file);
  const sha = (c: string) => c.repeat(64);
  const image = (c: string, path: string) => store.commitIngestedImage({ path, size: 10, mtimeMs: 1, meta: { sha256: sha(c), width: 4, height: 4, format: 'jpeg', thumbnail: null, capturedAt: null }, embeddings: [] });
  const osFile = image('a', '/evidence/<os>.jpg');
  const flagged = image('b', '/evidence/flagged.jpg');
  const plain = image('c', '/evidence/plain.jpg');
  const kase = store.createCase({ name: 'Known', description: '', categories: ['Relevant'] });
  const [relevant] = store.listCategories(kase.id);
  for (const imageId of [osFile, flagged, plain]) store.tagImage({ caseId: kase.id, imageId, categoryId: relevant!.id, searchId: null });
  store.close();
  // 'b' is in both sets: of interest wins, so it is never hidden.
  writeFileSync(join(root, 'os.txt'), `${sha('a')}\n${sha('b')}\n`);
  writeFileSync(join(root, 'flagged.txt'), `${sha('b')}\n`);
  assert.equal(quari('hashset', 'import', join(root, 'os.txt'), '--catalog', file, '--name', 'OS <files>', '--kind', 'ignorable', '--json').status, 0);
  assert.equal(quari('hashset', 'import', join(root, 'flagged.txt'), '--catalog', file, '--name', 'Flagged', '--json').status, 0);

  const exported = (format: string, ...flags: string[]) => {
    const out = join(root, `case-${format}${flags.length ? '-hidden' : ''}.${format}`);
    const r = quari('case', 'export', '--catalog', file, '--case', 'Known', '--format', format, '--out', out, ...flags);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(out, 'utf8');
  };

  const html = exported('html');
  assert.ok(html.includes('<span class="known ignorable">OS &#60;files&#62; (ignorable)</span>'), 'ignorable badge, escaped');
  assert.ok(html.includes('<span class="known ignorable">OS &#60;files&#62; (ignorable)</span> <span class="known of-interest">Flagged (of-interest)</span>'), 'both sets of the flagged file');
  assert.ok(html.includes('in no imported hash set'), 'an unknown file says so');
  assert.doesNotMatch(html, /left out/, 'nothing left out without the option');
  const hiddenHtml = exported('html', '--hide-known-ignorable');
  assert.ok(!hiddenHtml.includes('&#60;os&#62;.jpg') && hiddenHtml.includes('/evidence/flagged.jpg') && hiddenHtml.includes('/evidence/plain.jpg'));
  assert.match(hiddenHtml, /2 tagged images · .* · 1 known-ignorable file left out<\/span>/);

  const csv = exported('csv').split('\r\n');
  assert.ok(csv[0]!.endsWith(',note,known_sets'));
  assert.ok(csv.find((l) => l.includes('flagged.jpg'))!.endsWith(',OS <files> (ignorable); Flagged (of-interest)'));
  assert.ok(csv.find((l) => l.includes('plain.jpg'))!.endsWith(','), 'no sets: an empty field');
  const hiddenCsv = exported('csv', '--hide-known-ignorable').split('\r\n');
  assert.ok(!hiddenCsv.some((l) => l.includes('<os>.jpg')));
  assert.equal(hiddenCsv.at(-2), '1 known-ignorable file left out');

  const json = JSON.parse(exported('json'));
  assert.equal(json.knownIgnorableLeftOut, 0);
  assert.deepEqual(json.items.find((i: { imageId: number }) => i.imageId === flagged).known.map((m: { setName: string; kind: string; category: null }) => [m.setName, m.kind, m.category]), [['OS <files>', 'ignorable', null], ['Flagged', 'of-interest', null]]);
  const hiddenJson = JSON.parse(exported('json', '--hide-known-ignorable'));
  assert.deepEqual(hiddenJson.items.map((i: { imageId: number }) => i.imageId).sort(), [flagged, plain].sort());
  assert.equal(hiddenJson.knownIgnorableLeftOut, 1);

  const vics = quari('case', 'export', '--catalog', file, '--case', 'Known', '--format', 'vics', '--out', join(root, 'v.json'), '--hide-known-ignorable');
  assert.equal(vics.status, 2, 'a VICS export never leaves files out');
  assert.match(vics.stderr, /--hide-known-ignorable applies to --format html, csv or json/);
});

test('exportCase refuses a hideKnownIgnorable that is not a boolean, and on vics', () => {
  assert.deepEqual(validateArgs('exportCase', [{ caseId: 1, format: 'csv', hideKnownIgnorable: true }]), [{ caseId: 1, format: 'csv', hideKnownIgnorable: true }]);
  assert.deepEqual(validateArgs('exportCase', [{ caseId: 1, format: 'csv' }]), [{ caseId: 1, format: 'csv' }]);
  for (const [value, pattern] of [['yes', /hideKnownIgnorable/], [1, /hideKnownIgnorable/], [null, /hideKnownIgnorable/]] as const) {
    assert.throws(() => validateArgs('exportCase', [{ caseId: 1, format: 'html', hideKnownIgnorable: value }]), (err: unknown) => err instanceof ValidationError && pattern.test(err.message));
  }
  assert.throws(() => validateArgs('exportCase', [{ caseId: 1, format: 'vics', hideKnownIgnorable: true }]), /hideKnownIgnorable: applies to the html, csv and json reports/);
});
