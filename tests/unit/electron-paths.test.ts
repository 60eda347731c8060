// The media containment check: lexical rules on both path flavours, then real files, `..` and symlink escapes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPathInside, resolveServableFile } from '../../electron/shared/paths.ts';

describe('isPathInside (posix)', () => {
  const p = path.posix;
  const cases: [string, string, boolean][] = [
    ['/data/cat.quari.data/thumbs/1.jpg', '/data/cat.quari.data', true],
    ['/data/cat.quari.data/a/b/c/d.jpg', '/data/cat.quari.data/', true],
    ['/data/cat.quari.data', '/data/cat.quari.data', false], // the root itself is not a file inside it
    ['/data/cat.quari.data-evil/x.jpg', '/data/cat.quari.data', false], // shared prefix, different folder
    ['/data/cat.quari.dataX', '/data/cat.quari.data', false],
    ['/data/cat.quari.data/../secret.txt', '/data/cat.quari.data', false],
    ['/data/cat.quari.data/thumbs/../../secret.txt', '/data/cat.quari.data', false],
    ['/data/cat.quari.data/thumbs/../1.jpg', '/data/cat.quari.data', true],
    ['/data/cat.quari.data/..hidden.jpg', '/data/cat.quari.data', true], // a name starting with two dots is not `..`
    ['/data/cat.quari.data/...', '/data/cat.quari.data', true],
    ['/etc/passwd', '/data', false],
    ['/etc/passwd', '/', true], // a whole mounted evidence drive may be a root
    ['relative/x.jpg', '/data', false],
    ['/data/x.jpg', 'data', false],
    ['', '/data', false],
    ['/data/x.jpg', '', false],
    ['/data/x\0.jpg', '/data', false],
    ['/DATA/x.jpg', '/data', false], // posix is case-sensitive
  ];
  for (const [child, parent, expected] of cases) {
    test(`${JSON.stringify(child)} in ${JSON.stringify(parent)} → ${expected}`, () => {
      assert.equal(isPathInside(child, parent, p), expected);
    });
  }
});

describe('isPathInside (win32)', () => {
  const w = path.win32;
  const cases: [string, string, boolean][] = [
    ['C:\\Evidence\\case 7\\IMG_0001.JPG', 'C:\\Evidence', true],
    ['c:\\evidence\\IMG_0001.JPG', 'C:\\Evidence', true], // Windows paths compare case-insensitively
    ['C:\\Evidence2\\x.jpg', 'C:\\Evidence', false],
    ['D:\\Evidence\\x.jpg', 'C:\\Evidence', false], // never across drives
    ['D:\\x.jpg', 'C:\\', false],
    ['E:\\photos\\x.jpg', 'E:\\', true],
    ['C:\\Evidence\\..\\Windows\\win.ini', 'C:\\Evidence', false],
    ['C:\\Evidence/../Windows/win.ini', 'C:\\Evidence', false], // forward slashes are separators too
    ['\\\\server\\share\\case\\x.jpg', '\\\\server\\share\\case', true],
    ['\\\\server\\share\\other\\x.jpg', '\\\\server\\share\\case', false],
    ['\\\\evil\\share\\case\\x.jpg', '\\\\server\\share\\case', false],
    ['Evidence\\x.jpg', 'C:\\Evidence', false],
  ];
  for (const [child, parent, expected] of cases) {
    test(`${JSON.stringify(child)} in ${JSON.stringify(parent)} → ${expected}`, () => {
      assert.equal(isPathInside(child, parent, w), expected);
    });
  }
});

describe('resolveServableFile on a real file system', () => {
  let dir: string;
  let dataDir: string;
  let evidence: string;
  let outside: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'quari-paths-'));
    dataDir = path.join(dir, 'cat.quari.data');
    evidence = path.join(dir, 'evidence');
    outside = path.join(dir, 'outside');
    for (const d of [path.join(dataDir, 'thumbs'), path.join(evidence, 'sub'), outside]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(dataDir, 'thumbs', '1.jpg'), 'thumb');
    writeFileSync(path.join(evidence, 'sub', 'IMG_1.jpg'), 'photo');
    writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    // A symlink planted inside an evidence folder pointing out of it, one pointing to a folder outside, and one
    // pointing to another file inside.
    symlinkSync(path.join(outside, 'secret.txt'), path.join(evidence, 'escape.jpg'));
    symlinkSync(outside, path.join(evidence, 'escape-dir'));
    symlinkSync(path.join(evidence, 'sub', 'IMG_1.jpg'), path.join(evidence, 'alias.jpg'));
    // A root reached through a symlink still serves what is really inside it.
    symlinkSync(evidence, path.join(dir, 'evidence-link'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const roots = () => [dataDir, evidence];

  test('serves a regular file inside the data folder and inside an evidence root', async () => {
    assert.deepEqual(await resolveServableFile(path.join(dataDir, 'thumbs', '1.jpg'), roots()), {
      ok: true,
      realPath: path.join(dataDir, 'thumbs', '1.jpg'),
      root: dataDir,
    });
    const r = await resolveServableFile(path.join(evidence, 'sub', 'IMG_1.jpg'), roots());
    assert.equal(r.ok, true);
  });

  test('refuses `..` traversal out of a root', async () => {
    const r = await resolveServableFile(path.join(evidence, 'sub', '..', '..', 'outside', 'secret.txt'), roots());
    assert.deepEqual(r, { ok: false, reason: 'outside' });
  });

  test('refuses a symlinked file that escapes the root', async () => {
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'escape.jpg'), roots()), { ok: false, reason: 'outside' });
  });

  test('refuses a file reached through a symlinked folder that escapes the root', async () => {
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'escape-dir', 'secret.txt'), roots()), {
      ok: false,
      reason: 'outside',
    });
  });

  test('serves a symlink that stays inside, as its real path', async () => {
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'alias.jpg'), roots()), {
      ok: true,
      realPath: path.join(evidence, 'sub', 'IMG_1.jpg'),
      root: evidence,
    });
  });

  test('resolves the roots too: a root given through a symlink works, and a file path through it works', async () => {
    const viaLink = await resolveServableFile(path.join(dir, 'evidence-link', 'sub', 'IMG_1.jpg'), [path.join(dir, 'evidence-link')]);
    assert.equal(viaLink.ok, true);
    const plainRoot = await resolveServableFile(path.join(dir, 'evidence-link', 'sub', 'IMG_1.jpg'), [evidence]);
    assert.equal(plainRoot.ok, true);
  });

  test('refuses folders, missing files, relative and NUL paths, and everything when no root exists', async () => {
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'sub'), roots()), { ok: false, reason: 'not-a-file' });
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'nope.jpg'), roots()), { ok: false, reason: 'missing' });
    assert.deepEqual(await resolveServableFile('evidence/sub/IMG_1.jpg', roots()), { ok: false, reason: 'invalid' });
    assert.deepEqual(await resolveServableFile(`${evidence}/sub/IMG_1.jpg\0`, roots()), { ok: false, reason: 'invalid' });
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'sub', 'IMG_1.jpg'), [path.join(dir, 'unmounted')]), {
      ok: false,
      reason: 'outside',
    });
    assert.deepEqual(await resolveServableFile(path.join(evidence, 'sub', 'IMG_1.jpg'), ['relative-root']), {
      ok: false,
      reason: 'outside',
    });
  });
});
