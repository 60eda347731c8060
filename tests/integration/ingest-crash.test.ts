// kill -9 during ingest, at any moment, then a rerun: every file ends up in the catalog exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { ingestFolder } from '../../electron/engine/ingest/ingestFolder.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack, snapshotTree } from './ingest-helpers.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'bin', 'quari.mjs');

/** Rows committed so far, read through a separate read-only connection (what another process would see). */
function committed(catalogFile: string): number {
  try {
    const db = new Database(catalogFile, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM images WHERE status = 'ok'`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Starts `quari ingest` and SIGKILLs it once `atLeast` images are committed; resolves with the count at the kill. */
async function ingestAndKill(root: string, catalogFile: string, packDir: string, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'ingest', root, '--catalog', catalogFile, '--pack', packDir], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (;;) {
    const n = committed(catalogFile);
    if (n >= atLeast) {
      child.kill('SIGKILL');
      await exited;
      return n;
    }
    if (child.exitCode !== null) throw new Error(`quari ingest exited (code ${child.exitCode}) before ${atLeast} images were committed: ${stderr}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

test('SIGKILL mid-ingest, twice, then resume: every file catalogued exactly once, none re-embedded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ingest-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'evidence');
  const N = 48;
  for (let i = 0; i < N; i++) {
    const sub = join(root, `roll${i % 3}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `frame${String(i).padStart(2, '0')}.jpg`), await (await photoLike(100 + i, 480, 360)).jpeg({ quality: 85 }).toBuffer());
  }
  writeFileSync(join(root, 'roll0', 'broken.jpg'), 'not a jpeg');
  const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  const before = snapshotTree(root);
  const pack = await defaultPack();
  const catalogFile = join(dir, 'catalog.sqlite');

  const firstKill = await ingestAndKill(root, catalogFile, pack.dir, 6);
  const secondKill = await ingestAndKill(root, catalogFile, pack.dir, firstKill + 8);
  t.diagnostic(`killed after ${firstKill}, then after ${secondKill} committed images`);
  assert.ok(secondKill < N, `the second run was killed before finishing (${secondKill} of ${N})`);

  const catalog = openCatalog(catalogFile);
  t.after(() => catalog.close());
  const committedBefore = catalog.listImages({ status: 'ok', limit: 1000 }).map((r) => [r.id, catalog.getEmbedding(r.id, pack.manifest.id)!.createdAt] as const);
  const resumed = await ingestFolder({ root, catalog, pack });
  assert.equal(resumed.added + resumed.skipped + resumed.failed, files.length);
  assert.ok(resumed.skipped >= committedBefore.length, 'committed images are not redone');
  for (const [id, createdAt] of committedBefore) assert.equal(catalog.getEmbedding(id, pack.manifest.id)!.createdAt, createdAt, `image ${id} not re-embedded`);
  assert.match(catalog.getImageByPath(join(root, 'roll0', 'broken.jpg'))!.error!, /not a decodable image/);
  const rows = catalog.listImages({ limit: 1000 });
  assert.deepEqual(rows.map((r) => r.path).sort(), [...files].sort(), 'each file exactly once, nothing else');
  assert.equal(catalog.countImages().ok, N);
  assert.equal(catalog.countEmbeddings(pack.manifest.id), N);
  for (const r of rows.filter((r) => r.status === 'ok')) assert.ok(catalog.getEmbedding(r.id, pack.manifest.id), r.path);
  const runs = catalog.listIngestRuns();
  assert.equal(runs[0].status, 'done');
  assert.deepEqual(runs.slice(1).map((r) => r.status), ['interrupted', 'interrupted'], 'killed runs are marked interrupted at the next open');
  assert.deepEqual(snapshotTree(root), before, 'evidence folder unchanged');
  // And the catalog is healthy.
  assert.equal(catalog.countImages().pending, 0);
});
