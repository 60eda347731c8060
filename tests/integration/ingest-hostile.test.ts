// Hostile evidence against the real `quari ingest` CLI and the real loopback host (issue 11.6): 1 GB sparse
// ".jpg" files are refused from their size and header with bounded memory; a link inside the evidence folder
// pointing at a workstation file outside it is recorded as a failure and never served, unless --follow-links,
// which the run records. Also: a catalog from before MD5/SHA-1 gains them on the next ingest, nothing re-embedded.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { startHost } from '../e2e/support/webHost.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const GiB = 1024 * 1024 * 1024;

function quari(args: string[], wrap: string[] = []) {
  const [cmd, ...pre] = wrap.length > 0 ? wrap : [process.execPath];
  const argv = wrap.length > 0 ? [...pre, process.execPath, join(repo, 'bin/quari.mjs'), ...args] : [join(repo, 'bin/quari.mjs'), ...args];
  return spawnSync(cmd!, argv, { encoding: 'utf8', cwd: repo });
}

/** A sparse file of `size` bytes starting with `head`: no disk used, a huge read if anyone reads it. */
function sparse(path: string, size: number, head: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

test('two 1 GB sparse .jpg files are refused from size and header without being read: peak RSS stays bounded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-sparse-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  mkdirSync(root);
  sparse(join(root, 'huge-jpeg-header.jpg'), GiB, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
  sparse(join(root, 'huge-zeros.jpg'), GiB, Buffer.alloc(0));
  // Under the size limit but no image signature: refused from the first bytes, the rest never read.
  sparse(join(root, 'zeros.jpg'), 200 * 1024 * 1024, Buffer.alloc(0));
  const r = quari(['ingest', root, '--catalog', join(dir, 'catalog.sqlite'), '--json'], ['/usr/bin/time', '-f', 'maxrss_kb=%M']);
  assert.equal(r.status, 3, r.stderr); // finished, files recorded as failed
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const byName = Object.fromEntries(summary.failures.map((f: { path: string; error: string }) => [f.path.split('/').pop(), f.error]));
  assert.match(byName['huge-jpeg-header.jpg'], /1073741824 bytes exceeds the limit of 268435456 bytes per file; not read/);
  assert.match(byName['huge-zeros.jpg'], /1073741824 bytes exceeds the limit/);
  assert.match(byName['zeros.jpg'], /not a decodable image \(its first bytes, 0000000000000000, name no JPEG/);
  const rssMb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)![1]) / 1024;
  // Reading either file would take more than 1024 MB; the CLI with the pack verified needs a few hundred.
  assert.ok(rssMb < 600, `peak RSS ${rssMb.toFixed(0)} MB`);
});

test('eight 200 MB files under the size limit are read at most 512 MiB at a time across the 8 lanes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-budget-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  mkdirSync(root);
  // A JPEG signature, then zeros: read whole (under 256 MiB), then refused by the decoder.
  for (let i = 0; i < 8; i++) sparse(join(root, `big${i}.jpg`), 200 * 1024 * 1024, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
  const r = quari(['ingest', root, '--catalog', join(dir, 'catalog.sqlite'), '--json'], ['/usr/bin/time', '-f', 'maxrss_kb=%M']);
  assert.equal(r.status, 3, r.stderr); // finished, files recorded as failed
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(summary.failed, 8);
  for (const f of summary.failures) assert.match(f.error, /not a decodable image|cannot decode/);
  const rssMb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)![1]) / 1024;
  // All eight lanes holding their file would be 1,600 MB; the budget lets two 200 MB files in at once.
  assert.ok(rssMb < 1000, `peak RSS ${rssMb.toFixed(0)} MB`);
});

function get(port: number, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, 'x-quari-token': token } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a link to a file outside the evidence is a recorded failure, never served; --follow-links follows it and is recorded; old rows gain MD5/SHA-1', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-links-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  const outside = join(dir, 'workstation');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(root, 'good.jpg'), await (await photoLike(3, 320, 240)).jpeg().toBuffer());
  writeFileSync(join(outside, 'private.jpg'), await (await photoLike(4, 320, 240)).jpeg().toBuffer());
  symlinkSync(join(outside, 'private.jpg'), join(root, 'link.jpg'));
  symlinkSync(join(root, 'good.jpg'), join(root, 'alias.jpg')); // inside: followed
  const catalogFile = join(dir, 'catalog.sqlite');

  const first = quari(['ingest', root, '--catalog', catalogFile, '--json']);
  assert.equal(first.status, 3, first.stderr); // finished, the link recorded as failed
  const summary = JSON.parse(first.stdout.trim().split('\n').pop()!);
  assert.deepEqual([summary.added, summary.failed], [2, 1]);
  assert.match(summary.failures[0].error, /link\.jpg: symbolic link to .*workstation\/private\.jpg, outside the evidence folder .*; not followed \(ingest --follow-links/);
  let catalog = openCatalog(catalogFile);
  const link = catalog.getImageByPath(join(root, 'link.jpg'))!;
  const good = catalog.getImageByPath(join(root, 'good.jpg'))!;
  assert.deepEqual([link.status, link.sha256, link.thumbnail], ['failed', null, null]);
  assert.equal(good.md5, execFileSync('md5sum', [join(root, 'good.jpg')], { encoding: 'utf8' }).slice(0, 32));
  assert.equal(good.sha1, execFileSync('sha1sum', [join(root, 'good.jpg')], { encoding: 'utf8' }).slice(0, 40));
  assert.deepEqual(catalog.listIngestRuns()[0]!.options, { followLinks: false, maxFileBytes: 268435456, maxPixels: 200_000_000 });
  const embedded = catalog.getEmbedding(good.id, catalog.listPacks()[0]!.id)!.createdAt;
  catalog.close();

  const host = await startHost({ catalogPath: catalogFile });
  try {
    assert.equal(await get(host.port, `/media/image/${good.id}`, host.token), 200, 'the evidence itself is served');
    assert.equal(await get(host.port, `/media/thumb/${good.id}`, host.token), 200);
    assert.equal(await get(host.port, `/media/image/${link.id}`, host.token), 404, 'the linked workstation file is not');
    assert.equal(await get(host.port, `/media/thumb/${link.id}`, host.token), 404);
  } finally {
    await host.stop();
  }

  // A catalog from before MD5/SHA-1: the next ingest re-reads the bytes for them, without re-embedding.
  const raw = new Database(catalogFile);
  raw.prepare(`UPDATE images SET md5 = NULL, sha1 = NULL WHERE id = ?`).run(good.id);
  raw.close();
  const second = quari(['ingest', root, '--catalog', catalogFile, '--json', '--follow-links']);
  assert.equal(second.status, 0, second.stderr);
  const s2 = JSON.parse(second.stdout.trim().split('\n').pop()!);
  assert.deepEqual([s2.added, s2.rehashed, s2.failed], [1, 1, 0]);
  catalog = openCatalog(catalogFile);
  t.after(() => catalog.close());
  assert.equal(catalog.getImageByPath(join(root, 'link.jpg'))!.status, 'ok', 'followed on request');
  const again = catalog.getImage(good.id)!;
  assert.deepEqual([again.md5, again.sha1], [good.md5, good.sha1]);
  assert.equal(catalog.getEmbedding(good.id, catalog.listPacks()[0]!.id)!.createdAt, embedded, 'not re-embedded');
  assert.equal(catalog.listIngestRuns()[0]!.options!.followLinks, true, 'the run records that it followed links');
});
