// Duplicate stacks for a whole catalog: pHashes for catalogued files that have none (catalogs ingested before
// migration 006; new ingests hash as they decode), then every tier's stacks rebuilt from scratch in one
// transaction. Used by `quari dupes` and after every ingest (CLI and app).
import type { CatalogStore, DuplicateTier } from '../../../db/Interface.ts';
import { DEFAULT_MAX_PIXELS, decodeRgb, readFileBytes, THUMBNAIL_SIZE, thumbnailPixels } from '../images/decode.ts';
import { buildStacks, DEFAULT_STACK_PARAMS, type StackParams, type WholeVectors } from './buildStacks.ts';
import { perceptualHash } from './phash.ts';

export interface HashProgress {
  done: number;
  total: number;
  failed: number;
}

export interface HashResult extends HashProgress {
  /** Files that could not be hashed (gone, changed, undecodable), with the reason. */
  failures: { path: string; error: string }[];
}

/** Decoded just large enough for the thumbnail's pixels the pHash is computed from (JPEGs shrink on load). */
const HASH_DECODE: readonly [number, number] = [THUMBNAIL_SIZE, THUMBNAIL_SIZE];
const PAGE = 256;

/**
 * Computes the pHash of every 'ok' image whose bytes have none, reading each file through the bounded reader and
 * checking its SHA-256 still matches the catalog (a changed file is reported, not hashed under the old digest).
 */
export async function computeMissingPerceptualHashes(
  store: CatalogStore,
  options: { onProgress?: (p: HashProgress) => void; signal?: AbortSignal; maxPixels?: number } = {},
): Promise<HashResult> {
  const total = store.duplicates.countMissingPerceptualHashes();
  const result: HashResult = { done: 0, total, failed: 0, failures: [] };
  options.onProgress?.({ done: 0, total, failed: 0 });
  let after = 0;
  while (!options.signal?.aborted) {
    const page = store.duplicates.listMissingPerceptualHashes({ afterImageId: after, limit: PAGE });
    if (page.length === 0) break;
    for (const item of page) {
      after = item.imageId;
      try {
        const file = await readFileBytes(item.path);
        if (file.sha256 !== item.sha256) throw new Error(`${item.path} changed since it was catalogued (SHA-256 ${file.sha256}, catalogued ${item.sha256}); re-ingest it`);
        const rgb = await decodeRgb(file.bytes, item.path, HASH_DECODE, options.maxPixels ?? DEFAULT_MAX_PIXELS);
        store.duplicates.putPerceptualHash(item.sha256, await perceptualHash(await thumbnailPixels(rgb)));
      } catch (err) {
        result.failed++;
        result.failures.push({ path: item.path, error: (err as Error).message });
      }
      result.done++;
      options.onProgress?.({ done: result.done, total, failed: result.failed });
      if (options.signal?.aborted) break;
    }
  }
  return result;
}

export interface RebuildResult {
  images: number;
  stacks: Record<DuplicateTier, { stacks: number; images: number }>;
  /** Images left out of the perceptual tier for want of a pHash. */
  withoutPhash: number;
  /** The pack whose whole-image vectors made the embedding tier; null when there was none or it was skipped. */
  packId: string | null;
  /** True when the catalog was over `embeddingMaxImages` and the embedding tier was left empty. */
  embeddingSkipped: boolean;
  params: StackParams;
  seconds: number;
}

/**
 * The embedding tier is an all-pairs scan (quadratic): after an ingest it is built only up to this many images
 * (≈ 20 s of the native kernels on two cores at 512 dimensions); `quari dupes` builds it at any size.
 */
export const AFTER_INGEST_EMBEDDING_MAX_IMAGES = 20_000;

/**
 * Rebuilds every stack; the embedding tier uses `packId`'s whole-image vectors (none: no embedding links), unless
 * the catalog holds more than `embeddingMaxImages` images.
 */
export async function rebuildDuplicateStacks(
  store: CatalogStore,
  packId: string | null,
  params: StackParams = DEFAULT_STACK_PARAMS,
  embeddingMaxImages = Number.POSITIVE_INFINITY,
): Promise<RebuildResult> {
  const started = performance.now();
  const images = store.duplicates.listStackInputs();
  const embeddingSkipped = packId !== null && images.length > embeddingMaxImages;
  if (embeddingSkipped) packId = null;
  const whole = packId ? loadWholeVectors(store, packId) : null;
  const built = await buildStacks(images, whole, params);
  const builtAt = new Date().toISOString();
  store.duplicates.replaceStacks(built.stacks, {
    exact: { builtAt },
    perceptual: { builtAt, hash: 'sharp-phash 64-bit DCT', phashRadius: params.phashRadius },
    embedding: { builtAt, packId, embeddingThreshold: params.embeddingThreshold, embeddingNeighbours: params.embeddingNeighbours },
  });
  return { images: images.length, stacks: store.duplicates.countStacks(), withoutPhash: built.withoutPhash, packId, embeddingSkipped, params, seconds: (performance.now() - started) / 1000 };
}

const LOAD_PAGE = 20_000;

/** Row 0 (the whole-image vector) of every image's embedding for the pack, in image-id order. */
function loadWholeVectors(store: CatalogStore, packId: string): WholeVectors | null {
  const pages = [];
  let after = 0;
  for (;;) {
    const page = store.loadEmbeddings(packId, { afterImageId: after, limit: LOAD_PAGE });
    if (page.count === 0) break;
    pages.push(page);
    after = page.imageIds[page.count - 1]!;
  }
  if (pages.length === 0) return null;
  const dim = pages[0]!.dim;
  const count = pages.reduce((n, p) => n + p.count, 0);
  const imageIds = new Uint32Array(count);
  const vectors = pages[0]!.dtype === 'float16' ? new Uint16Array(count * dim) : new Float32Array(count * dim);
  let slot = 0;
  for (const page of pages) {
    if (page.dtype !== pages[0]!.dtype) throw new Error(`pack ${packId}: embeddings stored as both float16 and float32`);
    for (let i = 0; i < page.count; i++, slot++) {
      imageIds[slot] = page.imageIds[i]!;
      const row = page.offsets[i]!;
      vectors.set(page.vectors.subarray(row * dim, (row + 1) * dim), slot * dim);
    }
  }
  return { packId, dim, imageIds, vectors };
}
