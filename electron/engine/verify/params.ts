// Stage 3 (geometric verification) parameters: one definition, validated by name, recorded in the search history
// with every search. The defaults reproduce the calibration of issue 10 (ORB, ratio test, RANSAC homography,
// verified hits first by inlier count), scaled down to what OpenCV's WASM build verifies in time at query time.
export interface VerifyParams {
  /** How many of the best-ranked hits are verified; 0 turns stage 3 off. */
  k: number;
  /** ORB features extracted from the query crop / from each hit's candidate region. */
  queryFeatures: number;
  candidateFeatures: number;
  /** Lowe's ratio test on the two nearest Hamming neighbours. */
  ratio: number;
  /** RANSAC reprojection threshold, in pixels of the candidate region as extracted. */
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
}

export const DEFAULT_VERIFY_PARAMS: Readonly<VerifyParams> = Object.freeze({
  k: 100,
  queryFeatures: 500,
  candidateFeatures: 500,
  ratio: 0.8,
  ransacPx: 5,
  minInliers: 12,
  minQueryFeatures: 20,
  regionScale: 2,
  maxSide: 320,
  queryMinSide: 256,
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
