// Crash safety of the ingest transaction: a writer killed with SIGKILL at arbitrary moments, then resumed, must
// leave every file in the catalog exactly once, with its embedding iff it is marked ok, and an intact database.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { embedding, rng } from '../unit/db-fixtures.ts';

const WRITER = join(dirname(fileURLToPath(import.meta.url)), 'db-crash-writer.ts');
const N = 3000;

/** Runs the writer; with killAfterMs, SIGKILLs it that long after it starts writing. Resolves to whether it finished. */
function runWriter(file: string, killAfterMs: number | null): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(N)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && out.includes('started')) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(out.includes('finished'));
      else if (code === 0) resolve(true);
      else reject(new Error(`writer exited with ${code}: ${err}`));
    });
  });
}

function checkInvariants(file: string): { ok: number } {
  const raw = new Database(file, { readonly: true });
  try {
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(raw.pragma('foreign_key_check'), []);
    const dupes = raw.prepare(`SELECT count(*) - count(DISTINCT path) FROM images`).pluck().get();
    assert.equal(dupes, 0);
    // Embeddings exist exactly for the images marked ok.
    const okWithout = raw.prepare(`SELECT count(*) FROM images i WHERE status = 'ok'
      AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_id = i.id)`).pluck().get();
    const notOkWith = raw.prepare(`SELECT count(*) FROM images i WHERE status <> 'ok'
      AND EXISTS (SELECT 1 FROM embeddings e WHERE e.image_id = i.id)`).pluck().get();
    assert.deepEqual([okWithout, notOkWith], [0, 0]);
    return { ok: raw.prepare(`SELECT count(*) FROM images WHERE status = 'ok'`).pluck().get() as number };
  } finally {
    raw.close();
  }
}

test('SIGKILL at arbitrary moments during ingest never duplicates or half-writes an image', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quari-db-crash-'));
  const file = join(dir, 'catalog.sqlite');
  try {
    const r = rng(2024);
    let kills = 0;
    let progress: number[] = [];
    for (let round = 0; round < 6; round++) {
      const finished = await runWriter(file, 20 + Math.floor(r() * 250));
      if (!finished) kills++;
      progress.push(checkInvariants(file).ok);
    }
    assert.ok(kills >= 3, `expected most rounds to be killed mid-ingest, got ${kills} kills (progress ${progress})`);
    assert.equal(await runWriter(file, null), true);
    progress = [...progress, checkInvariants(file).ok];
    assert.equal(progress.at(-1), N);

    const store = openCatalog(file);
    try {
      assert.deepEqual(store.countImages(), { total: N, pending: 0, ok: N, failed: 0 });
      const loaded = store.loadEmbeddings('pack');
      assert.equal(loaded.count, N);
      for (const i of [0, 1, 777, N - 1]) {
        const row = store.getImageByPath(`/evidence/crash/${i}.jpg`)!;
        const idx = loaded.imageIds.indexOf(row.id);
        const expected = embedding('pack', 'float16', 32, 1 + (i % 5), rng(i + 1));
        assert.deepEqual(loaded.vectors.subarray(loaded.offsets[idx] * 32, loaded.offsets[idx + 1] * 32), expected.vectors);
      }
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
