// The search engine over real kernels and a real QuARI hypernetwork (the cfgS fixture checkpoint, E = 128):
// stage-1 ranking by best vector per image, the multi-region rule, QuARI rescoring against the plain-TS reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hypernetwork, lowRankScores } from '../../electron/engine/models/Hypernetwork.ts';
import { float32ToFloat16 } from '../../electron/engine/search/kernels.ts';
import { SearchEngine, type QueryAdapter } from '../../electron/engine/search/SearchEngine.ts';
import { VectorIndex } from '../../electron/engine/search/VectorIndex.ts';
import { mulberry32 } from '../../electron/engine/search/rng.ts';
import { CFG_S } from '../helpers/quari-fixtures.ts';


/** Uniform numbers in [-0.5, 0.5). */
function rng(seed: number) {
  const next = mulberry32(seed);
  return () => next() - 0.5;
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function randomUnit(dim: number, next: () => number): Float32Array {
  return unit(Float32Array.from({ length: dim }, next));
}

/** `rowsPerImage[i]` vectors for image i (catalog id 100 + i), boxes in a grid. */
function makeIndex(dim: number, rowsPerImage: number[], next: () => number, rowsFor?: (image: number, row: number) => Float32Array) {
  const offsets = new Uint32Array(rowsPerImage.length + 1);
  rowsPerImage.forEach((n, i) => (offsets[i + 1] = offsets[i]! + n));
  const total = offsets[rowsPerImage.length]!;
  const vectors = new Float32Array(total * dim);
  const boxes = new Float32Array(total * 4);
  for (let i = 0; i < rowsPerImage.length; i++) {
    for (let r = 0; r < rowsPerImage[i]!; r++) {
      const row = offsets[i]! + r;
      vectors.set(rowsFor?.(i, r) ?? randomUnit(dim, next), row * dim);
      boxes.set(r === 0 ? [0, 0, 1, 1] : [0.1 * r, 0.05 * r, 0.3, 0.3], row * 4);
    }
  }
  const ids = Uint32Array.from(rowsPerImage, (_, i) => 100 + i);
  return { offsets, vectors, boxes, index: new VectorIndex(dim, ids, offsets, vectors, boxes, new Float32Array(rowsPerImage.length)) };
}

/** Brute force: per image, max over rows of a row scorer; sorted best first. */
function bruteForce(offsets: Uint32Array, score: (row: number) => number) {
  const out: { slot: number; score: number; row: number }[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    let best = -Infinity;
    let row = -1;
    for (let r = offsets[i]!; r < offsets[i + 1]!; r++) {
      const s = score(r);
      if (s > best) [best, row] = [s, r];
    }
    out.push({ slot: i, score: best, row });
  }
  return out.sort((a, b) => b.score - a.score || a.slot - b.slot);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

test('baseline ranks images by their best vector, reports that vector, honours k, top and exclusions', async () => {
  const dim = 64;
  const next = rng(7);
  const rowsPerImage = Array.from({ length: 300 }, (_, i) => 1 + (i % 6));
  const { offsets, vectors, index } = makeIndex(dim, rowsPerImage, next);
  const query = randomUnit(dim, next);
  const expected = bruteForce(offsets, (r) => dot(query, vectors.subarray(r * dim, (r + 1) * dim)));
  const engine = SearchEngine.overIndex(index, null);

  for (const k of [0, 25]) {
    const { ranked, candidates } = await engine.search([query], { mode: 'baseline', k, top: 10 });
    assert.equal(candidates, k === 0 ? 300 : 25);
    assert.deepEqual(ranked.map((r) => r.imageId - 100), expected.slice(0, 10).map((e) => e.slot));
    assert.deepEqual(ranked.map((r) => r.box), expected.slice(0, 10).map((e) => index.box(e.row)));
    ranked.forEach((r, i) => assert.ok(Math.abs(r.score - expected[i]!.score) < 1e-5));
    ranked.forEach((r) => assert.equal(r.score, r.baselineScore));
  }
  const top = expected[0]!.slot;
  const { ranked } = await engine.search([query], { mode: 'baseline', k: 25, top: 10, excludeImageIds: new Set([100 + top]) });
  assert.ok(!ranked.some((r) => r.imageId === 100 + top));
  assert.equal(ranked[0]!.imageId, 100 + expected[1]!.slot);
  await assert.rejects(engine.search([query], { mode: 'adaptive', k: 10, top: 5 }), /needs a QuARI checkpoint/);
  await assert.rejects(engine.search([new Float32Array(3)], { mode: 'baseline', k: 10, top: 5 }), /3 dimensions, the index has 64/);
});

test('float16 storage ranks like float32', async () => {
  const dim = 48;
  const next = rng(11);
  const { offsets, vectors, boxes, index } = makeIndex(dim, Array.from({ length: 120 }, (_, i) => 1 + (i % 4)), next);
  const half = new VectorIndex(dim, Uint32Array.from({ length: 120 }, (_, i) => 100 + i), offsets, float32ToFloat16(vectors), boxes, new Float32Array(120));
  const query = randomUnit(dim, next);
  const a = await SearchEngine.overIndex(index, null).search([query], { mode: 'baseline', k: 0, top: 5 });
  const b = await SearchEngine.overIndex(half, null).search([query], { mode: 'baseline', k: 0, top: 5 });
  assert.deepEqual(b.ranked.map((r) => r.imageId - 100), a.ranked.map((r) => r.imageId - 100));
  b.ranked.forEach((r, i) => assert.ok(Math.abs(r.score - a.ranked[i]!.score) < 2e-3));
});

test('several query regions: an image scores the mean of its best match to each, so holding both details wins', async () => {
  const dim = 32;
  const next = rng(3);
  const lamp = randomUnit(dim, next);
  const carpet = randomUnit(dim, next);
  const mix = (a: Float32Array, wa: number, b: Float32Array, wb: number) => unit(a.map((x, i) => wa * x + wb * b[i]! + 0.05 * next()));
  // image 0: a near-perfect lamp only; image 1: a good lamp and a good carpet in different regions; others random.
  const { index } = makeIndex(dim, [3, 3, 3, 3, 3], next, (image, row) => {
    if (image === 0 && row === 1) return mix(lamp, 1, carpet, 0);
    if (image === 1 && row === 1) return mix(lamp, 0.8, carpet, 0.1);
    if (image === 1 && row === 2) return mix(carpet, 0.8, lamp, 0.1);
    return randomUnit(dim, next);
  });
  const engine = SearchEngine.overIndex(index, null);
  const single = await engine.search([lamp], { mode: 'baseline', k: 0, top: 2 });
  assert.equal(single.ranked[0]!.imageId, 100, 'with the lamp alone the near-perfect lamp wins');
  const both = await engine.search([lamp, carpet], { mode: 'baseline', k: 0, top: 5 });
  assert.equal(both.ranked[0]!.imageId, 101, 'with lamp and carpet the image holding both wins');
  // The reported score is exactly the mean of the per-region maxima.
  const perQueryMax = (q: Float32Array, slot: number) => Math.max(...Array.from(index.scoreRows(index.rowsOf(Uint32Array.of(slot)), q)));
  const expected = (perQueryMax(lamp, 1) + perQueryMax(carpet, 1)) / 2;
  assert.ok(Math.abs(both.ranked[0]!.score - expected) < 1e-6);
});

test('adaptive mode rescoring equals the QuARI reference over every vector of the candidates', async () => {
  const hypernet = await Hypernetwork.load(CFG_S);
  try {
    const dim = hypernet.dim;
    const next = rng(5);
    const { offsets, vectors, index } = makeIndex(dim, Array.from({ length: 60 }, (_, i) => 1 + (i % 3)), next);
    const adapter: QueryAdapter = {
      async adapt(queries, batch) {
        const out = await hypernet.run(queries, batch);
        const step = dim * out.rank;
        return Array.from({ length: batch }, (_, b) => ({
          refinedQuery: out.refinedQuery.subarray(b * dim, (b + 1) * dim),
          U: out.U.subarray(b * step, (b + 1) * step),
          V: out.V.subarray(b * step, (b + 1) * step),
          rank: out.rank,
          anchorScale: out.anchorScale,
        }));
      },
    };
    const query = randomUnit(dim, next);
    const ref = await hypernet.run(query, 1);
    const rows = offsets[60]!;
    const all = lowRankScores(ref.refinedQuery, ref.U, ref.V, ref.anchorScale, vectors, rows, dim, ref.rank);
    const expected = bruteForce(offsets, (r) => all[r]!);
    const baseline = bruteForce(offsets, (r) => dot(query, vectors.subarray(r * dim, (r + 1) * dim)));
    const engine = SearchEngine.overIndex(index, adapter);
    const { ranked } = await engine.search([query], { mode: 'adaptive', k: 0, top: 60 });
    assert.deepEqual(ranked.map((r) => r.imageId - 100), expected.map((e) => e.slot));
    ranked.forEach((r, i) => assert.ok(Math.abs(r.score - expected[i]!.score) < 2e-6, `score ${i}`));
    const baselineBySlot = new Map(baseline.map((b) => [b.slot, b.score]));
    ranked.forEach((r) => assert.ok(Math.abs(r.baselineScore - baselineBySlot.get(r.imageId - 100)!) < 1e-5));
    // With k, only stage-1 candidates are rescored: the plain query's top k and those of QuARI's effective query
    // w = q' + a·U·(Vᵀq'), written out here from the definition: q'·(x·W) = x·w for every row x.
    const { refinedQuery: q, U, V, rank: r, anchorScale: a } = ref;
    const c = Array.from({ length: r }, (_, j) => q.reduce((acc, qi, i) => acc + V[i * r + j]! * qi, 0));
    const w = Float32Array.from(q, (qi, i) => qi + a * c.reduce((acc, cj, j) => acc + U[i * r + j]! * cj, 0));
    for (const row of [0, 7, rows - 1]) {
      const x = vectors.subarray(row * dim, (row + 1) * dim);
      const y = Float32Array.from(x, (xi, i) => xi + a * Array.from({ length: r }, (_, j) => x.reduce((acc, xk, k) => acc + xk * U[k * r + j]!, 0) * V[i * r + j]!).reduce((p, v) => p + v, 0));
      assert.ok(Math.abs(all[row]! * Math.hypot(...y) - dot(w, x)) < 1e-4, `row ${row}: x·w is the adaptive score before its norm`);
    }
    const probe = bruteForce(offsets, (row) => dot(w, vectors.subarray(row * dim, (row + 1) * dim)));
    const narrowed = await engine.search([query], { mode: 'adaptive', k: 5, top: 10 });
    const byW = new Set(probe.slice(0, 5).map((b) => b.slot));
    const byQ = new Set(baseline.slice(0, 5).map((b) => b.slot));
    assert.notDeepEqual(byW, byQ, 'the two probes name different images here');
    assert.deepEqual(new Set(narrowed.ranked.map((h) => h.imageId - 100)), new Set([...byQ, ...byW]));
    assert.equal(narrowed.candidates, new Set([...byQ, ...byW]).size);
  } finally {
    await hypernet.release();
  }
});
