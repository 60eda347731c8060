// `quari eval --feedback`: one simulated round of relevance feedback per query. The analyst is assumed to mark the
// relevant images among the first 10 hits (ground truth decides) and every other image there as not relevant; the
// search runs again with electron/engine/search/feedback.ts, each strategy in turn. The ranking scored is what the
// analyst then sees: the images confirmed relevant first (in their original order), then the new ranking without
// them. Reported next to the plain modes as {"feedback":{"mode","regions":{…},"queries":{…}}}.
import type { CatalogStore } from '../../../db/Interface.ts';
import type { Box } from '../images/decode.ts';
import { FEEDBACK_STRATEGIES, searchWithFeedback, type FeedbackStrategy } from '../search/feedback.ts';
import type { SearchService } from '../search/SearchService.ts';
import { summarise, type RetrievalSummary } from './metrics.ts';

/** How many first hits the simulated analyst reviews. */
export const FEEDBACK_REVIEWED = 10;

export interface FeedbackQuery {
  image: string;
  crops: Box[];
  relevant: ReadonlySet<string>;
}

export type FeedbackReport = { mode: 'baseline' | 'adaptive'; reviewed: number } & Record<FeedbackStrategy, RetrievalSummary>;

export async function evalFeedback(
  service: SearchService,
  store: CatalogStore,
  queries: readonly FeedbackQuery[],
  options: { mode: 'baseline' | 'adaptive'; k: number; cutoff: number },
): Promise<FeedbackReport> {
  const rankings = Object.fromEntries(FEEDBACK_STRATEGIES.map((s) => [s, [] as { ranked: string[]; relevant: ReadonlySet<string> }[]])) as Record<
    FeedbackStrategy,
    { ranked: string[]; relevant: ReadonlySet<string> }[]
  >;
  const top = Math.max(options.cutoff, 100);
  for (const q of queries) {
    const spec = { imagePath: q.image, crops: q.crops, mode: options.mode, k: options.k, top };
    const vectors = await service.queryVectors(spec);
    const own = store.getImageByPath(q.image);
    const ownIds = own ? [own.id] : [];
    const first = await service.search(spec, { record: false, vectors, excludeImageIds: ownIds });
    const reviewed = first.hits.slice(0, FEEDBACK_REVIEWED);
    const confirmed = reviewed.filter((h) => q.relevant.has(h.path));
    const feedback = {
      relevant: confirmed.map((h) => ({ imagePath: h.path, box: h.box })),
      excludeImageIds: reviewed.filter((h) => !q.relevant.has(h.path)).map((h) => h.imageId),
    };
    for (const strategy of FEEDBACK_STRATEGIES) {
      const again = await searchWithFeedback(service, spec, vectors, feedback, strategy, { excludeImageIds: [...ownIds, ...confirmed.map((h) => h.imageId)] });
      rankings[strategy].push({ ranked: [...confirmed.map((h) => h.path), ...again.hits.map((h) => h.path)], relevant: q.relevant });
    }
  }
  return {
    mode: options.mode,
    reviewed: FEEDBACK_REVIEWED,
    ...(Object.fromEntries(FEEDBACK_STRATEGIES.map((s) => [s, summarise(rankings[s], options.cutoff)])) as Record<FeedbackStrategy, RetrievalSummary>),
  };
}
