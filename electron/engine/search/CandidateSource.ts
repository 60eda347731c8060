// Stage 1 of a search behind one small interface, so where candidates come from (an exact scan of an in-memory index,
// the on-disk IVF index file, or later a distributed engine on the case LAN) changes without touching SearchEngine.
// A source only names candidate images; stage 2 scores them exactly (and with QuARI) on vectors from a RowSource,
// so an approximate stage 1 can lose a candidate but never changes a reported score.
import type { VectorIndex } from './VectorIndex.ts';

/** One query vector's stage-1 answer: catalog image ids, best first, with each image's best-vector score. */
export interface ImageHits {
  ids: Uint32Array;
  scores: Float32Array;
}

export interface CandidateSource {
  /** What answers stage 1, for logs and the bench ('exact', 'ivf', 'ivf+exact-delta'). */
  readonly kind: string;
  readonly dim: number;
  /** Images the source can return. */
  readonly imageCount: number;
  /**
   * Per query vector, catalog ids of (about) its k best images by best-vector inner product, best first.
   * Exact sources return exactly those; approximate ones a recall-measured subset of them (bench:scale).
   */
  topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]>;
  /** Every catalog image id the source holds (k = 0 rescores the whole catalog). */
  allImageIds(): Uint32Array;
}

/** Merges several sources' answers for one query vector by score, keeping the best k distinct images. */
export function mergeHits(parts: readonly ImageHits[], k: number): ImageHits {
  const all: { id: number; score: number }[] = [];
  for (const p of parts) p.ids.forEach((id, i) => all.push({ id, score: p.scores[i]! }));
  all.sort((a, b) => b.score - a.score || a.id - b.id);
  const seen = new Set<number>();
  const ids: number[] = [];
  const scores: number[] = [];
  for (const h of all) {
    if (ids.length >= k) break;
    if (seen.has(h.id)) continue;
    seen.add(h.id);
    ids.push(h.id);
    scores.push(h.score);
  }
  return { ids: Uint32Array.from(ids), scores: Float32Array.from(scores) };
}

/** Exact vectors of given images for stage 2: the in-memory index, or the catalog's rows read from SQLite. */
export interface RowSource {
  /** A small index holding exactly these images (unknown ids are left out), in ascending id order. */
  vectorsOf(imageIds: Uint32Array): Promise<VectorIndex>;
}
