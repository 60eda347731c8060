// Retrieval metrics with the standard definitions used by `quari eval`.

/**
 * Average precision over the first `cutoff` ranks, normalised by the number of relevant items capped at `cutoff`:
 * AP@n = (1 / min(|R|, n)) · Σ_{i ≤ n, ranked[i] ∈ R} precision@i.
 */
export function averagePrecisionAt<T>(ranked: readonly T[], relevant: ReadonlySet<T>, cutoff: number): number {
  if (relevant.size === 0) throw new Error('average precision needs at least one relevant item');
  let hits = 0;
  let sum = 0;
  const n = Math.min(cutoff, ranked.length);
  for (let i = 0; i < n; i++) {
    if (relevant.has(ranked[i]!)) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(relevant.size, cutoff);
}

/** Recall@k: the share of the relevant items found in the first k ranks. */
export function recallAt<T>(ranked: readonly T[], relevant: ReadonlySet<T>, k: number): number {
  if (relevant.size === 0) throw new Error('recall needs at least one relevant item');
  let hits = 0;
  const n = Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i]!)) hits++;
  return hits / relevant.size;
}

export interface RetrievalSummary {
  'mAP@100': number;
  'R@1': number;
  'R@10': number;
  'R@100': number;
}

/** Mean of the per-query metrics; `cutoff` is the AP depth (100 unless --top says otherwise). */
export function summarise<T>(rankings: readonly { ranked: readonly T[]; relevant: ReadonlySet<T> }[], cutoff = 100): RetrievalSummary {
  if (rankings.length === 0) throw new Error('no queries to summarise');
  const mean = (f: (r: { ranked: readonly T[]; relevant: ReadonlySet<T> }) => number) =>
    rankings.reduce((s, r) => s + f(r), 0) / rankings.length;
  return {
    'mAP@100': mean((r) => averagePrecisionAt(r.ranked, r.relevant, cutoff)),
    'R@1': mean((r) => recallAt(r.ranked, r.relevant, 1)),
    'R@10': mean((r) => recallAt(r.ranked, r.relevant, 10)),
    'R@100': mean((r) => recallAt(r.ranked, r.relevant, 100)),
  };
}

/** What the results grid's "likely matches" divider (the leading verified hits) is worth, pooled over queries. */
export interface DividerSummary {
  /** Mean number of hits above the divider per query. */
  likelyPerQuery: number;
  /** Share of the queries with at least one hit above it. */
  queriesWithLikely: number;
  /** Share of the hits above it that are relevant (pooled). */
  precision: number | null;
  /** Mean share of each query's relevant images that are above it. */
  recall: number;
  /** The same share for the first as many hits of the reference ranking (the model's, unverified): what a cut at that depth would give without verification. */
  referencePrecision: number | null;
}

export function dividerSummary<T>(queries: readonly { ranked: readonly T[]; likely: number; reference: readonly T[]; relevant: ReadonlySet<T> }[]): DividerSummary {
  if (queries.length === 0) throw new Error('no queries to summarise');
  let likely = 0;
  let relevantAbove = 0;
  let referenceRelevant = 0;
  let withLikely = 0;
  let recall = 0;
  for (const q of queries) {
    const above = q.ranked.slice(0, q.likely).filter((x) => q.relevant.has(x)).length;
    likely += q.likely;
    relevantAbove += above;
    referenceRelevant += q.reference.slice(0, q.likely).filter((x) => q.relevant.has(x)).length;
    if (q.likely > 0) withLikely++;
    recall += above / q.relevant.size;
  }
  return {
    likelyPerQuery: likely / queries.length,
    queriesWithLikely: withLikely / queries.length,
    precision: likely > 0 ? relevantAbove / likely : null,
    recall: recall / queries.length,
    referencePrecision: likely > 0 ? referenceRelevant / likely : null,
  };
}
