// Terminal injection (issue 11.8), through the real `quari ingest` and `quari search` CLI: evidence file names
// carrying ESC ] 52 (clipboard write), ESC [ (CSI), CR, LF, C1 CSI (U+009B) and a bidi override are printed as
// visible escapes in human-readable output (one row per hit, no raw control character), while --json gives the
// exact names back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack } from '../integration/ingest-helpers.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'bin', 'quari.mjs');
/** What must never reach the terminal raw (LF only as the line break the CLI itself prints). */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function quari(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, QUARI_HOME: home } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('hostile file names are escaped in human output and exact in JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quari-sec-term-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const evidence = join(dir, 'evidence');
  mkdirSync(evidence);
  const names = [
    'clip\u001b]52;c;cHduZWQ=\u0007.jpg', // OSC 52: sets the clipboard
    'row\nsplit.jpg',
    'cr\rfake  0.9999  forged.jpg',
    'c1\u009b31m.jpg',
    'bidi\u202egpj.exe.jpg',
  ];
  for (const [i, name] of names.entries()) {
    writeFileSync(join(evidence, name), await (await photoLike(500 + i, 320, 240)).jpeg({ quality: 85 }).toBuffer());
  }
  const broken = 'bad\u001b[2J.jpg';
  writeFileSync(join(evidence, broken), 'not a jpeg');
  const pack = await defaultPack();
  const home = join(dir, 'home');
  const catalog = join(dir, 'catalog.sqlite');

  const ingest = quari(home, 'ingest', evidence, '--catalog', catalog, '--pack', pack.dir);
  assert.equal(ingest.status, 3, ingest.stderr);
  assert.doesNotMatch(ingest.stdout, RAW_CONTROL);
  assert.doesNotMatch(ingest.stderr, RAW_CONTROL);
  assert.ok(ingest.stdout.includes(`failed: ${join(evidence, 'bad\\u001b[2J.jpg')}: `), ingest.stdout);

  const query = join(evidence, names[0]);
  const human = quari(home, 'search', '--catalog', catalog, '--pack', pack.dir, '--image', query, '--mode', 'baseline', '--top', '10');
  assert.equal(human.status, 0, human.stderr);
  assert.doesNotMatch(human.stdout, RAW_CONTROL);
  assert.doesNotMatch(human.stderr, RAW_CONTROL);
  const rows = human.stdout.trimEnd().split('\n');
  assert.equal(rows.length, names.length, `one row per hit: ${JSON.stringify(rows)}`);
  for (const row of rows) assert.match(row, /^\s+\d+  [-\d.]+  \(baseline [-\d.]+\)  \//);
  for (const escaped of ['clip\\u001b]52;c;cHduZWQ=\\u0007.jpg', 'row\\nsplit.jpg', 'cr\\rfake', 'c1\\u009b31m.jpg', 'bidi\\u202egpj.exe.jpg']) {
    assert.ok(human.stdout.includes(escaped), `${escaped} shown escaped`);
  }

  const json = quari(home, 'search', '--catalog', catalog, '--pack', pack.dir, '--image', query, '--mode', 'baseline', '--top', '10', '--json');
  assert.equal(json.status, 0, json.stderr);
  const paths = json.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path);
  assert.deepEqual(paths.sort(), names.map((n) => join(evidence, n)).sort(), 'JSON carries the exact names');

  const missing = quari(home, 'search', '--catalog', catalog, '--pack', pack.dir, '--image', join(dir, 'gone\u001b]52;c;eA==\u0007.jpg'));
  assert.equal(missing.status, 1);
  assert.doesNotMatch(missing.stderr, RAW_CONTROL);
  assert.ok(missing.stderr.includes('gone\\u001b]52;c;eA==\\u0007.jpg'), missing.stderr);
});
