// The data split that the cross-family benchmark's claim rests on: its Debian packages are used for nothing else
// (not training, not the projection's whitening, not checkpoint selection), and the packages reserved for an
// independent evaluation are used for nothing at all. Checked on the real source list, the real catalog split
// function, the shipped checkpoint's model card and the real dump tool.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BENCHMARKS } from '../../native-models/tools/training/quari/eval.ts';
import { SOURCES, assignSplit, isReserved } from '../../native-models/tools/training/data/sources.ts';

const cross = SOURCES.filter((s) => s.family === 'cross').map((s) => s.pkg);
const training = SOURCES.filter((s) => s.family !== 'cross').map((s) => s.pkg);

describe('training and benchmark sources', () => {
  test('no reserved package is a source, and the reserved list catches the names it is meant to', () => {
    for (const pkg of ['wesnoth-1.16-data', 'wesnoth-data', 'wesnoth-1.16-music', 'tuxpaint-stamps-default', 'gcompris-qt-data', 'plasma-workspace-wallpapers', 'mate-backgrounds']) {
      assert.ok(isReserved(pkg), pkg);
    }
    assert.ok(!isReserved('tuxpaint-data') && !isReserved('gnome-backgrounds'));
    assert.deepEqual(SOURCES.filter((s) => isReserved(s.pkg)).map((s) => s.pkg), []);
  });

  test('each package is listed once, and the cross-family packages hold both scenes and objects', () => {
    assert.equal(new Set(SOURCES.map((s) => s.pkg)).size, SOURCES.length);
    const roles = new Set(SOURCES.filter((s) => s.family === 'cross').map((s) => s.role));
    assert.deepEqual([...roles].sort(), ['object', 'scene']);
    assert.deepEqual(cross.filter((p) => training.includes(p)), []);
  });

  test('a cross-family package is all split cross; a training package never is', () => {
    for (let i = 0; i < 500; i++) {
      assert.equal(assignSplit({ family: 'cross' }, `k${i}`), 'cross');
      assert.notEqual(assignSplit({}, `k${i}`), 'cross');
    }
  });

  test('the shipped checkpoint was trained on none of the cross-family packages', () => {
    const card = readFileSync('native-models/packs/mobilenetv2-nsfwjs/quari/MODEL_CARD.md', 'utf8');
    const data = card.slice(card.indexOf('## Data'), card.indexOf('## Training'));
    const named = [...data.matchAll(/`([a-z0-9][a-z0-9.+-]+)`/g)].map((m) => m[1]).filter((n) => SOURCES.some((s) => s.pkg === n));
    assert.ok(named.length >= 5, `the model card's data section names ${named.length} source packages`);
    assert.deepEqual(named.filter((n) => cross.includes(n)), []);
  });

  test('npm run eval: the cross-family benchmark reads split cross, the held-out one split eval', () => {
    assert.deepEqual(BENCHMARKS.map((b) => [b.name, b.options.split]), [['cross-family', 'cross'], ['held-out', 'eval']]);
  });

  test('the training dump refuses the cross split (and the eval split)', () => {
    for (const split of ['cross', 'eval']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'native-models/tools/training/quari/dump.ts', '--out', '/nonexistent/x', '--split', split], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, new RegExp(`--split: '${split}' is not train or whitening`));
    }
  });
});
