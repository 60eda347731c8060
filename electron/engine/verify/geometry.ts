// One verification of a query crop against one candidate region: OpenCV's ORB keypoints and descriptors,
// brute-force Hamming 2-NN matching (the native kernel search/native/hamming.c) with Lowe's ratio test, OpenCV's
// robust homography (USAC), and the crop's outline mapped through it. A fit counts only when enough matches are
// inliers and the mapped outline is a plausible view of the crop (convex, same orientation, not collapsed), so that a
// degenerate homography never draws a region. A mirrored view is found by matching the mirrored crop (mirrorGray),
// whose fit then is a proper view of it.
import { hammingKnn2 } from '../search/kernels.ts';
import type { Cv, CvMat } from './opencv.ts';
import type { VerifyParams } from './params.ts';

export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Features {
  /** Keypoint positions, x0,y0,x1,y1,… in pixels of the image they came from. */
  points: Float32Array;
  /** ORB descriptors, one 32-byte row per keypoint (copied out of OpenCV's heap). */
  descriptors: Uint8Array;
  count: number;
}

/** Bytes of one ORB descriptor. */
const ORB_BYTES = 32;

export function extractFeatures(cv: Cv, image: GrayImage, maxFeatures: number): Features {
  const mat = cv.matFromArray(image.height, image.width, cv.CV_8UC1, image.data);
  const orb = new cv.ORB(maxFeatures);
  const keypoints = new cv.KeyPointVector();
  const mask = new cv.Mat();
  const descriptors = new cv.Mat();
  try {
    orb.detectAndCompute(mat, mask, keypoints, descriptors);
    const count = keypoints.size();
    const points = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) {
      const { pt } = keypoints.get(i);
      points[2 * i] = pt.x;
      points[2 * i + 1] = pt.y;
    }
    if (count > 0 && (descriptors.rows !== count || descriptors.cols !== ORB_BYTES)) {
      throw new Error(`ORB descriptors are ${descriptors.rows}×${descriptors.cols} bytes for ${count} keypoints, expected ${count}×${ORB_BYTES}`);
    }
    return { points, descriptors: count > 0 ? descriptors.data.slice(0, count * ORB_BYTES) : new Uint8Array(0), count };
  } finally {
    descriptors.delete();
    mat.delete();
    orb.delete();
    keypoints.delete();
    mask.delete();
  }
}

export interface PairResult {
  /** Matches passing the ratio test. */
  matches: number;
  /** Matches consistent with the homography (0 when no plausible fit). */
  inliers: number;
  /** The query crop's corners (TL, TR, BR, BL) in candidate-image pixels, x0,y0,…; null without a plausible fit. */
  quad: number[] | null;
}

/**
 * The estimator is OpenCV's USAC framework with its default settings (USAC_DEFAULT: among others a verification
 * that stops scoring a hypothesis once it is clearly bad, and local optimisation of the best one), not classic
 * RANSAC. Measured on held-out pairs (training families, EVAL split, 45 crop queries × 3 relevant regions + 2
 * non-relevant, the crop direct and mirrored, 2026-12-07, load ≈ 5, the same matches for every estimator): per
 * candidate classic RANSAC 236 ms (it runs its 2,000 iterations whenever most matches are outliers, i.e. on nearly
 * every non-matching hit) with 116 of the relevant fits verified, RANSAC capped at 500 iterations 74 ms / 113, RHO
 * 1.9 ms / 110, USAC_FAST 3.0 ms / 118, USAC_MAGSAC 4.1 ms / 109, USAC_DEFAULT 5.4 ms / 120; no estimator verified
 * more than 1 non-relevant pair of those 90.
 * The 2-NN matching is the project's native kernel (search/native/hamming.c), not OpenCV.js's BFMatcher: for 870
 * query × 1,000 candidate ORB descriptors of two photos, the same 140 matches pass the ratio test, in 2.5–4.9 ms
 * against 32–33 ms for knnMatch and reading its result out of the WASM heap (2026-12-08, load ≈ 2–5, one thread).
 */
export function matchPair(cv: Cv, query: Features, queryWidth: number, queryHeight: number, candidate: Features, p: VerifyParams): PairResult {
  if (query.count < 2 || candidate.count < 2) return { matches: 0, inliers: 0, quad: null };
  const src: number[] = [];
  const dst: number[] = [];
  const knn = hammingKnn2(query.descriptors, candidate.descriptors, ORB_BYTES);
  for (let i = 0; i < query.count; i++) {
    const at = knn[3 * i]!;
    if (knn[3 * i + 1]! < p.ratio * knn[3 * i + 2]!) {
      src.push(query.points[2 * i]!, query.points[2 * i + 1]!);
      dst.push(candidate.points[2 * at]!, candidate.points[2 * at + 1]!);
    }
  }
  const matches = src.length / 2;
  if (matches < Math.max(4, p.minInliers)) return { matches, inliers: 0, quad: null };
  const srcMat = cv.matFromArray(matches, 1, cv.CV_32FC2, src);
  const dstMat = cv.matFromArray(matches, 1, cv.CV_32FC2, dst);
  const inlierMask = new cv.Mat();
  let h: CvMat | null = null;
  try {
    h = cv.findHomography(srcMat, dstMat, cv.USAC_DEFAULT, p.ransacPx, inlierMask, 2000, 0.995);
    if (h.rows !== 3 || h.cols !== 3) return { matches, inliers: 0, quad: null };
    let inliers = 0;
    for (let i = 0; i < inlierMask.rows; i++) inliers += inlierMask.data[i] ? 1 : 0;
    const quad = mapOutline(Array.from(h.data64F), queryWidth, queryHeight);
    if (!quad || !plausibleQuad(quad, queryWidth * queryHeight)) return { matches, inliers: 0, quad: null };
    return { matches, inliers, quad };
  } finally {
    srcMat.delete();
    dstMat.delete();
    inlierMask.delete();
    h?.delete();
  }
}

/** The image mirrored left–right (a new buffer). */
export function mirrorGray(image: GrayImage): GrayImage {
  const { data, width, height } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x]!;
  }
  return { data: out, width, height };
}

/**
 * A fit of the mirrored crop, as the outline of the crop itself: the mirrored crop's corners TL, TR, BR, BL are the
 * crop's TR, TL, BL, BR, so the crop's own TL, TR, BR, BL are entries 1, 0, 3, 2 (the result turns the other way).
 */
export function unmirrorQuad(q: readonly number[]): number[] {
  return [1, 0, 3, 2].flatMap((c) => [q[2 * c]!, q[2 * c + 1]!]);
}

/** The rectangle [0,w]×[0,h] through homography `m` (row-major 3×3); null when a corner maps to infinity. */
export function mapOutline(m: readonly number[], w: number, h: number): number[] | null {
  const out: number[] = [];
  for (const [x, y] of [[0, 0], [w, 0], [w, h], [0, h]] as const) {
    const z = m[6]! * x + m[7]! * y + m[8]!;
    if (!(Math.abs(z) > 1e-9)) return null;
    out.push((m[0]! * x + m[1]! * y + m[2]!) / z, (m[3]! * x + m[4]! * y + m[5]!) / z);
  }
  return out.every(Number.isFinite) ? out : null;
}

/**
 * Convex, clockwise like the source rectangle (no mirror), and between 1/400 and 400× its area: a real view of
 * a flat-ish object. Anything else is RANSAC fitting noise.
 */
export function plausibleQuad(q: readonly number[], sourceArea: number): boolean {
  for (let i = 0; i < 4; i++) {
    const [ax, ay, bx, by, cx, cy] = [q[2 * i]!, q[2 * i + 1]!, q[(2 * i + 2) % 8]!, q[(2 * i + 3) % 8]!, q[(2 * i + 4) % 8]!, q[(2 * i + 5) % 8]!];
    const cross = (bx - ax) * (cy - by) - (by - ay) * (cx - bx);
    if (cross <= 0) return false; // image coordinates (y down): the source rectangle turns with positive cross products
  }
  let area = 0;
  for (let i = 0; i < 4; i++) area += q[2 * i]! * q[(2 * i + 3) % 8]! - q[(2 * i + 2) % 8]! * q[2 * i + 1]!;
  area = Math.abs(area) / 2;
  return area > sourceArea / 400 && area < sourceArea * 400;
}
