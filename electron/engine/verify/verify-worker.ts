// A verification worker: owns one OpenCV.js instance, keeps the current query crop's features, and for each
// candidate reads the file (bounded, regular files only), decodes only its candidate region scaled to
// params.maxSide, extracts ORB features there and fits a homography — to the crop and, with params.mirror, to the
// crop mirrored, keeping the fit with more inliers. A candidate that cannot be read or decoded is answered with its
// error; the worker itself never fails a search for one file.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { openRegularFile } from '../../../native-models/runtime/io/regularFile.ts';
import { DEFAULT_MAX_PIXELS } from '../images/decode.ts';
import { extractFeatures, matchPair, mirrorGray, unmirrorQuad, type Features, type GrayImage } from './geometry.ts';
import { loadOpenCv } from './opencv.ts';
import type { VerifyParams } from './params.ts';

/** Largest candidate file read, in bytes: evidence can be hostile, and no photo the catalog holds is bigger. */
export const MAX_CANDIDATE_BYTES = 512 * 1024 * 1024;

export interface CandidateJob {
  path: string;
  /** The region to verify in, in EXIF-oriented pixels of the image. */
  region: { left: number; top: number; width: number; height: number };
  /** Scale the region is resized by before extraction (the query crop's long side over the window's). */
  scale: number;
}

export interface CandidateOutcome {
  status: 'verified' | 'unverified' | 'failed';
  matches: number;
  inliers: number;
  quad: number[] | null;
  /** The better fit was the mirrored crop's: the hit shows the object mirrored left–right. */
  mirrored: boolean;
  error?: string;
}

export type WorkerRequest =
  | { id: number; queryKey: number; query?: GrayImage; params: VerifyParams; candidates: CandidateJob[] }
  | 'close';

export type WorkerReply = { id: number; ok: true; queryFeatures: number; results: CandidateOutcome[] } | { id: number; ok: false; error: string };

const port = parentPort;
if (!port) throw new Error('verify-worker.ts must run in a worker thread');
const cv = await loadOpenCv();
/** The current query crop's features, and its mirror's when params.mirror asks for them. */
interface QueryFeatures {
  key: number;
  image: GrayImage;
  features: Features;
  mirrored: Features | null;
}
let current: QueryFeatures | null = null;

/** A candidate whose features could not be computed, with why. */
const failed = (error: string): CandidateOutcome => ({ status: 'failed', matches: 0, inliers: 0, quad: null, mirrored: false, error });

/** The candidate's bytes, through the shared bounded open (regular files only, never blocking on a FIFO). */
async function readBounded(path: string): Promise<Buffer> {
  const { handle } = await openRegularFile(path, { maxBytes: MAX_CANDIDATE_BYTES });
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function verifyOne(job: CandidateJob, p: VerifyParams, query: QueryFeatures): Promise<CandidateOutcome> {
  let gray: GrayImage;
  const { scale } = job;
  try {
    const bytes = await readBounded(job.path);
    const { left, top, width, height } = job.region;
    const { data, info } = await sharp(bytes, { limitInputPixels: DEFAULT_MAX_PIXELS, failOn: 'truncated', autoOrient: true })
      .extract({ left, top, width, height })
      .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill', kernel: scale > 1 ? 'cubic' : 'lanczos3' })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    gray = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    return failed(`${job.path}: ${(err as Error).message}`);
  }
  try {
    const features = extractFeatures(cv, gray, p.candidateFeatures);
    const { width, height } = query.image;
    const direct = matchPair(cv, query.features, width, height, features, p);
    const flipped = query.mirrored ? matchPair(cv, query.mirrored, width, height, features, p) : null;
    const mirrored = flipped !== null && flipped.inliers > direct.inliers;
    const pair = mirrored ? { ...flipped, quad: flipped.quad && unmirrorQuad(flipped.quad) } : direct;
    const verified = pair.quad !== null && pair.inliers >= p.minInliers;
    // Back to image pixels: the region was scaled by `scale` and starts at (left, top).
    const quad = verified ? pair.quad!.map((v, i) => v / scale + (i % 2 === 0 ? job.region.left : job.region.top)) : null;
    return { status: verified ? 'verified' : 'unverified', matches: pair.matches, inliers: pair.inliers, quad, mirrored: verified && mirrored };
  } catch (err) {
    // OpenCV.js throws C++ exceptions as bare numbers: say where, whatever was thrown.
    return failed(`${job.path}: OpenCV failed (${err instanceof Error ? err.message : String(err)})`);
  }
}

port.on('message', async (msg: WorkerRequest) => {
  if (msg === 'close') process.exit(0);
  try {
    if (msg.query) {
      current = null;
      const features = extractFeatures(cv, msg.query, msg.params.queryFeatures);
      current = { key: msg.queryKey, image: msg.query, features, mirrored: null };
      if (msg.params.mirror) current.mirrored = extractFeatures(cv, mirrorGray(msg.query), msg.params.queryFeatures);
    }
    if (!current || current.key !== msg.queryKey) throw new Error(`verification worker has no features for query ${msg.queryKey}`);
    const results: CandidateOutcome[] = [];
    for (const c of msg.candidates) results.push(await verifyOne(c, msg.params, current));
    port.postMessage({ id: msg.id, ok: true, queryFeatures: current.features.count, results } satisfies WorkerReply);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WorkerReply);
  }
});
port.postMessage('ready');
