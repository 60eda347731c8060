import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { ObjectEntry, SceneEntry } from '../../native-models/tools/training/data/catalog.ts';
import { groupKey, splitOf, type Split } from '../../native-models/tools/training/data/split.ts';
import { HARD_KINDS, TIERS, generateBenchmark, planBenchmark, queryCrop, renderImage, type BenchmarkOptions } from '../../native-models/tools/training/benchmark/generate.ts';

// A small real catalog: noise scenes of mixed sizes and RGBA objects with transparent borders, made with sharp.
let root: string;
const scenes: SceneEntry[] = [];
const objects: ObjectEntry[] = [];

async function noise(width: number, height: number, channels: 3 | 4, seed: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return sharp(data, { raw: { width, height, channels } }).blur(2).png().toBuffer();
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bench-gen-'));
  for (let i = 0; i < 6; i++) {
    const [w, h] = i % 2 ? [900, 500] : [640, 640];
    const path = `scene${i}.png`;
    writeFileSync(join(root, path), await noise(w, h, 3, i + 1));
    scenes.push({ path, pkg: 't', width: w, height: h, group: path, split: 'eval' });
  }
  for (let i = 0; i < 8; i++) {
    const [w, h] = i % 2 ? [200, 90] : [120, 150];
    const inner = await noise(w, h, 4, 100 + i);
    // Opaque object centred on a transparent canvas 20 px larger on every side; bbox marks the opaque part.
    const png = await sharp({ create: { width: w + 40, height: h + 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: await sharp(inner).ensureAlpha(1).png().toBuffer(), left: 20, top: 20 }])
      .png()
      .toBuffer();
    const path = `object${i}.png`;
    writeFileSync(join(root, path), png);
    objects.push({ path, pkg: 't', width: w + 40, height: h + 40, group: path, split: 'eval', bbox: [20, 20, w, h], fill: 1 });
  }
  // One object and one scene in another split: the eval plan must never use them.
  scenes.push({ ...scenes[0], path: 'train-scene.png', split: 'train' });
  objects.push({ ...objects[0], path: 'train-object.png', split: 'train' });
});

after(() => rmSync(root, { recursive: true, force: true }));

const small: Partial<BenchmarkOptions> = { seed: 7, objects: 3, width: 320, height: 240, extraFraction: 0.5, distractorsPerImage: [0, 1] };

describe('benchmark generator', () => {
  test('the plan is a pure function of the seed', () => {
    const a = planBenchmark({ scenes, objects }, small);
    const b = planBenchmark({ scenes, objects }, small);
    const c = planBenchmark({ scenes, objects }, { ...small, seed: 8 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.images, c.images);
  });

  test('plans only use the requested split, and each target sits in 3–4 distinct scenes', () => {
    const plan = planBenchmark({ scenes, objects }, small);
    for (const img of plan.images) {
      assert.notEqual(img.scene, 'train-scene.png');
      for (const p of [img.target, ...img.distractors]) if (p) assert.notEqual(p.object, 'train-object.png');
    }
    assert.equal(plan.targets.length, 3);
    for (const t of plan.targets) {
      assert.ok(t.files.length >= 3 && t.files.length <= 4, `${t.object} in ${t.files.length} images`);
      const holding = plan.images.filter((i) => i.target?.object === t.object);
      assert.deepEqual(holding.map((i) => i.file).sort(), [...t.files].sort());
      assert.equal(new Set(holding.map((i) => i.scene)).size, holding.length, 'one object reuses a background');
    }
    const targetImages = plan.targets.reduce((n, t) => n + t.files.length, 0);
    assert.equal(plan.images.length, targetImages + Math.round(targetImages * 0.5));
    const used = plan.images.flatMap((i) => i.distractors.map((d) => d.object));
    assert.equal(new Set(used).size, used.length, 'a distractor object is reused');
  });

  test('too few objects in the split is an error naming the split', () => {
    assert.throws(() => planBenchmark({ scenes, objects }, { ...small, objects: 50 }), /split 'eval'.*--objects/);
  });

  test('renders deterministic JPEGs with boxes inside the image and the target area in range', async () => {
    const outA = join(root, 'a');
    const outB = join(root, 'b');
    const a = await generateBenchmark(root, { scenes, objects }, outA, small);
    const b = await generateBenchmark(root, { scenes, objects }, outB, small);
    const { width: W, height: H, areaRange, distractorAreaRange } = a.plan.options;
    for (const img of a.plan.images) {
      assert.ok(readFileSync(join(outA, img.file)).equals(readFileSync(join(outB, img.file))), `${img.file} differs between runs`);
      const meta = await sharp(join(outA, img.file)).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], [W, H]);
    }
    for (const r of a.rendered) {
      const pasted = [...(r.target ? [{ ...r.target, range: areaRange }] : []), ...r.distractors.map((d) => ({ ...d, range: distractorAreaRange }))];
      for (const { box, range, object } of pasted) {
        const [x, y, w, h] = box;
        assert.ok(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= W && y + h <= H, `${r.file}: box ${box} of ${object} leaves the image`);
        const frac = (w * h) / (W * H);
        assert.ok(frac >= range[0] && frac <= range[1], `${r.file}: ${object} covers ${frac.toFixed(4)} of the image`);
      }
      if (r.target) {
        for (const d of r.distractors) {
          const [tx, ty, tw, th] = r.target.box;
          const [dx, dy, dw, dh] = d.box;
          assert.ok(tx >= dx + dw || dx >= tx + tw || ty >= dy + dh || dy >= ty + th, `${r.file}: distractor covers the target`);
        }
      }
    }
    const q = JSON.parse(readFileSync(join(outA, 'queries.json'), 'utf8')) as { image: string; crop: number[]; relevant: string[] }[];
    assert.deepEqual(q, a.queries);
    assert.deepEqual(readFileSync(join(outA, 'queries.json')), readFileSync(join(outB, 'queries.json')));
    for (const [i, query] of q.entries()) {
      const t = a.plan.targets[i];
      assert.equal(query.image, t.files[0]);
      assert.deepEqual(query.relevant, t.files.slice(1));
      assert.ok(!query.relevant.includes(query.image));
      const [x, y, w, h] = query.crop;
      assert.ok(x >= 0 && y >= 0 && x + w <= W && y + h <= H && w > 0 && h > 0);
      const box = a.rendered.find((r) => r.file === query.image)!.target!.box;
      const overlap = Math.max(0, Math.min(x + w, box[0] + box[2]) - Math.max(x, box[0])) * Math.max(0, Math.min(y + h, box[1] + box[3]) - Math.max(y, box[1]));
      assert.ok(overlap / (box[2] * box[3]) > 0.8, `query ${i} crop misses its object`);
    }
  });

  test('tiers: a balanced third each, the query image never hardened, medium one hard change, hard two or three', () => {
    const plain = planBenchmark({ scenes, objects }, { ...small, objects: 6 });
    assert.ok(plain.images.every((i) => !i.hard) && plain.targets.every((t) => !t.tier), 'tiers off must not add hard changes');
    const plan = planBenchmark({ scenes, objects }, { ...small, objects: 6, tiers: true });
    assert.deepEqual(plan.targets.map((t) => t.tier).sort(), ['easy', 'easy', 'hard', 'hard', 'medium', 'medium']);
    const byFile = new Map(plan.images.map((i) => [i.file, i]));
    for (const t of plan.targets) {
      const [query, ...relevant] = t.files.map((f) => byFile.get(f)!);
      assert.equal(query.hard, undefined, `${t.object}: the query image is hardened`);
      for (const img of relevant) {
        const n = img.hard?.kinds.length ?? 0;
        if (t.tier === 'easy') assert.equal(n, 0);
        else if (t.tier === 'medium') assert.equal(n, 1);
        else assert.ok(n >= 2 && n <= 3, `${img.file}: ${n} hard changes`);
        for (const k of img.hard?.kinds ?? []) assert.ok((HARD_KINDS as readonly string[]).includes(k));
      }
    }
    assert.ok(plan.images.filter((i) => !i.target).every((i) => !i.hard), 'a distractor-only image is hardened');
  });

  test('each hard change alters the rendered image where it should, and tiered output has one query file per tier', async () => {
    const plan = planBenchmark({ scenes, objects }, { ...small, objects: 6, tiers: true, distractorsPerImage: [0, 0] });
    const img = plan.images.find((i) => i.hard)!;
    const om = new Map(objects.map((o) => [o.path, o]));
    const sm = new Map(scenes.map((o) => [o.path, o]));
    const base = await renderImage(root, om, sm, { ...img, hard: undefined }, plan.options);
    const raw = async (jpeg: Buffer) => sharp(jpeg).raw().toBuffer();
    const basePx = await raw(base.jpeg);
    const W = plan.options.width;
    /** Mean absolute difference to the unhardened render, inside and outside the target box. */
    const diff = async (jpeg: Buffer) => {
      const px = await raw(jpeg);
      const [bx, by, bw, bh] = base.rendered.target!.box;
      let inside = 0, nIn = 0, outside = 0, nOut = 0;
      for (let i = 0; i < px.length; i += 3) {
        const x = (i / 3) % W, y = Math.floor(i / 3 / W);
        const d = Math.abs(px[i] - basePx[i]) + Math.abs(px[i + 1] - basePx[i + 1]) + Math.abs(px[i + 2] - basePx[i + 2]);
        if (x >= bx && x < bx + bw && y >= by && y < by + bh) (inside += d), nIn++;
        else (outside += d), nOut++;
      }
      return { inside: inside / nIn, outside: outside / nOut };
    };
    for (const kind of HARD_KINDS) {
      const hard = { ...img.hard!, kinds: [kind] };
      const r = await renderImage(root, om, sm, { ...img, hard }, plan.options);
      assert.deepEqual(r.rendered.target!.box, base.rendered.target!.box, `${kind} moved the box`);
      const d = await diff(r.jpeg);
      if (kind === 'perspective' || kind === 'occlusion') assert.ok(d.inside > 3 * d.outside + 1, `${kind}: ${JSON.stringify(d)}`);
      else assert.ok(d.outside > 1, `${kind} left the scene unchanged: ${JSON.stringify(d)}`);
      if (kind === 'jpeg') assert.ok(r.jpeg.length < base.jpeg.length, 'heavy JPEG is not smaller');
    }
    const out = join(root, 'tiers');
    const g = await generateBenchmark(root, { scenes, objects }, out, { ...small, objects: 6, tiers: true });
    const perTier = TIERS.map((t) => JSON.parse(readFileSync(join(out, `queries-${t}.json`), 'utf8')) as { tier: string }[]);
    assert.deepEqual(perTier.flat().length, g.queries.length);
    perTier.forEach((qs, i) => assert.ok(qs.length === 2 && qs.every((q) => q.tier === TIERS[i])));
  });

  test('query crops stay within the image at the border', () => {
    for (let s = 0; s < 50; s++) {
      const [x, y, w, h] = queryCrop([0, 0, 100, 60], s, 100, 60);
      assert.ok(x >= 0 && y >= 0 && x + w <= 100 && y + h <= 60 && w > 80 && h > 48, `seed ${s}: ${[x, y, w, h]}`);
    }
  });
});

describe('data split', () => {
  test('variants of one picture share a group, and the split is stable', () => {
    assert.equal(groupKey('p', 'land/badlands0@2x.jpg'), groupKey('p', 'land/badlands4@2x.jpg'));
    assert.equal(groupKey('p', 'data/aloeL.jpg'), groupKey('p', 'data/aloeR.jpg'));
    assert.equal(groupKey('p', 'gnome/wood-l.webp'), groupKey('p', 'gnome/wood-d.webp'));
    assert.notEqual(groupKey('p', 'land/badlands0@2x.jpg'), groupKey('p', 'land/beach0@2x.jpg'));
    assert.notEqual(groupKey('p', 'a/wood.png'), groupKey('p', 'b/wood.png'));
    const key = groupKey('p', 'land/badlands0@2x.jpg');
    assert.equal(splitOf(key), splitOf(key));
    const counts: Record<Split, number> = { train: 0, whitening: 0, eval: 0, cross: 0 };
    for (let i = 0; i < 2000; i++) counts[splitOf(`k${i}`)]++;
    assert.equal(counts.cross, 0, 'the hash split never yields cross: that is a whole-package assignment');
    assert.ok(counts.train > 1100 && counts.train < 1300 && counts.whitening > 220 && counts.whitening < 380 && counts.eval > 400 && counts.eval < 600, JSON.stringify(counts));
  });
});
