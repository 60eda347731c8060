// The exact stage 1 of a large catalog that has no usable index yet (a catalog from before the index, a build that
// was cancelled or crashed): every embedding is scanned page by page straight from SQLite, so memory stays one page
// and no array is sized by the catalog's vector count (an in-memory VectorIndex of 466k+ images would pass Node's
// 2^32-element typed-array limit). Slow — it reads the whole catalog per search — and only a stop-gap until the
// index is built (indexPolicy), which SearchService says in its warning.
import type { CatalogStore } from '../../../db/Interface.ts';
import { mergeHits, type CandidateSource, type ImageHits } from './CandidateSource.ts';
import { VectorIndex, type IndexDtype } from './VectorIndex.ts';

/** Images per SQLite page (5000 × 36 × 256 float16 ≈ 92 MB held at once). */
const SCAN_PAGE = 5000;

export class CatalogScan implements CandidateSource {
  readonly kind = 'exact-catalog-scan';

  constructor(
    private readonly store: CatalogStore,
    private readonly packId: string,
    readonly dim: number,
    private readonly dtype: IndexDtype,
  ) {}

  get imageCount(): number {
    return this.store.countEmbeddings(this.packId);
  }

  private *pages(): Generator<VectorIndex> {
    let after = 0;
    for (;;) {
      const page = this.store.loadEmbeddings(this.packId, { afterImageId: after, limit: SCAN_PAGE });
      if (page.count === 0) return;
      after = page.imageIds[page.count - 1]!;
      yield VectorIndex.fromPages([page], this.dim, this.dtype, this.packId);
    }
  }

  allImageIds(): Uint32Array {
    return this.store.embeddedImageIds(this.packId);
  }

  async topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]> {
    let merged: ImageHits[] = queries.map(() => ({ ids: new Uint32Array(0), scores: new Float32Array(0) }));
    for (const page of this.pages()) {
      const part = await page.topImages(queries, k);
      merged = merged.map((m, i) => mergeHits([m, part[i]!], k));
    }
    return merged;
  }
}
