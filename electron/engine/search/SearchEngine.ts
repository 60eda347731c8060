// Two-stage search over a multi-vector catalog.
//
// Stage 1 (a CandidateSource: the exact in-memory scan, or the on-disk IVF index) names each query vector's K best
// images by inner product, an image scoring the best of its vectors (whole image and regions); in adaptive mode
// QuARI's effective query (effectiveQuery below) is probed beside the plain one. Stage 2 always scores
// exactly, on the candidates' own vectors (a RowSource): plain inner products, and in adaptive mode the QuARI
// hypernetwork's low-rank transform q'·normalize(x + a·(x·U)·Vᵀ) over every vector of those images; k = 0 takes the
// whole catalog as candidates.
//
// Multi-region queries ("this lamp AND this carpet") use one rule in both stages: each query vector is scored on its
// own, an image's score for it is its best-matching vector, and the image's score is the MEAN over the query vectors.
// The mean rewards images that hold every queried detail over images that match one detail very well, which is what
// an analyst selecting several details of one room wants. A single query vector reduces to plain max-over-regions.
import type { SearchMode } from '../../shared/constants.ts';
import type { CandidateSource, RowSource } from './CandidateSource.ts';
import type { LowRankTransform, VectorIndex } from './VectorIndex.ts';

export interface QueryAdapter {
  /** Refined queries and low-rank factors for a batch of query vectors (row-major [B, dim]). */
  adapt(queries: Float32Array, batch: number): Promise<LowRankTransform[]>;
}

export interface SearchOptions {
  mode: SearchMode;
  /** Stage-1 candidates per probe (each query vector, and in adaptive mode its effective query too); 0 = every image. */
  k: number;
  top: number;
  /** Catalog image ids never returned (e.g. the query's own image during evaluation). */
  excludeImageIds?: ReadonlySet<number>;
  /**
   * When given, only these catalog image ids can be returned (the search filters). Applied inside stage 1: the K
   * candidates are the K best allowed images, never a filtered remnant of the K best overall.
   */
  allowImageIds?: ReadonlySet<number>;
}

export interface RankedImage {
  imageId: number;
  score: number;
  baselineScore: number;
  /** Normalised [x, y, w, h] of the vector that matched best (for the query vector with the highest score). */
  box: [number, number, number, number];
  /** 0 where the image had no content score. */
  explicitScore: number;
  /** Per query vector, in query order, the normalised box of the row that matched it best: one per crop. */
  queryBoxes: [number, number, number, number][];
}

export interface SearchOutcome {
  ranked: RankedImage[];
  candidates: number;
  /** Stage 1: the candidates, then their rows read (rowsMs of it: on a catalog larger than the page cache, disk). */
  stage1Ms: number;
  rowsMs: number;
  stage2Ms: number;
}

/**
 * Stage 1's second probe in adaptive mode: w = q' + a·U·(Vᵀq'), unit length. Since q'·(x·W) = x·w, ranking by x·w
 * is the adaptive score without its per-row norm ‖x·W‖, so it names images stage 2 will rank first, where the plain
 * query names only the plain search's best for QuARI to re-order. Measured 2026-12-08, adaptive mAP@100 at K = 100
 * on the held-out benchmark (training families, EVAL split, 200 crop queries, 1,037 images): probing with q 0.393
 * (R@100 0.606), with w 0.435 (R@100 0.858, the whole catalog's figure), with both 0.435. Both are probed because
 * w alone loses near-copies of the query that the adaptive score ranks high (x·w leaves out the norm): on
 * bench:scale's 10k catalog the planted copies in the adaptive top 100 were 0.855 probing with q, 0.67 with w alone
 * and 0.82 with both — every copy is a candidate then, and the few that drop out are outranked on QuARI's own score
 * by images only w brought in.
 */
export function effectiveQuery(t: LowRankTransform): Float32Array {
  const { refinedQuery: q, U, V, rank: r, anchorScale: a } = t;
  const d = q.length;
  const c = new Float64Array(r);
  for (let i = 0; i < d; i++) for (let j = 0; j < r; j++) c[j]! += V[i * r + j]! * q[i]!;
  const w = new Float32Array(d);
  let n = 0;
  for (let i = 0; i < d; i++) {
    let v = q[i]!;
    for (let j = 0; j < r; j++) v += a * U[i * r + j]! * c[j]!;
    w[i] = v;
    n += v * v;
  }
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < d; i++) w[i]! /= n;
  return w;
}

/** The vectors stage 1 is probed with: the query vectors, then in adaptive mode each one's effective query. */
export function stage1Probes(queries: readonly Float32Array[], transforms: readonly LowRankTransform[] | null): Float32Array[] {
  return transforms ? [...queries, ...transforms.map(effectiveQuery)] : [...queries];
}

export class SearchEngine {
  constructor(
    readonly source: CandidateSource,
    private readonly rowSource: RowSource,
    private readonly adapter: QueryAdapter | null,
  ) {}

  /** Both stages over one in-memory index (an exact stage 1). */
  static overIndex(index: VectorIndex, adapter: QueryAdapter | null): SearchEngine {
    return new SearchEngine(index, index, adapter);
  }

  async search(queries: readonly Float32Array[], options: SearchOptions): Promise<SearchOutcome> {
    const { source } = this;
    if (queries.length === 0) throw new Error('a search needs at least one query vector');
    for (const q of queries) if (q.length !== source.dim) throw new Error(`query has ${q.length} dimensions, the index has ${source.dim}`);
    if (options.mode === 'adaptive' && !this.adapter) throw new Error('adaptive search needs a QuARI checkpoint in the active model pack');

    const t0 = performance.now();
    let transforms: LowRankTransform[] | null = null;
    if (options.mode === 'adaptive') {
      const batch = new Float32Array(queries.length * source.dim);
      queries.forEach((q, i) => batch.set(q, i * source.dim));
      transforms = await this.adapter!.adapt(batch, queries.length);
    }
    const adaptMs = performance.now() - t0;
    const ids = await this.candidateIds(stage1Probes(queries, transforms), options);
    const tRows = performance.now();
    const index = await this.rowSource.vectorsOf(ids);
    const rowsMs = performance.now() - tRows;
    const slots = Uint32Array.from({ length: index.imageCount }, (_, i) => i);
    const rows = index.rowsOf(slots);
    const baseline = queries.map((q) => index.scoreRows(rows, q));
    const t1 = performance.now();

    let adapted: Float32Array[] | null = null;
    if (transforms) {
      adapted = [];
      for (const t of transforms) adapted.push(await index.rescoreRows(rows, t));
    }
    const t2 = performance.now();

    const ranked = combinePerImage(slots, index, rows, baseline, adapted, options);
    return { ranked, candidates: slots.length, stage1Ms: t1 - t0 - adaptMs, rowsMs, stage2Ms: t2 - t1 + adaptMs };
  }

  /** Union of each query vector's stage-1 top-K images (or all images), minus exclusions, ascending. */
  private async candidateIds(queries: readonly Float32Array[], options: SearchOptions): Promise<Uint32Array> {
    if (options.allowImageIds) return this.allowedCandidateIds(queries, options, options.allowImageIds);
    const { source } = this;
    const excluded = options.excludeImageIds;
    const wanted = options.k === 0 ? source.imageCount : Math.min(source.imageCount, options.k + (excluded?.size ?? 0));
    let ids: Iterable<number>;
    if (wanted < source.imageCount) {
      const union = new Set<number>();
      for (const hits of await source.topImages(queries, wanted)) for (const id of hits.ids) union.add(id);
      ids = union;
    } else {
      ids = source.allImageIds();
    }
    const kept: number[] = [];
    for (const id of ids) if (!excluded?.has(id)) kept.push(id);
    return Uint32Array.from(kept).sort();
  }

  /**
   * Stage 1 restricted to `allow`: when the allowed images are no more than K they are all candidates; otherwise
   * the scan is widened (×4 each time) until each query's best-first answer holds K allowed images — those are its
   * K best allowed images — or the scan covers the catalog.
   */
  private async allowedCandidateIds(queries: readonly Float32Array[], options: SearchOptions, allow: ReadonlySet<number>): Promise<Uint32Array> {
    const { source } = this;
    const ok = (id: number) => allow.has(id) && !options.excludeImageIds?.has(id);
    if (options.k === 0 || allow.size <= options.k) {
      const held = new Set(source.allImageIds());
      return Uint32Array.from([...allow].filter((id) => held.has(id) && ok(id))).sort();
    }
    const union = new Set<number>();
    let pending = [...queries];
    for (let wanted = Math.min(source.imageCount, options.k * 4); pending.length > 0; wanted = Math.min(source.imageCount, wanted * 4)) {
      const answers = await source.topImages(pending, wanted);
      const short: Float32Array[] = [];
      answers.forEach((hits, q) => {
        const found = [...hits.ids].filter(ok);
        if (found.length >= options.k || wanted === source.imageCount) for (const id of found.slice(0, options.k)) union.add(id);
        else short.push(pending[q]!);
      });
      pending = short;
    }
    return Uint32Array.from(union).sort();
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
    ranked.push({
      imageId: index.imageId(slot),
      score: primary.mean,
      baselineScore: base.mean,
      box: index.box(rows[cursor + primary.bestOffset]!),
      explicitScore: index.explicitScore(slot),
      queryBoxes: primary.offsets.map((o) => index.box(rows[cursor + o]!)),
    });
    cursor += n;
  }
  ranked.sort((a, b) => b.score - a.score || a.imageId - b.imageId);
  return ranked.slice(0, options.top);
}

function bestPerQuery(scores: Float32Array[], start: number, n: number): { mean: number; bestOffset: number; offsets: number[] } {
  let sum = 0;
  const offsets: number[] = [];
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
    offsets.push(arg);
    if (max > bestScore) {
      bestScore = max;
      bestOffset = arg;
    }
  }
  return { mean: sum / scores.length, bestOffset, offsets };
}
