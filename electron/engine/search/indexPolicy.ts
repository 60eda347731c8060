// When stage 1 is the exact in-memory scan and when the on-disk IVF index, and keeping that index current after an
// ingest (CLI and app alike): one decision, so `quari ingest`, the app and the bench cannot disagree.
//
// Exact below EXACT_MAX_IMAGES: measured with `npm run bench:scale` (README "Scale", 2 shared cores, load 10–22),
// exact answers a crop end to end in 224 ms p50 at 10k images against 499 ms for IVF, and in 301 ms at 50k against
// 442 ms (nprobe 48), but at 50k it already takes 6 s and 2 GB to load from SQLite at every open and after every
// ingest, against 25 ms and ≈ 0.3–1.2 GB; at 100k IVF is 2.3× faster (581 against 1,313 ms) and exact takes 34 s to
// open. So at 50,000 images and above the index is built; below, exact stays (no build, and faster per query).
//
// Incremental: images ingested after a build are searched exactly beside the file (IndexedCatalog), so an ingest
// never waits for a rebuild to make its images searchable. That delta is loaded into memory at every open, so the
// file is rebuilt once the delta reaches a tenth of the indexed images or DELTA_MAX_IMAGES (the size where an exact
// scan's load stops being cheap), whichever is first. A build writes a temporary file and renames it over the old
// one, so a crash leaves the previous index (searched with a larger delta) or none; a file that fails its checks is
// rebuilt here, and the update's reason says so.
import { existsSync } from 'node:fs';
import type { CatalogStore } from '../../../db/Interface.ts';
import { buildIvfIndex, IndexFileError, IvfIndex, type BuildProgress } from './IvfIndex.ts';

/** Catalogs with at least this many images of the pack search through the on-disk index (see above). */
export const EXACT_MAX_IMAGES = 50_000;
/** A delta of this many images (or a tenth of the index) triggers a rebuild: an exact load of 25k images ≈ 1.5–3 s. */
export const DELTA_MAX_IMAGES = 25_000;

export type IndexAction = 'exact' | 'current' | 'build' | 'rebuild';

export interface IndexPlan {
  action: IndexAction;
  /** Why, in words for a log line or the ingest status. */
  reason: string;
  images: number;
}

export interface IndexLimits {
  exactMaxImages: number;
  deltaMaxImages: number;
}

export const INDEX_LIMITS: IndexLimits = { exactMaxImages: EXACT_MAX_IMAGES, deltaMaxImages: DELTA_MAX_IMAGES };

/** What stage 1 of `packId` should be now, and whether the index file must be (re)built for that. */
export async function planIndex(store: CatalogStore, packId: string, file: string, limits: IndexLimits = INDEX_LIMITS): Promise<IndexPlan> {
  const images = store.countEmbeddings(packId);
  if (images < limits.exactMaxImages) {
    return { action: 'exact', images, reason: `${images} images: below ${limits.exactMaxImages}, the exact scan is faster and needs no index` };
  }
  if (!existsSync(file)) return { action: 'build', images, reason: `${images} images and no index file` };
  const dim = store.getPack(packId)?.dim ?? 0;
  let indexed: number;
  try {
    const ivf = await IvfIndex.open(file, { packId, dim }, { nprobe: 1 });
    indexed = ivf.imageCount;
    await ivf.close();
  } catch (err) {
    if (!(err instanceof IndexFileError)) throw err;
    return { action: 'rebuild', images, reason: `the index file is unusable (${err.message}): rebuilt` };
  }
  const delta = images - indexed;
  if (delta >= Math.min(limits.deltaMaxImages, Math.ceil(indexed / 10))) {
    return { action: 'rebuild', images, reason: `${delta} images ingested since the index of ${indexed} was built` };
  }
  return { action: 'current', images, reason: `${indexed} images indexed, ${Math.max(0, delta)} newer ones searched exactly beside them` };
}

/** Applies `planIndex`: builds or rebuilds the file when it says so (progress and abort as in buildIvfIndex). */
export async function updateIndex(
  store: CatalogStore,
  packId: string,
  file: string,
  options: { onProgress?: (p: BuildProgress) => void; signal?: AbortSignal; limits?: IndexLimits } = {},
): Promise<IndexPlan & { seconds: number }> {
  const started = performance.now();
  const plan = await planIndex(store, packId, file, options.limits);
  if (plan.action === 'build' || plan.action === 'rebuild') await buildIvfIndex(store, packId, file, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  return { ...plan, seconds: (performance.now() - started) / 1000 };
}
