// Several processes on one catalog, as when ingest workers, a search and the UI share it: concurrent first opens
// (migrations), writers racing on the same files, and a reader loading embeddings while they write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../db/CatalogStore.ts';

const WRITER = join(dirname(fileURLToPath(import.meta.url)), 'db-crash-writer.ts');

function runWriter(file: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited with ${code}: ${err}`))));
  });
}

test('writers racing on one fresh catalog and the same files each leave every file once', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quari-db-concurrency-'));
  const file = join(dir, 'catalog.sqlite');
  const N = 1500;
  try {
    const writers = Promise.all([1, 2, 3, 4].map(() => runWriter(file, N)));
    // Meanwhile, read snapshots as they grow: each must be internally consistent.
    let loads = 0;
    let settled = false;
    writers.then(() => (settled = true), () => (settled = true));
    while (!settled) {
      await new Promise((r) => setTimeout(r, 25));
      // Opening also races the writers' first open: whoever comes first migrates, the others wait for it.
      const store = openCatalog(file);
      try {
        if (!store.getPack('pack')) continue;
        const loaded = store.loadEmbeddings('pack');
        for (let i = 1; i < loaded.count; i++) assert.ok(loaded.imageIds[i] > loaded.imageIds[i - 1]);
        assert.equal(loaded.offsets[loaded.count], loaded.totalVectors);
        assert.equal(loaded.vectors.length, loaded.totalVectors * 32);
        loads++;
      } finally {
        store.close();
      }
    }
    await writers;
    const store = openCatalog(file);
    try {
      assert.deepEqual(store.countImages(), { total: N, pending: 0, ok: N, failed: 0 });
      assert.equal(store.countEmbeddings('pack'), N);
      assert.equal(store.loadEmbeddings('pack').count, N);
    } finally {
      store.close();
    }
    assert.ok(loads > 0, 'the reader never overlapped the writers');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
