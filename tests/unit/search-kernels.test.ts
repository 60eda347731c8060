import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignNearestAsync,
  configureKernels,
  dotRows,
  flatTopK,
  flatTopKAsync,
  flatTopKBatch,
  flatTopKBatchAsync,
  float16ToFloat32,
  float32ToFloat16,
  hammingKnn2,
  rerankLowRank,
  rerankLowRankAsync,
  streamBaseline,
} from '../../electron/engine/search/kernels.ts';

// Every kernel is checked on the SIMD path (when this CPU has one), on the scalar fallback, and with thread
// counts that split the work unevenly.
const initial = configureKernels();
const MODES: { name: string; simd: boolean; avx512: boolean; threads: number }[] = [
  { name: 'default', simd: true, avx512: true, threads: 2 },
  { name: 'avx2-only', simd: true, avx512: false, threads: 2 },
  { name: 'scalar', simd: false, avx512: false, threads: 2 },
  { name: 'simd-1-thread', simd: true, avx512: true, threads: 1 },
  { name: 'simd-3-threads', simd: true, avx512: true, threads: 3 },
];
after(() => configureKernels({ threads: initial.threads, simd: initial.simdAvailable, avx512: initial.avx512Available }));

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function unitRows(n: number, d: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const v = gaussian(rand);
      out[i * d + j] = v;
      ss += v * v;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < d; j++) out[i * d + j] *= inv;
  }
  return out;
}

function rowsAsF64(store: Float32Array | Uint16Array): Float64Array {
  return Float64Array.from(store instanceof Uint16Array ? refHalfToFloat(store) : store);
}

/** Reference order: score descending, then id ascending. */
function refTop(scores: Float64Array, k: number): number[] {
  const ids = Array.from(scores.keys());
  ids.sort((a, b) => scores[b] - scores[a] || a - b);
  return ids.slice(0, k);
}

function dots(x: Float64Array, d: number, q: Float32Array): Float64Array {
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] * q[j];
    out[i] = s;
  }
  return out;
}

// Independent float16 decoder for the reference side.
function refHalfToFloat(bits: Uint16Array): Float64Array {
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** Checks a top-K answer against float64 reference scores when scores are not exactly representable. */
function assertTopKClose(got: { ids: Uint32Array; scores: Float32Array }, ref: Float64Array, k: number, tol: number): void {
  const want = refTop(ref, k);
  assert.equal(got.ids.length, want.length);
  for (let i = 0; i < got.ids.length; i++) {
    assert.ok(Math.abs(got.scores[i] - ref[got.ids[i]]) <= tol, `score of id ${got.ids[i]} ${got.scores[i]} vs ${ref[got.ids[i]]}`);
    if (i > 0) assert.ok(got.scores[i] <= got.scores[i - 1], 'scores are sorted best first');
    // The i-th best may differ only among near-ties.
    assert.ok(Math.abs(ref[got.ids[i]] - ref[want[i]]) <= 2 * tol, `rank ${i}: ${got.ids[i]} vs ${want[i]}`);
  }
  assert.equal(new Set(got.ids).size, got.ids.length, 'ids are distinct');
}

for (const mode of MODES) {
  test(`flatTopK [${mode.name}]`, async (t) => {
    configureKernels({ simd: mode.simd, avx512: mode.avx512, threads: mode.threads });

    await t.test('float32 equals brute force on random unit vectors', () => {
      for (const d of [512, 37, 256]) {
        const n = 3001;
        const x = unitRows(n, d, 7 + d);
        const q = unitRows(1, d, 99 + d);
        const got = flatTopK(x, d, q, null, 100);
        assertTopKClose(got, dots(rowsAsF64(x), d, q), 100, 1e-5);
        assert.deepEqual(got.rows, got.ids, 'without owners each row is its own item');
      }
    });

    await t.test('float16 storage equals brute force on the decoded values', () => {
      for (const d of [512, 19]) {
        const n = 2500;
        const h = float32ToFloat16(unitRows(n, d, 3 + d));
        const q = unitRows(1, d, 5 + d);
        const got = flatTopK(h, d, q, null, 64);
        assertTopKClose(got, dots(rowsAsF64(h), d, q), 64, 1e-5);
      }
    });

    await t.test('exact ties break by lower id, deterministically', () => {
      // Values in multiples of 1/4 with small dims: every dot product is exact, so order must match exactly.
      const d = 24;
      const n = 4000;
      const rand = rng(11);
      const x = new Float32Array(n * d).map(() => Math.floor(rand() * 5 - 2) / 4);
      const q = new Float32Array(d).map(() => Math.floor(rand() * 3 - 1));
      const ref = dots(rowsAsF64(x), d, q);
      const got = flatTopK(x, d, q, null, 500);
      assert.deepEqual(Array.from(got.ids), refTop(ref, 500));
      assert.deepEqual(Array.from(got.scores), refTop(ref, 500).map((i) => ref[i]));
      const h = float32ToFloat16(x);
      assert.deepEqual(Array.from(flatTopK(h, d, q, null, 500).ids), refTop(ref, 500), 'same order from float16 storage');
    });

    await t.test('ownerOffsets: max over each image rows, best row, empty images skipped', () => {
      const d = 40;
      const rand = rng(21);
      const counts = Array.from({ length: 700 }, (_, i) => (i % 50 === 7 ? 0 : 1 + Math.floor(rand() * 40)));
      const offsets = new Uint32Array(counts.length + 1);
      for (let i = 0; i < counts.length; i++) offsets[i + 1] = offsets[i] + counts[i];
      const n = offsets[counts.length];
      const x = unitRows(n, d, 31);
      const q = unitRows(1, d, 32);
      const rowScores = dots(rowsAsF64(x), d, q);
      const imgScores = new Float64Array(counts.length).fill(-Infinity);
      const bestRow = new Uint32Array(counts.length);
      for (let i = 0; i < counts.length; i++) {
        for (let r = offsets[i]; r < offsets[i + 1]; r++) {
          if (rowScores[r] > imgScores[i]) {
            imgScores[i] = rowScores[r];
            bestRow[i] = r;
          }
        }
      }
      const nonEmpty = counts.filter((c) => c > 0).length;
      const got = flatTopK(x, d, q, offsets, 10_000);
      assert.equal(got.ids.length, nonEmpty, 'k > images returns every image that has rows');
      assertTopKClose(got, imgScores, nonEmpty, 1e-5);
      for (let i = 0; i < got.ids.length; i++) {
        assert.ok(counts[got.ids[i]] > 0);
        assert.equal(got.rows[i], bestRow[got.ids[i]], `best row of image ${got.ids[i]}`);
      }
    });

    await t.test('ownerOffsets: equal rows within an image report the first one', () => {
      const d = 9;
      const base = unitRows(3, d, 41);
      const x = new Float32Array(6 * d);
      x.set(base.subarray(0, d), 0); // image 0: rows 0..2 = a, b, b
      x.set(base.subarray(d, 2 * d), d);
      x.set(base.subarray(d, 2 * d), 2 * d);
      x.set(base.subarray(d, 2 * d), 3 * d); // image 1: rows 3..5 = b, b, c
      x.set(base.subarray(d, 2 * d), 4 * d);
      x.set(base.subarray(2 * d, 3 * d), 5 * d);
      const q = base.slice(d, 2 * d); // b scores 1, the maximum
      const got = flatTopK(x, d, q, new Uint32Array([0, 3, 6]), 5);
      assert.deepEqual(Array.from(got.ids), [0, 1], 'equal image scores: lower image id first');
      assert.deepEqual(Array.from(got.rows), [1, 3]);
    });

    await t.test('k larger than the catalog, k = 1, a zero query', () => {
      const d = 16;
      const x = unitRows(10, d, 51);
      const q = unitRows(1, d, 52);
      const all = flatTopK(x, d, q, null, 1000);
      assert.equal(all.ids.length, 10);
      assertTopKClose(all, dots(rowsAsF64(x), d, q), 10, 1e-5);
      assert.deepEqual(Array.from(flatTopK(x, d, q, null, 1).ids), [all.ids[0]]);
      const zero = flatTopK(x, d, new Float32Array(d), null, 3);
      assert.deepEqual(Array.from(zero.ids), [0, 1, 2], 'all scores 0: ids ascending');
      assert.deepEqual(Array.from(zero.scores), [0, 0, 0]);
    });

    await t.test('flatTopKBatch equals one flatTopK per query, with and without owners', () => {
      const d = 72;
      const x = unitRows(5000, d, 71);
      const queries = unitRows(5, d, 72);
      const offsets = new Uint32Array(1251).map((_, i) => i * 4);
      for (const store of [x, float32ToFloat16(x)]) {
        for (const owners of [null, offsets]) {
          const batch = flatTopKBatch(store, d, queries, owners, 50);
          assert.equal(batch.length, 5);
          batch.forEach((got, j) => {
            const one = flatTopK(store, d, queries.subarray(j * d, (j + 1) * d), owners, 50);
            assert.deepEqual(got, one, `query ${j}`);
          });
        }
      }
    });

    await t.test('dotRows scores the given rows in order, float32 and float16', () => {
      for (const d of [512, 45]) {
        const x = unitRows(1000, d, 61 + d);
        const q = unitRows(1, d, 62 + d);
        const rand = rng(d);
        const rows = new Uint32Array(777).map(() => Math.floor(rand() * 1000));
        for (const store of [x, float32ToFloat16(x)]) {
          const ref = dots(rowsAsF64(store), d, q);
          assertClose(dotRows(store, d, rows, q), Float64Array.from(rows, (r) => ref[r]), 1e-5, 'dotRows');
        }
      }
    });
  });
}

/** Dense reference: W = I + a·U·Vᵀ (d×d), y = x·W, score = q'·y / max(‖y‖, 1e-12), all in float64. */
function denseRerank(x: Float64Array, d: number, rows: Uint32Array, q: Float32Array, U: Float32Array, V: Float32Array, r: number, a: number): Float64Array {
  const W = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let l = 0; l < r; l++) s += U[i * r + l] * V[j * r + l];
      W[i * d + j] = (i === j ? 1 : 0) + a * s;
    }
  }
  const out = new Float64Array(rows.length);
  const y = new Float64Array(d);
  rows.forEach((row, k) => {
    y.fill(0);
    for (let i = 0; i < d; i++) {
      const xi = x[row * d + i];
      if (xi !== 0) for (let j = 0; j < d; j++) y[j] += xi * W[i * d + j];
    }
    let qy = 0;
    let yy = 0;
    for (let j = 0; j < d; j++) {
      qy += q[j] * y[j];
      yy += y[j] * y[j];
    }
    out[k] = qy / Math.max(Math.sqrt(yy), 1e-12);
  });
  return out;
}

function factors(d: number, r: number, seed: number): { U: Float32Array; V: Float32Array } {
  const rand = rng(seed);
  const scale = 1 / Math.sqrt(d);
  return {
    U: new Float32Array(d * r).map(() => gaussian(rand) * scale),
    V: new Float32Array(d * r).map(() => gaussian(rand) * scale),
  };
}

function assertClose(got: Float32Array, want: Float64Array, tol: number, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

for (const mode of MODES) {
  test(`rerankLowRank [${mode.name}]`, async (t) => {
    configureKernels({ simd: mode.simd, avx512: mode.avx512, threads: mode.threads });
    const cases = [
      { d: 512, r: 64, a: 0.7, n: 400, m: 157 },
      { d: 256, r: 1, a: -0.4, n: 100, m: 100 },
      { d: 37, r: 5, a: 1.3, n: 60, m: 61 }, // dim and 2r not multiples of 8/16; a row repeated
      { d: 130, r: 17, a: 0, n: 50, m: 50 },
    ];
    for (const { d, r, a, n, m } of cases) {
      await t.test(`d=${d} r=${r} a=${a}, float32 and float16 storage`, () => {
        const x = unitRows(n, d, d * 7 + r);
        const rand = rng(d + r);
        const rows = new Uint32Array(m).map((_, i) => (i === m - 1 ? 0 : Math.floor(rand() * n)));
        const q = unitRows(1, d, 1000 + d);
        const { U, V } = factors(d, r, 77 + r);
        assertClose(rerankLowRank(x, d, rows, q, U, V, r, a), denseRerank(rowsAsF64(x), d, rows, q, U, V, r, a), 1e-5, 'f32');
        const h = float32ToFloat16(x);
        assertClose(rerankLowRank(h, d, rows, q, U, V, r, a), denseRerank(rowsAsF64(h), d, rows, q, U, V, r, a), 1e-5, 'f16');
      });
    }

    await t.test('zero vector scores 0, empty rows give an empty result, strong anchor scale', () => {
      const d = 64;
      const r = 8;
      const x = unitRows(5, d, 5);
      x.fill(0, 2 * d, 3 * d);
      const q = unitRows(1, d, 6);
      const { U, V } = factors(d, r, 7);
      const rows = new Uint32Array([0, 1, 2, 3, 4]);
      const got = rerankLowRank(x, d, rows, q, U, V, r, 5);
      assert.equal(got[2], 0);
      assertClose(got, denseRerank(rowsAsF64(x), d, rows, q, U, V, r, 5), 1e-5, 'a=5');
      assert.equal(rerankLowRank(x, d, new Uint32Array(0), q, U, V, r, 5).length, 0);
    });

    await t.test('a = 0 is the plain inner product of unit vectors', () => {
      const d = 48;
      const x = unitRows(30, d, 8);
      const q = unitRows(1, d, 9);
      const { U, V } = factors(d, 4, 10);
      const rows = new Uint32Array(30).map((_, i) => i);
      assertClose(rerankLowRank(x, d, rows, q, U, V, 4, 0), dots(rowsAsF64(x), d, q), 1e-6, 'a=0');
    });
  });
}

test('float16 conversion', async (t) => {
  for (const simd of [true, false]) {
    configureKernels({ simd, threads: 2 });
    await t.test(`[simd=${simd}] decodes every bit pattern exactly`, () => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const got = float16ToFloat32(all);
      const want = refHalfToFloat(all);
      for (let i = 0; i < 65536; i++) {
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `0x${i.toString(16)} is NaN`);
        else assert.equal(got[i], want[i], `0x${i.toString(16)}`);
      }
    });

    await t.test(`[simd=${simd}] encodes with round-to-nearest-even`, () => {
      const vals: number[] = [];
      const want: number[] = [];
      const halves = refHalfToFloat(new Uint16Array(0x7c00).map((_, i) => i)); // +0 .. max finite
      for (let h = 0; h < 0x7c00; h++) {
        vals.push(halves[h], -halves[h]);
        want.push(h, h | 0x8000);
        if (h + 1 < 0x7c00) {
          const lo = halves[h];
          const hi = halves[h + 1];
          const mid = (lo + hi) / 2; // exact in float32: halves have 11 significant bits
          vals.push(mid, Math.fround(mid + (hi - lo) / 1024), Math.fround(mid - (hi - lo) / 1024));
          want.push(h % 2 === 0 ? h : h + 1, h + 1, h);
        }
      }
      vals.push(65504, 65519.99, 65520, 1e9, -1e9, Infinity, -Infinity, 2 ** -25, 2 ** -25 * 1.0001, 1e-10);
      want.push(0x7bff, 0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x7c00, 0xfc00, 0, 1, 0);
      const got = float32ToFloat16(Float32Array.from(vals));
      for (let i = 0; i < vals.length; i++) assert.equal(got[i], want[i], `${vals[i]} -> 0x${want[i].toString(16)}`);
      const nan = float32ToFloat16(new Float32Array([NaN]));
      assert.ok(Number.isNaN(refHalfToFloat(nan)[0]), 'NaN stays NaN');
    });
  }
});

test('streamBaseline sums the array with the pool', () => {
  configureKernels({ simd: initial.simdAvailable, avx512: initial.avx512Available, threads: 2 });
  const rand = rng(3);
  const x = new Float32Array(100_003).map(() => Math.floor(rand() * 8));
  const want = x.reduce((s, v) => s + v, 0);
  assert.equal(streamBaseline(x), want); // small integers: every partial sum is exact
});

test('hammingKnn2 finds the two nearest binary descriptors, as a brute-force reference does', () => {
  const rand = rng(77);
  const bytes = 32;
  const nq = 57;
  const nc = 301;
  // Candidates at offset 3 of their buffer: rows from OpenCV's heap or a Buffer need not be 8-byte aligned.
  const cBuf = new Uint8Array(3 + nc * bytes);
  const cand = cBuf.subarray(3);
  for (let i = 0; i < cand.length; i++) cand[i] = Math.floor(rand() * 256);
  const query = new Uint8Array(nq * bytes);
  for (let i = 0; i < nq; i++) {
    // Most queries are a candidate row with a few bits flipped; some are exact copies of two equal rows (a tie).
    const src = Math.floor(rand() * nc);
    query.set(cand.subarray(src * bytes, (src + 1) * bytes), i * bytes);
    for (let f = Math.floor(rand() * 20); f > 0; f--) query[i * bytes + Math.floor(rand() * bytes)]! ^= 1 << Math.floor(rand() * 8);
  }
  cand.copyWithin(10 * bytes, 200 * bytes, 201 * bytes);
  query.set(cand.subarray(200 * bytes, 201 * bytes), 0);
  const popcount = (v: number) => {
    let n = 0;
    for (; v; v &= v - 1) n++;
    return n;
  };
  const out = hammingKnn2(query, cand, bytes);
  assert.equal(out.length, nq * 3);
  for (let i = 0; i < nq; i++) {
    const d = Array.from({ length: nc }, (_, j) => {
      let s = 0;
      for (let b = 0; b < bytes; b++) s += popcount(query[i * bytes + b]! ^ cand[j * bytes + b]!);
      return s;
    });
    const sorted = [...d].sort((a, b) => a - b);
    assert.equal(out[3 * i + 1], sorted[0], `query ${i}: nearest distance`);
    assert.equal(out[3 * i + 2], sorted[1], `query ${i}: second distance`);
    assert.equal(out[3 * i], d.indexOf(sorted[0]!), `query ${i}: nearest row (the lower one on a tie)`);
  }
  assert.deepEqual([out[0], out[1], out[2]], [10, 0, 0], 'the planted tie: row 10 named, second distance equal');
  const one = hammingKnn2(query.subarray(0, bytes), cand.subarray(200 * bytes, 201 * bytes), bytes);
  assert.deepEqual([...one], [0, 0, 0xffffffff], 'one candidate row: no second neighbour');
});

test('arguments are validated with messages that name them', () => {
  const x = unitRows(4, 8, 1);
  const q = unitRows(1, 8, 2);
  const U = new Float32Array(16);
  assert.throws(() => flatTopK(x, 3, q, null, 1), /dim 3/);
  assert.throws(() => flatTopK(x, 8, q.subarray(0, 7), null, 1), /query/);
  assert.throws(() => flatTopK(x, 8, q, null, 0), /k must be/);
  assert.throws(() => flatTopK(x, 8, q, new Uint32Array([0, 5]), 1), /ownerOffsets/);
  assert.throws(() => flatTopKBatch(x, 8, new Float32Array(12), null, 1), /queries length 12/);
  assert.throws(() => flatTopK(x, 8, q, new Uint32Array([0, 3, 2]), 1), /non-decreasing/);
  assert.throws(() => flatTopK(new Float64Array(8) as unknown as Float32Array, 8, q, null, 1), /vectors/);
  assert.throws(() => rerankLowRank(x, 8, new Uint32Array([4]), q, U, U, 2, 1), /rows\[0\]=4/);
  assert.throws(() => dotRows(x, 8, new Uint32Array([0, 9]), q), /rows\[1\]=9/);
  assert.throws(() => rerankLowRank(x, 8, new Uint32Array([0]), q, U, U, 3, 1), /U has length 16/);
  assert.throws(() => rerankLowRank(x, 8, new Uint32Array([0]), q, U, U, 2, NaN), /a must be finite/);
  assert.throws(() => configureKernels({ threads: 0 }), /threads/);
  assert.throws(() => hammingKnn2(new Uint8Array(32), new Uint8Array(33), 32), /whole rows of 32 bytes/);
  assert.throws(() => hammingKnn2(new Uint8Array(32), new Uint8Array(32), 12), /bytesPerRow/);
  assert.throws(() => hammingKnn2(new Uint16Array(16) as unknown as Uint8Array, new Uint8Array(32), 32), /Uint8Array/);
});

test('async variants give the same answers as the synchronous calls, off the event loop', async () => {
  configureKernels({ simd: initial.simdAvailable, avx512: initial.avx512Available, threads: 2 });
  const d = 256;
  const r = 32;
  const x = unitRows(5000, d, 81);
  const queries = unitRows(3, d, 82);
  const q = queries.subarray(0, d);
  const offsets = new Uint32Array(1251).map((_, i) => i * 4);
  const { U, V } = factors(d, r, 83);
  const rows = new Uint32Array(50_000).map((_, i) => (i * 7919) % 5000); // ~10 ms of work
  let settled = false;
  const pending = rerankLowRankAsync(x, d, rows, q, U, V, r, 0.6).finally(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'the event loop turned while the rerank ran');
  const [rescored, one, batch] = await Promise.all([
    pending,
    flatTopKAsync(x, d, q, offsets, 100),
    flatTopKBatchAsync(x, d, queries, null, 100),
  ]);
  assert.deepEqual(rescored, rerankLowRank(x, d, rows, q, U, V, r, 0.6));
  assert.deepEqual(one, flatTopK(x, d, q, offsets, 100));
  assert.deepEqual(batch, flatTopKBatch(x, d, queries, null, 100));
  assert.throws(() => rerankLowRankAsync(x, d, rows, q, U, V, r, Infinity), /a must be finite/);
  await assert.rejects(async () => rerankLowRankAsync(x, d, new Uint32Array([5000]), q, U, V, r, 0.6), /rows\[0\]=5000/);
  assert.equal((await rerankLowRankAsync(x, d, new Uint32Array(0), q, U, V, r, 0.6)).length, 0);
});

for (const mode of MODES) {
  test(`assignNearest (${mode.name}) picks each row's largest inner product, the lower centroid on ties`, async () => {
    configureKernels({ simd: mode.simd, avx512: mode.avx512, threads: mode.threads });
    const next = rng(41);
    // Sizes off every tile: 37 centroids (not a multiple of 16), 301 rows (not a multiple of 48), dim 70.
    const dim = 70, nlist = 37, n = 301;
    const centroids = Float32Array.from({ length: nlist * dim }, () => next() - 0.5);
    centroids.copyWithin(20 * dim, 3 * dim, 4 * dim); // centroid 20 duplicates centroid 3: ties go to 3
    const x = Float32Array.from({ length: n * dim }, () => next() - 0.5);
    x.set(centroids.subarray(3 * dim, 4 * dim), 5 * dim);
    const got = await assignNearestAsync(x, dim, centroids);
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) {
      const scores = Array.from({ length: nlist }, (_, c) => {
        let s = 0;
        for (let j = 0; j < dim; j++) s += x[i * dim + j]! * centroids[c * dim + j]!;
        return s;
      });
      const best = Math.max(...scores);
      assert.ok(best - scores[got[i]!]! < 1e-5, `row ${i}: centroid ${got[i]} scores ${scores[got[i]!]}, best ${best}`);
    }
    assert.equal(got[5], 3);
    await assert.rejects(async () => assignNearestAsync(x, dim, new Float32Array(dim + 1)), /centroids must be a non-empty Float32Array of rows of dim 70/);
  });
}
