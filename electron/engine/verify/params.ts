// Stage 3 (geometric verification) parameters: one definition, validated by name, recorded in the search history
// with every search. The defaults follow the calibration of issue 10 (ORB, ratio test, a robust homography,
// verified hits first by inlier count), scaled down to what OpenCV's WASM build verifies in time at query time.
export interface VerifyParams {
  /** How many of the best-ranked hits are verified; 0 turns stage 3 off. */
  k: number;
  /** ORB features extracted from the query crop / from each hit's candidate region. */
  queryFeatures: number;
  candidateFeatures: number;
  /** Lowe's ratio test on the two nearest Hamming neighbours. */
  ratio: number;
  /**
   * Reprojection threshold of the robust homography fit, in pixels of the candidate region as extracted (the name
   * predates the switch from RANSAC to USAC and is kept: the search history records it).
   */
  ransacPx: number;
  /** A hit is verified when its homography has at least this many inliers. */
  minInliers: number;
  /** Fewer query keypoints than this and the search keeps the unverified order (flat colour, tiny crop). */
  minQueryFeatures: number;
  /** The candidate region is the hit's best window grown by this factor around its centre. */
  regionScale: number;
  /**
   * Long side, in pixels, a larger query crop is scaled down to. Each candidate region is scaled so that the hit's
   * window matches the crop's long side (at most 2× up): ORB's pyramid spans only ≈ 3.6× of scale.
   */
  maxSide: number;
  /**
   * Long side a smaller query crop is scaled up to: ORB ignores a 31-px border and needs room for its pyramid, so
   * a 160×120 crop at its own size yields too few keypoints to verify anything.
   */
  queryMinSide: number;
  /**
   * 1: the crop is also matched mirrored (left–right), and the better fit counts. ORB descriptors are not
   * mirror-invariant, yet mirrored views are common evidence: front-camera selfies, photos of a mirror, flipped
   * reposts. 0: direct matches only (half the matching work).
   */
  mirror: number;
}

/**
 * Selected on held-out data only (training families, EVAL split; never the cross-family benchmark): 45 tiered crop
 * queries (15 easy / 15 medium / 15 hard) in a 405-image catalog generated like the cross-family one (split eval,
 * seed 31, 4 scenes per object, objects at 3–10 %), default pack, K = 100, with
 * native-models/tools/training/verify/sweep.ts --negatives 10 (relevant hits of the top 100 plus 10 others per query
 * checked: mAP is an optimistic estimate; "FP" = checked non-relevant hits that verified, of 450). Adaptive alone:
 * 0.372 mAP@100, R@100 0.785. Parameter set → mAP@100 at minInliers 8 / 12, FP at 12 (2026-12-07, load ≈ 25):
 *   previous defaults (500/500 features, ratio 0.8, region ×2, 320 px)  0.536 / 0.515, FP 1
 *   region ×4 (≈ the whole 1024×768 image), 1000 candidate features    0.525 / 0.519, FP 1
 *   1000 candidate features                                            0.521 / 0.515, FP 2
 *   1000 candidate features, query at 384–480 px                       0.529 / 0.529, FP 2
 *   ratio 0.9                                                          0.539 / 0.539, FP 3
 *   1000 query + 1000 candidate features                               0.529 / 0.516, FP 2
 *   1000 query + 1000 candidate features, ratio 0.9 (chosen)           0.552 / 0.546, FP 2
 * Checked on every hit of the top 100 (no sampling), same 45 queries: previous defaults 0.507 mAP@100 (R@1 0.230,
 * R@10 0.593; 6 of 4,394 non-relevant hits verified; 61 CPU-ms per candidate), chosen 0.540 (0.237, 0.615; 7 of
 * 4,394; 112 CPU-ms per candidate, load ≈ 10–13).
 * The spread is small on 45 queries (≈ 106 relevant hits in the top 100): the finding that mattered was where
 * verification lost hits — 99 of the 106 lay inside the searched region (window ×2), yet only 40 of those
 * verified. Half the benchmark's pastes are mirrored (as selfie cameras, mirrors and reposts mirror real evidence),
 * and ORB cannot match a mirrored view: hence `mirror`.
 * Second round, same 45 queries and catalog, every hit of the top 100 checked, after the switch from classic RANSAC
 * to USAC (geometry.ts; 2026-12-07, load ≈ 4; FP = non-relevant hits verified, of 4,394; at minInliers 12 / 15):
 *   mirror 0                                          0.544 / 0.545, FP 24 / 15, 36.6 CPU-ms per candidate
 *   mirror 1 (chosen)                                 0.622 / 0.616, FP 41 / 26, 42.5 CPU-ms; relevant in the
 *                                                     searched region that verified: 70 of 99 (53 with mirror 0)
 *   mirror 1, grey stretched first (sharp normalise)  0.629 / 0.627, FP 51 / 29, 58.5 CPU-ms
 *   mirror 1, local contrast first (CLAHE 32 px)      0.643 / 0.630, FP 55 / 32, 103.2 CPU-ms
 * Contrast adjustment is left out: +0.007 / +0.021 mAP for 1.4× / 2.4× the time per candidate. minInliers rises to
 * 15: USAC verifies more non-relevant hits than RANSAC did (24 against 7 at 12 without mirroring), and 15 costs
 * 0.006 mAP (within the spread) for 37 % fewer of them (R@1 0.252, R@10 0.674 at 15).
 * Depth, same queries, mirror 1, minInliers 12 / 15 (stage 2's R@K is the ceiling: R@100 0.785, R@200 0.830,
 * R@300 0.844): K 100 0.622 / 0.616; K 200 0.664 / 0.658 (FP 77 / 48 of 8,881); K 300 0.675 / 0.671 (FP 110 / 67
 * of 13,374); ≈ 42 CPU-ms per candidate. K = 200 is chosen: +0.042 for twice the time (≈ 4 s per query on two
 * cores, under the ≈ 10 s one search took before this round); 300 adds 0.013 for another half.
 * Threshold at K = 200 (same queries; verified relevant / non-relevant hits, the likely-matches line's precision):
 *   minInliers 15: mAP@100 0.658, 77 / 48 (62 %)     minInliers 20: 0.655, 76 / 25 (75 %)
 *   minInliers 25: 0.652, 74 / 16 (82 %)             minInliers 30: 0.631, 69 / 11 (86 %)
 *   minInliers 40: 0.593, 61 / 7 (90 %)              minInliers 60: 0.577, 54 / 3 (95 %)
 * 20 is chosen: the highest threshold within 0.005 mAP of the best; it halves the false fits.
 * Depth again once descriptor matching moved to the native kernel (≈ 39 instead of ≈ 58 CPU-ms per candidate on the
 * verify bench; 28–31 here on 1024×768 images), same queries (2026-12-08, load ≈ 3–4):
 *   K 300: minInliers 15 / 20 / 25 / 30: 0.671 / 0.661 / 0.659 / 0.638 (relevant / non-relevant verified at 20:
 *          77 / 32, 71 %; at 15: 79 / 67, 54 %)
 *   K 400: 0.677 / 0.666 / 0.663 / 0.646 (at 20: 78 / 38, 67 %)
 * K = 300 is chosen: it verifies in the time K = 200 took before (+0.006 mAP@100 at minInliers 20); 400 adds 0.005
 * for another third. minInliers stays 20 although 15 scores 0.009 higher at K = 300: that gain is two more relevant
 * fits bought with 35 more false ones, and the likely-matches line would drop from 71 % to 54 % true.
 */
export const DEFAULT_VERIFY_PARAMS: Readonly<VerifyParams> = Object.freeze({
  k: 300,
  queryFeatures: 1000,
  candidateFeatures: 1000,
  ratio: 0.9,
  ransacPx: 5,
  minInliers: 20,
  minQueryFeatures: 20,
  regionScale: 2,
  maxSide: 320,
  queryMinSide: 256,
  mirror: 1,
});

const LIMITS: Record<keyof VerifyParams, { min: number; max: number; integer: boolean }> = {
  k: { min: 0, max: 10_000, integer: true },
  queryFeatures: { min: 10, max: 10_000, integer: true },
  candidateFeatures: { min: 10, max: 10_000, integer: true },
  ratio: { min: 0.1, max: 1, integer: false },
  ransacPx: { min: 0.5, max: 50, integer: false },
  minInliers: { min: 4, max: 10_000, integer: true },
  minQueryFeatures: { min: 4, max: 10_000, integer: true },
  regionScale: { min: 1, max: 10, integer: false },
  maxSide: { min: 64, max: 4096, integer: true },
  queryMinSide: { min: 16, max: 4096, integer: true },
  mirror: { min: 0, max: 1, integer: true },
};

/** Defaults overridden by `given`; throws naming the parameter at fault for unknown keys or out-of-range values. */
export function verifyParams(given: Partial<Record<string, unknown>> = {}): VerifyParams {
  const out: VerifyParams = { ...DEFAULT_VERIFY_PARAMS };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!(key in LIMITS)) throw new Error(`verification parameter "${key}" is unknown (known: ${Object.keys(LIMITS).join(', ')})`);
    const { min, max, integer } = LIMITS[key as keyof VerifyParams];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`verification parameter "${key}" must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${JSON.stringify(value)})`);
    }
    out[key as keyof VerifyParams] = value;
  }
  return out;
}
