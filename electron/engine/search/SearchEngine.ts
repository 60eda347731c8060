// Two-stage search over an in-memory multi-vector index.
//
// Stage 1 ranks images by exact inner product, an image scoring the best of its vectors (whole image and regions).
// Stage 2 (adaptive mode) runs the QuARI hypernetwork on each query vector and rescores every vector of the K best
// images with the low-rank transform, q'·normalize(x + a·(x·U)·Vᵀ); k = 0 rescores the whole catalog.
//
// Multi-region queries ("this lamp AND this carpet") use one rule in both stages: each query vector is scored on its
// own, an image's score for it is its best-matching vector, and the image's score is the MEAN over the query vectors.
// The mean rewards images that hold every queried detail over images that match one detail very well, which is what
// an analyst selecting several details of one room wants. A single query vector reduces to plain max-over-regions.
import type { LowRankTransform, VectorIndex } from './VectorIndex.ts';

export interface QueryAdapter {
  /** Refined queries and low-rank factors for a batch of query vectors (row-major [B, dim]). */
  adapt(queries: Float32Array, batch: number): Promise<LowRankTransform[]>;
}

export interface SearchOptions {
  mode: 'baseline' | 'adaptive';
  /** Stage-1 candidates per query vector; 0 = every image. */
  k: number;
  top: number;
  /** Image slots never returned (e.g. the query's own image during evaluation). */
  excludeSlots?: ReadonlySet<number>;
  /**
   * When given, only these slots can be returned (the search filters). Applied inside stage 1: the K candidates
   * are the K best allowed images, never a filtered remnant of the K best overall.
   */
  allowSlots?: ReadonlySet<number>;
}

export interface RankedImage {
  /** Slot in the index (0..imageCount-1); the index maps it to a catalog image id. */
  slot: number;
  score: number;
  baselineScore: number;
  /** Vector row that matched best (for the query vector with the highest score); gives the hit's box. */
  bestRow: number;
}

export interface SearchOutcome {
  ranked: RankedImage[];
  candidates: number;
  stage1Ms: number;
  stage2Ms: number;
}

export class SearchEngine {
  constructor(
    readonly index: VectorIndex,
    private readonly adapter: QueryAdapter | null,
  ) {}

  get canAdapt(): boolean {
    return this.adapter !== null;
  }

  async search(queries: readonly Float32Array[], options: SearchOptions): Promise<SearchOutcome> {
    const { index } = this;
    if (queries.length === 0) throw new Error('a search needs at least one query vector');
    for (const q of queries) if (q.length !== index.dim) throw new Error(`query has ${q.length} dimensions, the index has ${index.dim}`);
    if (options.mode === 'adaptive' && !this.adapter) throw new Error('adaptive search needs a QuARI checkpoint in the active model pack');

    const t0 = performance.now();
    const slots = await this.candidateSlots(queries, options);
    const rows = index.rowsOf(slots);
    const baseline = queries.map((q) => index.scoreRows(rows, q));
    const t1 = performance.now();

    let adapted: Float32Array[] | null = null;
    if (options.mode === 'adaptive') {
      const batch = new Float32Array(queries.length * index.dim);
      queries.forEach((q, i) => batch.set(q, i * index.dim));
      const transforms = await this.adapter!.adapt(batch, queries.length);
      adapted = [];
      for (const t of transforms) adapted.push(await index.rescoreRows(rows, t));
    }
    const t2 = performance.now();

    const ranked = combinePerImage(slots, index, rows, baseline, adapted, options);
    return { ranked, candidates: slots.length, stage1Ms: t1 - t0, stage2Ms: t2 - t1 };
  }

  /** Union of each query vector's stage-1 top-K images (or all images), minus exclusions, ascending. */
  private async candidateSlots(queries: readonly Float32Array[], options: SearchOptions): Promise<Uint32Array> {
    if (options.allowSlots) return this.allowedCandidateSlots(queries, options, options.allowSlots);
    const { index } = this;
    const wanted = options.k === 0 ? index.imageCount : Math.min(index.imageCount, options.k + (options.excludeSlots?.size ?? 0));
    let slots: Set<number> | null = null;
    if (wanted < index.imageCount) {
      slots = new Set();
      for (const q of queries) for (const slot of (await index.topImages(q, wanted)).slots) slots.add(slot);
    }
    const all = slots ? [...slots] : Array.from({ length: index.imageCount }, (_, i) => i);
    const kept = all.filter((s) => !options.excludeSlots?.has(s));
    return Uint32Array.from(kept).sort();
  }

  /**
   * Stage 1 restricted to `allow`: when the allowed images are no more than K they are all candidates; otherwise
   * each query's scan is widened (×4 each time) until its best-first prefix holds K allowed images — those are then
   * exactly its K best allowed images — or the scan covers the catalog.
   */
  private async allowedCandidateSlots(queries: readonly Float32Array[], options: SearchOptions, allow: ReadonlySet<number>): Promise<Uint32Array> {
    const { index } = this;
    const ok = (s: number) => allow.has(s) && !options.excludeSlots?.has(s);
    const allowed = [...allow].filter((s) => s < index.imageCount && ok(s));
    if (options.k === 0 || allowed.length <= options.k) return Uint32Array.from(allowed).sort();
    const slots = new Set<number>();
    for (const q of queries) {
      for (let wanted = Math.min(index.imageCount, options.k * 4); ; wanted = Math.min(index.imageCount, wanted * 4)) {
        const found = [...(await index.topImages(q, wanted)).slots].filter(ok);
        if (found.length >= options.k || wanted === index.imageCount) {
          for (const s of found.slice(0, options.k)) slots.add(s);
          break;
        }
      }
    }
    return Uint32Array.from(slots).sort();
  }
}

/** Per image: best row per query vector, mean over query vectors; sorted by the mode's score, top N. */
function combinePerImage(
  slots: Uint32Array,
  index: VectorIndex,
  rows: Uint32Array,
  baseline: Float32Array[],
  adapted: Float32Array[] | null,
  options: SearchOptions,
): RankedImage[] {
  const ranked: RankedImage[] = [];
  let cursor = 0;
  for (const slot of slots) {
    const n = index.rowCount(slot);
    const base = bestPerQuery(baseline, cursor, n);
    const adapt = adapted ? bestPerQuery(adapted, cursor, n) : null;
    const primary = adapt ?? base;
    ranked.push({ slot, score: primary.mean, baselineScore: base.mean, bestRow: rows[cursor + primary.bestOffset]! });
    cursor += n;
  }
  ranked.sort((a, b) => b.score - a.score || a.slot - b.slot);
  return ranked.slice(0, options.top);
}

function bestPerQuery(scores: Float32Array[], start: number, n: number): { mean: number; bestOffset: number } {
  let sum = 0;
  let bestScore = -Infinity;
  let bestOffset = 0;
  for (const perRow of scores) {
    let max = -Infinity;
    let arg = 0;
    for (let i = 0; i < n; i++) {
      const s = perRow[start + i]!;
      if (s > max) {
        max = s;
        arg = i;
      }
    }
    sum += max;
    if (max > bestScore) {
      bestScore = max;
      bestOffset = arg;
    }
  }
  return { mean: sum / scores.length, bestOffset };
}
