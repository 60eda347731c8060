// Stage 3 of the default search pipeline: geometric verification of the K best hits of stage 2 (QuARI rescoring).
// The query crop is matched against each hit's best window grown by params.regionScale (query-time extraction
// over a small region: no features are stored at ingest, so the catalog grows by 0 bytes per image), directly and
// mirrored (params.mirror); verified
// hits rank first by inlier count, then by model score, and the rest keep the model order — the calibration of
// issue 10, which raised held-out mAP@100 from 0.16 to 0.40 with ORB and a RANSAC homography.
import sharp from 'sharp';
import { type Box, DEFAULT_MAX_PIXELS, readFileBytes, readImageHeader } from '../images/decode.ts';
import type { GrayImage } from './geometry.ts';
import type { VerifyParams } from './params.ts';
import type { VerifyPool } from './VerifyPool.ts';

/** Why a hit is or is not verified; the API contract (shared/api.ts) carries the same shape to the UI. */
export type VerificationStatus = 'verified' | 'unverified' | 'failed' | 'not-checked' | 'query-too-few-features' | 'multi-region';

/** Stage 3's evidence for one hit: the verified quadrilateral in image pixels, or null. */
export interface HitVerification {
  status: VerificationStatus;
  inliers: number;
  matches: number;
  quad: { x: number; y: number }[] | null;
  /** Verified as a mirrored (left–right) view of the crop. */
  mirrored: boolean;
  error?: string;
}

export interface VerifiableHit {
  path: string;
  width: number;
  height: number;
  score: number;
  box: Box;
  verification: HitVerification;
}

export interface StageSummary {
  /** Keypoints found in the query crop (null when stage 3 did not run). */
  queryFeatures: number | null;
  verified: number;
  checked: number;
  /** Hits whose features could not be computed, with the reason (recorded in the search history). */
  failed: { path: string; error: string }[];
  ms: number;
}

export const NOT_CHECKED: Readonly<HitVerification> = Object.freeze({ status: 'not-checked', inliers: 0, matches: 0, quad: null, mirrored: false });

/** The query crop (or the whole photo) as grey pixels, long side in [minSide, maxSide], EXIF orientation applied. */
export async function queryGray(imagePath: string, crop: Box | null, p: Pick<VerifyParams, 'maxSide' | 'queryMinSide'>): Promise<GrayImage> {
  const { bytes } = await readFileBytes(imagePath);
  let img = sharp(bytes, { limitInputPixels: DEFAULT_MAX_PIXELS, failOn: 'truncated', autoOrient: true });
  const { width: w, height: h } = await readImageHeader(bytes, imagePath);
  let size = [w, h];
  if (crop) {
    const left = Math.max(0, Math.floor(crop.x));
    const top = Math.max(0, Math.floor(crop.y));
    const right = Math.min(w, Math.ceil(crop.x + crop.w));
    const bottom = Math.min(h, Math.ceil(crop.y + crop.h));
    if (!(right > left && bottom > top)) throw new Error(`crop box ${JSON.stringify(crop)} lies outside ${imagePath} (${w}×${h})`);
    img = img.extract({ left, top, width: right - left, height: bottom - top });
    size = [right - left, bottom - top];
  }
  const long = Math.max(...size);
  const side = Math.min(p.maxSide, Math.max(p.queryMinSide, long));
  const { data, info } = await img
    .resize(Math.max(1, Math.round((size[0] * side) / long)), Math.max(1, Math.round((size[1] * side) / long)), { fit: 'fill' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** The window box grown by `scale` around its centre, clamped to the image, at least 16 px a side where it fits. */
export function candidateRegion(box: Box, width: number, height: number, scale: number): { left: number; top: number; width: number; height: number } {
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const w = Math.min(width, Math.max(16, box.w * scale));
  const h = Math.min(height, Math.max(16, box.h * scale));
  const left = Math.round(Math.min(Math.max(0, cx - w / 2), width - w));
  const top = Math.round(Math.min(Math.max(0, cy - h / 2), height - h));
  return { left, top, width: Math.max(1, Math.min(width - left, Math.round(w))), height: Math.max(1, Math.min(height - top, Math.round(h))) };
}

/**
 * Verifies the first params.k hits (ranked by model score) against the query and returns all hits re-ordered:
 * verified ones first by inliers (ties: model score), then the others in their model order.
 */
export async function verifyHits<H extends VerifiableHit>(
  pool: VerifyPool,
  query: GrayImage,
  hits: H[],
  params: VerifyParams,
): Promise<{ hits: H[]; summary: StageSummary }> {
  const started = performance.now();
  const head = hits.slice(0, params.k).filter((h) => h.width > 0 && h.height > 0);
  const outcome = await pool.verify(
    query,
    head.map((h) => ({
      path: h.path,
      region: candidateRegion(h.box, h.width, h.height, params.regionScale),
      scale: Math.min(2, Math.max(query.width, query.height) / Math.max(1, h.box.w, h.box.h)),
    })),
    params,
  );
  const failed: StageSummary['failed'] = [];
  if (!outcome.results) {
    for (const h of head) h.verification = { ...NOT_CHECKED, status: 'query-too-few-features' };
    return { hits, summary: { queryFeatures: outcome.queryFeatures, verified: 0, checked: 0, failed, ms: performance.now() - started } };
  }
  let verified = 0;
  head.forEach((h, i) => {
    const r = outcome.results![i]!;
    const quad = r.quad ? [0, 1, 2, 3].map((c) => ({ x: r.quad![2 * c]!, y: r.quad![2 * c + 1]! })) : null;
    h.verification = { status: r.status, inliers: r.inliers, matches: r.matches, quad, mirrored: r.mirrored, ...(r.error ? { error: r.error } : {}) };
    if (r.status === 'failed') failed.push({ path: h.path, error: r.error ?? 'unknown error' });
    if (quad) {
      verified++;
      const xs = quad.map((p) => Math.min(h.width, Math.max(0, p.x)));
      const ys = quad.map((p) => Math.min(h.height, Math.max(0, p.y)));
      const x = Math.floor(Math.min(...xs));
      const y = Math.floor(Math.min(...ys));
      h.box = { x, y, w: Math.ceil(Math.max(...xs)) - x, h: Math.ceil(Math.max(...ys)) - y };
    }
  });
  const order = hits.map((h, i) => ({ h, i }));
  order.sort((a, b) => {
    const va = a.h.verification.status === 'verified' ? 1 : 0;
    const vb = b.h.verification.status === 'verified' ? 1 : 0;
    if (va !== vb) return vb - va;
    if (va === 1 && a.h.verification.inliers !== b.h.verification.inliers) return b.h.verification.inliers - a.h.verification.inliers;
    return a.i - b.i;
  });
  return {
    hits: order.map((o) => o.h),
    summary: { queryFeatures: outcome.queryFeatures, verified, checked: head.length, failed, ms: performance.now() - started },
  };
}
