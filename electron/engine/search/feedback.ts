// Relevance feedback: one definition of "search again with what the analyst marked", used by the app's search and by
// `quari eval --feedback`. The regions where the relevant hits matched join the query; images marked not relevant
// are excluded. Two ways to join, both kept because `quari eval --feedback` measures them side by side:
//  - 'regions': the matched regions become further query vectors of the same search, scored by the engine's
//    multi-region rule (mean over query vectors of each image's best match), so images resembling the query AND the
//    confirmed matches rank first;
//  - 'queries': each matched region is a search of its own (its own QuARI adaptation in adaptive mode) and an
//    image keeps its best score over the original search and those, so an image resembling any of them ranks.
import type { Box } from '../images/decode.ts';
import type { QuerySpec, SearchRecordOptions, SearchResult, SearchService } from './SearchService.ts';

export type FeedbackStrategy = 'regions' | 'queries';
export const FEEDBACK_STRATEGIES: readonly FeedbackStrategy[] = ['regions', 'queries'];

export interface Feedback {
  /** Where each relevant hit matched: a catalogued image's file and the region, in its pixels. */
  relevant: { imagePath: string; box: Box }[];
  /** Images marked not relevant: kept out of the new ranking. */
  excludeImageIds: readonly number[];
}

/** Runs the feedback search. `queryVectors` are the original query's vectors (one per crop). */
export async function searchWithFeedback(
  service: SearchService,
  spec: QuerySpec,
  queryVectors: Float32Array[],
  feedback: Feedback,
  strategy: FeedbackStrategy,
  options: { record?: SearchRecordOptions; excludeImageIds?: readonly number[] } = {},
): Promise<SearchResult> {
  const exclude = [...(options.excludeImageIds ?? []), ...feedback.excludeImageIds];
  const extra: Float32Array[] = [];
  for (const r of feedback.relevant) extra.push(...(await service.queryVectors({ imagePath: r.imagePath, crops: [r.box] })));
  if (strategy === 'regions' || extra.length === 0) {
    return service.search(spec, { record: options.record ?? false, vectors: [...queryVectors, ...extra], excludeImageIds: exclude });
  }
  // 'queries': the original search and one per matched region, fused by each image's best score.
  const started = performance.now();
  const runs = [await service.search(spec, { record: false, vectors: queryVectors, excludeImageIds: exclude })];
  for (const v of extra) runs.push(await service.search(spec, { record: false, vectors: [v], excludeImageIds: exclude }));
  const best = new Map<number, SearchResult['hits'][number]>();
  for (const run of runs) {
    for (const h of run.hits) {
      const seen = best.get(h.imageId);
      if (!seen || h.score > seen.score) best.set(h.imageId, h);
    }
  }
  const hits = [...best.values()].sort((a, b) => b.score - a.score || a.imageId - b.imageId).slice(0, spec.top).map((h, i) => ({ ...h, rank: i + 1 }));
  const fused: SearchResult = {
    searchId: null,
    hits,
    candidates: Math.max(...runs.map((r) => r.candidates)),
    durationMs: performance.now() - started,
    stage1Ms: runs.reduce((s, r) => s + r.stage1Ms, 0),
    stage2Ms: runs.reduce((s, r) => s + r.stage2Ms, 0),
    // Stage 3 ran inside each search; the fused ranking keeps each hit's own verification.
    verification: runs[0]!.verification,
  };
  if (options.record) fused.searchId = service.recordResult(spec, fused, options.record);
  return fused;
}
