// Shared helpers for the catalog tests: throwaway catalogs in os.tmpdir() and plausible ingest records.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCatalog } from '../../db/CatalogStore.ts';
import type { CatalogStore, EmbeddingInput, EmbeddingDtype, ImageMetadata, IngestedImage } from '../../db/Interface.ts';

export interface TempCatalog {
  dir: string;
  file: string;
  store: CatalogStore;
  /** Closes the store (if open) and removes the folder. */
  dispose(): void;
}

export function tempCatalog(): TempCatalog {
  const dir = mkdtempSync(join(tmpdir(), 'quari-db-test-'));
  const file = join(dir, 'catalog.sqlite');
  const store = openCatalog(file);
  return {
    dir,
    file,
    store,
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic xorshift32, so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export function sha(n: number): string {
  return n.toString(16).padStart(64, '0');
}

export function meta(n: number, extra: Partial<ImageMetadata> = {}): ImageMetadata {
  return { sha256: sha(n), width: 640 + n, height: 480, format: 'jpeg', ...extra };
}

/** An embedding of `nVectors` rows with random values and boxes; row 0 is the whole image. */
export function embedding(
  packId: string,
  dtype: EmbeddingDtype,
  dim: number,
  nVectors: number,
  rand: () => number,
): EmbeddingInput {
  const boxes = new Float32Array(nVectors * 4);
  boxes.set([0, 0, 1, 1]);
  for (let i = 4; i < boxes.length; i += 4) {
    const w = 0.1 + 0.4 * rand();
    const h = 0.1 + 0.4 * rand();
    boxes.set([rand() * (1 - w), rand() * (1 - h), w, h], i);
  }
  const n = nVectors * dim;
  const common = { packId, nVectors, dim, boxes, contentScores: [0.1, 0.2, 0.4, 0.2, 0.1], explicitScore: rand() };
  if (dtype === 'float32') {
    const vectors = new Float32Array(n);
    for (let i = 0; i < n; i++) vectors[i] = rand() * 2 - 1;
    return { ...common, dtype, vectors };
  }
  // Arbitrary half-precision bit patterns: the store must keep every bit, whatever the value.
  const vectors = new Uint16Array(n);
  for (let i = 0; i < n; i++) vectors[i] = Math.floor(rand() * 0x10000);
  return { ...common, dtype, vectors };
}

export function ingested(path: string, n: number, embeddings: readonly EmbeddingInput[]): IngestedImage {
  return { path, size: 1000 + n, mtimeMs: 1_700_000_000_000 + n, meta: meta(n), embeddings };
}
