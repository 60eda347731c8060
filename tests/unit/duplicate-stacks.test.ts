// Stack building on synthetic inputs and a real SQLite catalog: multi-index hashing finds exactly the pairs a
// brute-force Hamming scan finds, tiers nest, the best member is the largest copy, the embedding tier links by
// cosine and is skipped above its size limit, and a malformed rebuild leaves the old stacks in place.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StackInput } from '../../db/Interface.ts';
import { buildStacks, perceptualPairs } from '../../electron/engine/duplicates/buildStacks.ts';
import { hammingDistance } from '../../electron/engine/duplicates/phash.ts';
import { rebuildDuplicateStacks } from '../../electron/engine/duplicates/rebuild.ts';
import { rng, sha, tempCatalog } from './db-fixtures.ts';

const hex16 = (r: () => number) => Array.from({ length: 16 }, () => Math.floor(r() * 16).toString(16)).join('');
/** `hash` with `bits` distinct random bits flipped. */
function flip(hash: string, bits: number, r: () => number): string {
  let v = BigInt(`0x${hash}`);
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(Math.floor(r() * 64));
  for (const b of chosen) v ^= 1n << BigInt(b);
  return v.toString(16).padStart(16, '0');
}

test('multi-index hashing finds exactly the pairs within the radius', () => {
  const r = rng(11);
  const inputs: StackInput[] = [];
  for (let i = 0; i < 300; i++) {
    const base = i % 3 === 0 || inputs.length === 0 ? hex16(r) : flip(inputs[inputs.length - 1]!.phash!, Math.floor(r() * 20), r);
    inputs.push({ imageId: i + 1, sha256: sha(i + 1), pixels: 100, size: 100, phash: base });
  }
  for (const radius of [0, 3, 7, 12, 15]) {
    const brute: string[] = [];
    for (let i = 0; i < inputs.length; i++) for (let j = i + 1; j < inputs.length; j++) if (hammingDistance(inputs[i]!.phash!, inputs[j]!.phash!) <= radius) brute.push(`${i},${j}`);
    const found = perceptualPairs(inputs, radius).map(([i, j]) => `${i},${j}`);
    assert.deepEqual(found.sort(), brute.sort(), `radius ${radius}`);
    assert.ok(radius < 7 || brute.length > 0, 'the set holds near pairs to find');
  }
});

test('tiers nest, images without a pHash join only exact and embedding stacks, the best member is the largest', async () => {
  const h = 'f0f0f0f0f0f0f0f0';
  const images: StackInput[] = [
    { imageId: 1, sha256: sha(1), pixels: 1000, size: 50, phash: h },
    { imageId: 2, sha256: sha(1), pixels: 1000, size: 50, phash: h }, // byte copy of 1
    { imageId: 3, sha256: sha(3), pixels: 4000, size: 90, phash: flip(h, 3, rng(1)) }, // near copy, larger
    { imageId: 4, sha256: sha(4), pixels: 1000, size: 50, phash: null }, // not hashed yet
    { imageId: 5, sha256: sha(5), pixels: 1000, size: 50, phash: '0123456789abcdef' },
  ];
  const vectors = new Float32Array([1, 0, 0, 1, 0, 0, 1, 0.01, 0, 0.99, 0.1, 0, 0, 1, 0]); // 4 ≈ 1, 5 far
  const built = await buildStacks(images, { packId: 'p', dim: 3, imageIds: Uint32Array.from([1, 2, 3, 4, 5]), vectors }, { phashRadius: 4, embeddingThreshold: 0.95, embeddingNeighbours: 4 });
  const of = (tier: string) => built.stacks.filter((s) => s.tier === tier).map((s) => ({ best: s.bestImageId, members: [...s.members].sort() }));
  assert.deepEqual(of('exact'), [{ best: 1, members: [1, 2] }]);
  assert.deepEqual(of('perceptual'), [{ best: 3, members: [1, 2, 3] }]);
  assert.deepEqual(of('embedding'), [{ best: 3, members: [1, 2, 3, 4] }]);
  assert.equal(built.withoutPhash, 1);
});

test('rebuild stores the stacks with their parameters, skips the embedding tier above its limit, and a bad stack changes nothing', async () => {
  const t = tempCatalog();
  try {
    const { store } = t;
    store.registerPack({ id: 'p', version: '1', name: 'P', dim: 2, manifest: {} });
    const vec = (x: number, y: number) => ({ packId: 'p', dtype: 'float32' as const, vectors: new Float32Array([x, y]), nVectors: 1, dim: 2, boxes: new Float32Array([0, 0, 1, 1]), contentScores: null, explicitScore: null });
    const add = (n: number, shaOf: number, phash: string, v: [number, number]) =>
      store.commitIngestedImage({ path: `/ev/${n}.jpg`, size: 10, mtimeMs: 1, meta: { sha256: sha(shaOf), width: 10, height: 10, format: 'jpeg' }, embeddings: [vec(...v)], perceptualHash: phash });
    add(1, 1, 'aaaaaaaaaaaaaaaa', [1, 0]);
    add(2, 1, 'aaaaaaaaaaaaaaaa', [1, 0]);
    add(3, 3, '5555555555555555', [0.999, 0.04]);
    const full = await rebuildDuplicateStacks(store, 'p');
    assert.deepEqual(full.stacks, { exact: { stacks: 1, images: 2 }, perceptual: { stacks: 1, images: 2 }, embedding: { stacks: 1, images: 3 } });
    assert.equal(store.duplicates.listStacks('embedding')[0]!.params.embeddingThreshold, 0.87);
    const limited = await rebuildDuplicateStacks(store, 'p', undefined, 2);
    assert.equal(limited.embeddingSkipped, true);
    assert.deepEqual(limited.stacks.embedding, { stacks: 1, images: 2 }, 'only the nested exact stack, no cosine links');
    assert.equal(limited.stacks.exact.stacks, 1);
    assert.throws(() => store.duplicates.replaceStacks([{ tier: 'exact', bestImageId: 1, members: [1] }], { exact: {}, perceptual: {}, embedding: {} }), /stack 0 \(exact\) has 1 member/);
    assert.throws(
      () => store.duplicates.replaceStacks([{ tier: 'exact', bestImageId: 1, members: [1, 2] }, { tier: 'exact', bestImageId: 2, members: [2, 3] }], { exact: {}, perceptual: {}, embedding: {} }),
      /UNIQUE|PRIMARY KEY/,
    );
    assert.equal(store.duplicates.countStacks().exact.stacks, 1, 'a refused rebuild leaves the stacks as they were');
    assert.throws(() => store.duplicates.putPerceptualHash(sha(1), 'XYZ'), /phash "XYZ" is not 16 lower-case hex digits/);
  } finally {
    t.dispose();
  }
});
