// The "likely matches" divider of the results grid. Scores are cosine similarities whose scale moves with the crop
// (a small crop's best unrelated hit can outscore a large crop's true match), so no score threshold means the same
// thing across queries. Stage 3's verdict does: a hit is verified when enough of the crop's keypoints map onto it by
// one homography, whatever the crop's size, and verified hits rank first by that count. The divider sits after the
// leading run of strongly verified hits (electron/shared/likelyMatches.ts, the rule `quari eval` measures); README
// "Confidence" gives what was measured.
import type { SearchHit } from '../../../electron/shared/api.ts';
import { LIKELY_MIN_INLIERS, likelyMatchCount } from '../../../electron/shared/likelyMatches.ts';

export interface LikelyMatches {
  /** How many leading hits are likely matches (the divider sits after them). */
  count: number;
  /** The divider's one-line label. */
  label: string;
  /** What the divider means, for its tooltip and legend. */
  legend: string;
}

const MEANING =
  `Likely matches are hits whose geometry was verified strongly: at least ${LIKELY_MIN_INLIERS} of the crop's keypoints ` +
  'map onto the hit by one perspective transform. That test does not depend on the crop\'s size or on the score scale, so it means the same ' +
  'for every query. A verified hit can still show another object with the same pattern: confirm each one in ' +
  'compare, where its outline shows what matched. Below the line come the weakly verified hits (fewer keypoints fit: ' +
  'often a real match seen from further away or partly hidden, sometimes a repeated pattern), then the rest ordered ' +
  'by similarity score only: check each one.';

export function likelyMatches(hits: readonly SearchHit[]): LikelyMatches {
  const count = likelyMatchCount(hits);
  const weak = hits.filter((h) => h.verification.status === 'verified').length - count;
  const below = weak > 0 ? `▼ ${weak} verified weakly, then by score only` : '▼ by score only';
  if (count > 0) return { count, label: `▲ ${count} likely match${count === 1 ? '' : 'es'} (verified) · ${below}`, legend: MEANING };
  if (weak > 0) return { count: 0, label: `No likely match (fewer than ${LIKELY_MIN_INLIERS} keypoints fit any hit) · ${below}`, legend: MEANING };
  const statuses = new Set(hits.map((h) => h.verification.status));
  if (statuses.has('multi-region')) {
    return { count: 0, label: 'No likely matches can be told: searches with several crops are not verified', legend: `${MEANING} Search one crop at a time to have hits verified.` };
  }
  if (statuses.has('query-too-few-features')) {
    return { count: 0, label: 'No likely matches can be told: the crop has too few features to verify', legend: `${MEANING} A flat or tiny crop cannot be verified: draw a larger box around a textured detail.` };
  }
  if (statuses.has('unverified') || statuses.has('failed')) {
    return { count: 0, label: 'No hit was verified: none is a likely match · ▼ by score only', legend: MEANING };
  }
  // Only a search restored from the history (a reload) has no verdicts at all: its ranking is kept, stage 3's are not.
  return { count: 0, label: 'Not verified (a restored search keeps its ranking, not the verification): search again to see likely matches', legend: MEANING };
}
