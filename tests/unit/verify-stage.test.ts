// Stage 3 on real OpenCV.js workers and real JPEG files: a textured object pasted (scaled) into one scene is
// verified there with its outline where it was pasted, a scene without it is not, verified hits move first, a
// flat-colour crop keeps the model order and says so, an unreadable hit is recorded without failing the run, and
// the object pasted mirrored is verified only when the mirrored crop is matched too, its outline turned over.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { NOT_CHECKED, queryGray, verifyHits, candidateRegion, type VerifiableHit } from '../../electron/engine/verify/stage.ts';
import { verifyParams } from '../../electron/engine/verify/params.ts';
import { VerifyPool } from '../../electron/engine/verify/VerifyPool.ts';
import { mulberry32 } from '../../electron/engine/search/rng.ts';
import { shapesSvg } from '../helpers/shapes.ts';

const dir = mkdtempSync(join(tmpdir(), 'quari-verify-'));
let pool: VerifyPool;

const OBJECT = { x: 700, y: 380, w: 240, h: 180 }; // where the object lies in scene A (pasted at 0.8×)
let objectPath: string;
let flatPath: string;
let sceneA: string;
let sceneB: string;
let sceneMirrored: string;

before(async () => {
  const object = await sharp(shapesSvg(300, 225, 7, 250)).png().toBuffer();
  objectPath = join(dir, 'object.png');
  writeFileSync(objectPath, object);
  const scene = async (seed: number, paste: 'no' | 'yes' | 'mirrored') => {
    let img = sharp(shapesSvg(1200, 900, seed, 120));
    const pasted = paste === 'mirrored' ? sharp(object).flop() : sharp(object);
    if (paste !== 'no') img = sharp(await img.png().toBuffer()).composite([{ input: await pasted.resize(OBJECT.w, OBJECT.h).toBuffer(), left: OBJECT.x, top: OBJECT.y }]);
    return img.jpeg({ quality: 85 }).toBuffer();
  };
  sceneA = join(dir, 'a.jpg');
  sceneB = join(dir, 'b.jpg');
  sceneMirrored = join(dir, 'm.jpg');
  writeFileSync(sceneA, await scene(21, 'yes'));
  writeFileSync(sceneB, await scene(22, 'no'));
  writeFileSync(sceneMirrored, await scene(23, 'mirrored'));
  flatPath = join(dir, 'flat.png');
  writeFileSync(flatPath, await sharp({ create: { width: 200, height: 150, channels: 3, background: '#808080' } }).png().toBuffer());
  pool = await VerifyPool.open(2);
});

after(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

function hit(path: string, score: number, box = { x: 640, y: 340, w: 300, h: 240 }): VerifiableHit {
  return { path, width: 1200, height: 900, score, box, verification: { ...NOT_CHECKED } };
}

test('the pasted object is verified where it was pasted and ranks first; other hits keep their order and box', async () => {
  const params = verifyParams();
  const query = await queryGray(objectPath, null, params);
  const hits = [hit(sceneB, 0.9), hit(join(dir, 'missing.jpg'), 0.85), hit(sceneA, 0.8), hit(sceneB, 0.7)];
  const { hits: ranked, summary } = await verifyHits(pool, query, hits, { ...params, k: 3 });
  assert.equal(ranked[0]!.path, sceneA);
  const v = ranked[0]!.verification;
  assert.equal(v.status, 'verified');
  assert.ok(v.inliers >= params.minInliers, `inliers ${v.inliers}`);
  // The outline's corners land on the pasted rectangle's corners (within 4 % of its diagonal: corners are
  // extrapolated from keypoints inside the object).
  const expected = [
    [OBJECT.x, OBJECT.y],
    [OBJECT.x + OBJECT.w, OBJECT.y],
    [OBJECT.x + OBJECT.w, OBJECT.y + OBJECT.h],
    [OBJECT.x, OBJECT.y + OBJECT.h],
  ];
  v.quad!.forEach((p, i) => assert.ok(Math.hypot(p.x - expected[i]![0]!, p.y - expected[i]![1]!) < 12, `corner ${i}: ${JSON.stringify(p)}`));
  assert.ok(Math.abs(ranked[0]!.box.x - OBJECT.x) < 8 && Math.abs(ranked[0]!.box.w - OBJECT.w) < 16, JSON.stringify(ranked[0]!.box));
  // The rest in model order; the missing file is recorded, the hit beyond k is not checked.
  assert.deepEqual(ranked.slice(1).map((h) => h.score), [0.9, 0.85, 0.7]);
  assert.equal(ranked[1]!.verification.status, 'unverified');
  assert.deepEqual(ranked[1]!.box, { x: 640, y: 340, w: 300, h: 240 });
  assert.equal(ranked[2]!.verification.status, 'failed');
  assert.match(ranked[2]!.verification.error!, /missing\.jpg/);
  assert.equal(ranked[3]!.verification.status, 'not-checked');
  assert.deepEqual(summary.failed.map((f) => f.path), [join(dir, 'missing.jpg')]);
  assert.equal(summary.verified, 1);
  assert.equal(summary.checked, 3);
});

test('the object pasted mirrored verifies only with the mirrored crop, flagged mirrored, its outline turned over', async () => {
  const params = verifyParams();
  const query = await queryGray(objectPath, null, params);
  const direct = await verifyHits(pool, query, [hit(sceneMirrored, 0.9), hit(sceneA, 0.5)], { ...params, mirror: 0 });
  assert.equal(direct.hits.find((h) => h.path === sceneMirrored)!.verification.status, 'unverified');
  assert.equal(direct.hits[0]!.verification.mirrored, false);
  const { hits } = await verifyHits(pool, query, [hit(sceneB, 0.9), hit(sceneMirrored, 0.8), hit(sceneA, 0.5)], params);
  const byPath = new Map(hits.map((h) => [h.path, h.verification]));
  const v = byPath.get(sceneMirrored)!;
  assert.equal(v.status, 'verified');
  assert.equal(v.mirrored, true);
  assert.equal(byPath.get(sceneA)!.mirrored, false); // the unmirrored copy still fits directly
  assert.equal(byPath.get(sceneB)!.status, 'unverified');
  // The crop's own top-left corner lies at the pasted rectangle's top-right, and so on.
  const expected = [
    [OBJECT.x + OBJECT.w, OBJECT.y],
    [OBJECT.x, OBJECT.y],
    [OBJECT.x, OBJECT.y + OBJECT.h],
    [OBJECT.x + OBJECT.w, OBJECT.y + OBJECT.h],
  ];
  v.quad!.forEach((p, i) => assert.ok(Math.hypot(p.x - expected[i]![0]!, p.y - expected[i]![1]!) < 12, `corner ${i}: ${JSON.stringify(p)}`));
});

test('a crop of the query photo is verified too (crop coordinates in the photo)', async () => {
  const params = verifyParams();
  const query = await queryGray(sceneA, { x: OBJECT.x + 10, y: OBJECT.y + 10, w: 200, h: 150 }, params);
  assert.deepEqual([query.width, query.height], [256, 192]); // 200×150 scaled up to queryMinSide
  const { hits } = await verifyHits(pool, query, [hit(sceneB, 0.9), hit(sceneA, 0.5)], params);
  assert.equal(hits[0]!.path, sceneA);
  assert.equal(hits[0]!.verification.status, 'verified');
  const [tl, , br] = hits[0]!.verification.quad!;
  assert.ok(Math.hypot(tl!.x - (OBJECT.x + 10), tl!.y - (OBJECT.y + 10)) < 12 && Math.hypot(br!.x - (OBJECT.x + 210), br!.y - (OBJECT.y + 160)) < 12, JSON.stringify(hits[0]!.verification.quad));
});

test('a flat-colour crop keeps the model order and says so in every checked hit', async () => {
  const params = verifyParams();
  const query = await queryGray(flatPath, null, params);
  const { hits, summary } = await verifyHits(pool, query, [hit(sceneB, 0.9), hit(sceneA, 0.5)], params);
  assert.deepEqual(hits.map((h) => h.path), [sceneB, sceneA]);
  for (const h of hits) assert.equal(h.verification.status, 'query-too-few-features');
  assert.ok(summary.queryFeatures! < params.minQueryFeatures);
});

test('hostile or broken hits are each recorded as failed (or unverified) and the others still verify', async () => {
  const params = verifyParams();
  const query = await queryGray(objectPath, null, params);
  const truncated = join(dir, 'truncated.jpg');
  writeFileSync(truncated, readFileSync(sceneA).subarray(0, 4000));
  const tiny = join(dir, 'tiny.png');
  writeFileSync(tiny, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).png().toBuffer());
  const hits = [hit(truncated, 0.9), hit(dir, 0.8), { ...hit(tiny, 0.7), width: 8, height: 8, box: { x: 0, y: 0, w: 8, h: 8 } }, hit(sceneA, 0.6)];
  const { hits: ranked, summary } = await verifyHits(pool, query, hits, params);
  assert.equal(ranked[0]!.path, sceneA);
  assert.equal(ranked[0]!.verification.status, 'verified');
  const byPath = new Map(ranked.map((h) => [h.path, h.verification]));
  assert.equal(byPath.get(truncated)!.status, 'failed');
  assert.equal(byPath.get(dir)!.status, 'failed');
  assert.match(byPath.get(dir)!.error!, /is a folder; only regular files are accepted/);
  assert.equal(byPath.get(tiny)!.status, 'unverified');
  assert.deepEqual(summary.failed.map((f) => f.path).sort(), [dir, truncated].sort());
});

test('candidate regions are the window grown around its centre and clamped to the image', () => {
  assert.deepEqual(candidateRegion({ x: 100, y: 100, w: 100, h: 50 }, 1000, 800, 2), { left: 50, top: 75, width: 200, height: 100 });
  assert.deepEqual(candidateRegion({ x: 950, y: 0, w: 100, h: 100 }, 1000, 800, 2), { left: 800, top: 0, width: 200, height: 200 });
  assert.deepEqual(candidateRegion({ x: 0, y: 0, w: 900, h: 900 }, 1000, 800, 2), { left: 0, top: 0, width: 1000, height: 800 });
});

test('verification parameters name the one at fault', () => {
  assert.throws(() => verifyParams({ k: -1 }), /"k" must be an integer in \[0, 10000\]/);
  assert.throws(() => verifyParams({ ratio: 2 }), /"ratio"/);
  assert.throws(() => verifyParams({ mirror: 0.5 }), /"mirror" must be an integer in \[0, 1\]/);
  assert.throws(() => verifyParams({ inlier: 3 }), /"inlier" is unknown/);
  assert.equal(verifyParams({ k: 0 }).k, 0);
});
