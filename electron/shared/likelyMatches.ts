// The "likely matches" line of the results grid, defined once: the results grid draws it and `quari eval` measures
// it with this same rule. Pure (no Node, no DOM), so the renderer and the engine both import it.
//
// A hit is a likely match when stage 3 verified it with at least LIKELY_MIN_INLIERS inliers. Verified hits rank
// first by inlier count, so the likely matches are always the leading run of the ranking. The bar is higher than
// the verification threshold (VerifyParams.minInliers), which only decides the order: a weak fit may rank a hit
// up, but the line tells the analyst where the strong evidence ends.

/**
 * Inliers a verified hit needs to stand above the line. Selected on held-out data only (training families, EVAL
 * split; never the cross-family benchmark): README "Confidence" has the table.
 */
export const LIKELY_MIN_INLIERS = 40;

/** What the rule reads of a hit: the wire's SearchHit and the engine's hits both have it. */
export interface VerdictOf {
  verification: { status: string; inliers: number };
}

export const isLikelyMatch = (hit: VerdictOf, minInliers = LIKELY_MIN_INLIERS): boolean =>
  hit.verification.status === 'verified' && hit.verification.inliers >= minInliers;

/** How many leading hits are likely matches: the line sits after them. */
export function likelyMatchCount(hits: readonly VerdictOf[], minInliers = LIKELY_MIN_INLIERS): number {
  const lead = hits.findIndex((h) => !isLikelyMatch(h, minInliers));
  return lead === -1 ? hits.length : lead;
}
