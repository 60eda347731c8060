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
