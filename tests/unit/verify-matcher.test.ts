// The native Hamming matcher (search/native/hamming.c) against OpenCV.js's own BFMatcher on real ORB features of a
// textured object and a scene it was pasted into: the pairs that pass Lowe's ratio test are the same, so moving the
// 2-NN matching out of OpenCV changed its speed, not stage 3's results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { hammingKnn2 } from '../../electron/engine/search/kernels.ts';
import { extractFeatures, type GrayImage } from '../../electron/engine/verify/geometry.ts';
import { loadOpenCv, type Cv, type CvMat } from '../../electron/engine/verify/opencv.ts';
import { shapesSvg } from '../helpers/shapes.ts';

/** The part of OpenCV.js the project no longer calls, declared here for the comparison only. */
type CvWithMatcher = Cv & {
  NORM_HAMMING: number;
  BFMatcher: new (norm: number, crossCheck: boolean) => { knnMatch(q: CvMat, t: CvMat, out: unknown, k: number): void; delete(): void };
  DMatchVectorVector: new () => {
    size(): number;
    get(i: number): { size(): number; get(j: number): { queryIdx: number; trainIdx: number; distance: number }; delete(): void };
    delete(): void;
  };
};

async function gray(input: Buffer): Promise<GrayImage> {
  const { data, info } = await sharp(input).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

test("hammingKnn2 with the ratio test keeps exactly the pairs OpenCV's BFMatcher keeps", async () => {
  const cv = (await loadOpenCv()) as CvWithMatcher;
  const object = await sharp(shapesSvg(300, 225, 7, 250)).png().toBuffer();
  const scene = await sharp(await sharp(shapesSvg(800, 600, 21, 120)).png().toBuffer())
    .composite([{ input: await sharp(object).resize(240, 180).toBuffer(), left: 300, top: 200 }])
    .jpeg({ quality: 85 })
    .toBuffer();
  const q = extractFeatures(cv, await gray(object), 1000);
  const c = extractFeatures(cv, await gray(scene), 1000);
  assert.ok(q.count > 100 && c.count > 100, `features ${q.count} / ${c.count}`);
  const ratio = 0.9;

  const native: [number, number][] = [];
  const knn = hammingKnn2(q.descriptors, c.descriptors, 32);
  for (let i = 0; i < q.count; i++) if (knn[3 * i + 1]! < ratio * knn[3 * i + 2]!) native.push([i, knn[3 * i]!]);

  const opencv: [number, number][] = [];
  const qm = cv.matFromArray(q.count, 32, cv.CV_8UC1, q.descriptors);
  const cm = cv.matFromArray(c.count, 32, cv.CV_8UC1, c.descriptors);
  const matcher = new cv.BFMatcher(cv.NORM_HAMMING, false);
  const pairs = new cv.DMatchVectorVector();
  try {
    matcher.knnMatch(qm, cm, pairs, 2);
    for (let i = 0; i < pairs.size(); i++) {
      const p = pairs.get(i);
      if (p.size() === 2 && p.get(0).distance < ratio * p.get(1).distance) opencv.push([p.get(0).queryIdx, p.get(0).trainIdx]);
      p.delete();
    }
  } finally {
    for (const m of [qm, cm, matcher, pairs]) m.delete();
  }
  assert.ok(opencv.length >= 20, `${opencv.length} ratio-test matches: the object should match`);
  assert.deepEqual(native, opencv);
});
