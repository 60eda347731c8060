// Issue 11.1's second half: an export is written to a temporary file, fsync'd and renamed, so a full disk never
// leaves a truncated report under its final name (ENOSPC used to leave a 307,200-byte .html), and an export's
// name can never leave the exports folder. The full disk is real: a 64 KiB tmpfs mounted in a user namespace
// (`unshare -Urm`); a second test injects ENOSPC into the real fs calls so the guarantee is checked where
// namespaces are unavailable too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../../electron/engine/export/atomicWrite.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quari-sec-export-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const REPO = path.resolve(import.meta.dirname, '../..');

test('a full disk (64 KiB tmpfs) leaves no truncated export and keeps the earlier file intact', (t) => {
  const dir = path.join(tmp, 'tiny');
  fs.mkdirSync(dir);
  const script = 'mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" --import tsx tests/security/full-disk-writer.ts "$1"';
  const run = spawnSync('unshare', ['-Urm', 'sh', '-c', script, 'sh', dir, process.execPath], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  if (run.error || (run.status !== 0 && /unshare|mount|Operation not permitted|Permission denied/.test(run.stderr))) {
    t.skip(`no user+mount namespace here (${(run.error?.message ?? run.stderr).trim().split('\n')[0]}); the injected-ENOSPC test below still runs`);
    return;
  }
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
  assert.equal(result.error?.code, 'unavailable', JSON.stringify(result));
  assert.match(result.error.message, /writing export case-1-report\.html failed \(ENOSPC\); nothing was written under that name/);
  assert.deepEqual(result.files, ['case-1-report.html'], 'no temporary file is left behind');
  assert.equal(result.previous, '<p>the earlier, complete report</p>', 'the file under the final name is the earlier, complete one');
});

test('ENOSPC injected into the real write path leaves no file under the final name and no temporary file', () => {
  const dir = path.join(tmp, 'injected');
  let written = 0;
  const failing = {
    ...fs,
    writeSync: ((fd: number, buffer: Uint8Array, offset: number, length: number) => {
      if (written >= 64 * 1024) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = fs.writeSync(fd, buffer, offset, Math.min(length, 64 * 1024 - written));
      written += n;
      return n;
    }) as typeof fs.writeSync,
  };
  assert.throws(() => writeFileAtomic(dir, 'case-2-report.html', 'y'.repeat(300 * 1024), failing), {
    code: 'unavailable',
    message: /writing export case-2-report\.html failed \(ENOSPC\)/,
  });
  assert.ok(written >= 64 * 1024, 'the writer really wrote until the disk "filled"');
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('export names never leave the exports folder, even through a planted link', () => {
  const dir = path.join(tmp, 'exports');
  const outside = path.join(tmp, 'evidence');
  fs.mkdirSync(dir);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'photo.jpg'), 'JPEG');
  for (const name of ['../evidence/photo.jpg', '/etc/passwd', '..', '.hidden', 'a/b.html', 'a\\b.html', 'x\u0000.html', `${'/..'.repeat(8)}${outside}/photo.jpg`]) {
    assert.throws(() => writeFileAtomic(dir, name, 'REPORT'), { code: 'bad-request' }, name);
  }
  // A link planted under an export's final name is replaced, never written through.
  fs.symlinkSync(path.join(outside, 'photo.jpg'), path.join(dir, 'case-3-report.html'));
  writeFileAtomic(dir, 'case-3-report.html', 'REPORT');
  assert.equal(fs.readFileSync(path.join(outside, 'photo.jpg'), 'utf8'), 'JPEG');
  assert.equal(fs.lstatSync(path.join(dir, 'case-3-report.html')).isFile(), true);
  assert.equal(fs.readFileSync(path.join(dir, 'case-3-report.html'), 'utf8'), 'REPORT');
});
