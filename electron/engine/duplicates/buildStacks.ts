// Which catalogued images are duplicates of which, in three nested tiers kept distinct:
//   exact       identical bytes (same SHA-256);
//   perceptual  an exact stack, or pHashes within `phashRadius` bits of each other (recompressed, resized, slightly
//               cropped copies);
//   embedding   a perceptual stack, or whole-image vectors of one pack with cosine ≥ `embeddingThreshold` (the
//               same scene re-shot or edited beyond what pHash tolerates).
// Each tier's stacks are the connected components (size ≥ 2) of its links plus every stronger tier's, so an exact
// stack lies inside one perceptual stack and that inside one embedding stack: collapsing at a looser tier never
// splits a tighter one.
//
// Cost: perceptual neighbours come from multi-index hashing (the 64 bits in four 16-bit chunks; two hashes within
// radius R agree within ⌊R/4⌋ bits on at least one chunk), so near-linear in the catalog; embedding neighbours are an
// exact all-pairs scan in the native kernels (batches of queries in one pass over the vectors), quadratic in the
// catalog — `npm run bench` prints its time per catalog size.
import type { DuplicateTier, NewStack, StackInput } from '../../../db/duplicates.ts';
import { flatTopKBatchAsync, float16ToFloat32, type VectorStore } from '../search/kernels.ts';
import { hashWords, popcount32 } from './phash.ts';

export interface StackParams {
  /** Largest Hamming distance (of 64 bits) between perceptual duplicates. */
  phashRadius: number;
  /** Smallest cosine between the whole-image vectors of embedding duplicates. */
  embeddingThreshold: number;
  /** Neighbours considered per image in the embedding tier. */
  embeddingNeighbours: number;
}

/**
 * Chosen on the generated copies of `npm run bench` (bench/dupes.ts, `dupes_sweep_*`; 200 originals, 50 of them with
 * four copies, 400 images): recompressed and downsized copies lie within 2 bits of their original, 2–5 % crops at 9
 * on average (up to 20), distinct photos at 32 on average and never under 14. Radius 12 keeps 96.5 % of the copies
 * with no false stack (10: 92.5 %; 14: 97.5 % but 2.5 false stacks per 1,000 images). Cosine 0.87 between
 * whole-image vectors: 0.9 kept 98 % with no false stack, 0.85 99 % with 2.5 false per 1,000, 0.8 15.
 */
export const DEFAULT_STACK_PARAMS: StackParams = { phashRadius: 12, embeddingThreshold: 0.87, embeddingNeighbours: 16 };

/** Whole-image vectors (row 0 of each image's embedding) of the images in `imageIds`, row-major. */
export interface WholeVectors {
  packId: string;
  dim: number;
  imageIds: Uint32Array;
  vectors: VectorStore;
}

export interface BuiltStacks {
  stacks: NewStack[];
  /** Images without a pHash (not yet computed): they join only exact and embedding stacks. */
  withoutPhash: number;
  /** Links found per tier (pairs), before taking components. */
  links: Record<DuplicateTier, number>;
}

export async function buildStacks(images: readonly StackInput[], whole: WholeVectors | null, params: StackParams = DEFAULT_STACK_PARAMS): Promise<BuiltStacks> {
  if (!(params.phashRadius >= 0 && params.phashRadius <= 64)) throw new Error(`phashRadius must lie in 0..64 (got ${params.phashRadius})`);
  if (!(params.embeddingThreshold > 0 && params.embeddingThreshold <= 1)) throw new Error(`embeddingThreshold must lie in (0, 1] (got ${params.embeddingThreshold})`);
  const n = images.length;
  const uf = new UnionFind(n);
  const links: Record<DuplicateTier, number> = { exact: 0, perceptual: 0, embedding: 0 };
  const stacks: NewStack[] = [];

  const bySha = new Map<string, number>();
  images.forEach((img, i) => {
    const first = bySha.get(img.sha256);
    if (first === undefined) bySha.set(img.sha256, i);
    else if (uf.union(first, i)) links.exact++;
  });
  stacks.push(...components(uf, images, 'exact'));

  let withoutPhash = 0;
  for (const [i, j] of perceptualPairs(images, params.phashRadius)) if (uf.union(i, j)) links.perceptual++;
  for (const img of images) if (img.phash === null) withoutPhash++;
  stacks.push(...components(uf, images, 'perceptual'));

  if (whole) for (const [i, j] of await embeddingPairs(images, whole, params)) if (uf.union(i, j)) links.embedding++;
  stacks.push(...components(uf, images, 'embedding'));
  return { stacks, withoutPhash, links };
}

/** Best member: most pixels, then most bytes, then the lowest id (the original is usually the largest copy). */
function components(uf: UnionFind, images: readonly StackInput[], tier: DuplicateTier): NewStack[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < images.length; i++) {
    const root = uf.find(i);
    const g = groups.get(root);
    if (g) g.push(i);
    else groups.set(root, [i]);
  }
  const out: NewStack[] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    let best = g[0]!;
    for (const i of g) {
      const a = images[i]!;
      const b = images[best]!;
      if (a.pixels > b.pixels || (a.pixels === b.pixels && (a.size > b.size || (a.size === b.size && a.imageId < b.imageId)))) best = i;
    }
    out.push({ tier, bestImageId: images[best]!.imageId, members: g.map((i) => images[i]!.imageId) });
  }
  return out;
}

/** Index pairs (i < j) whose pHashes lie within `radius` bits, by multi-index hashing over four 16-bit chunks. */
export function perceptualPairs(images: readonly StackInput[], radius: number): [number, number][] {
  const words: ([number, number] | null)[] = images.map((img) => (img.phash === null ? null : hashWords(img.phash)));
  const chunk = (w: [number, number], c: number) => (c < 2 ? w[0] >>> (16 * (1 - c)) : w[1] >>> (16 * (3 - c))) & 0xffff;
  const tables = Array.from({ length: 4 }, () => new Map<number, number[]>());
  words.forEach((w, i) => {
    if (!w) return;
    for (let c = 0; c < 4; c++) {
      const key = chunk(w, c);
      const list = tables[c]!.get(key);
      if (list) list.push(i);
      else tables[c]!.set(key, [i]);
    }
  });
  const probes = chunkNeighbours(Math.floor(radius / 4));
  const seen = new Int32Array(images.length).fill(-1);
  const pairs: [number, number][] = [];
  words.forEach((w, i) => {
    if (!w) return;
    for (let c = 0; c < 4; c++) {
      const key = chunk(w, c);
      for (const flip of probes) {
        for (const j of tables[c]!.get(key ^ flip) ?? []) {
          if (j <= i || seen[j] === i) continue;
          seen[j] = i;
          const v = words[j]!;
          if (popcount32(w[0] ^ v[0]) + popcount32(w[1] ^ v[1]) <= radius) pairs.push([i, j]);
        }
      }
    }
  });
  return pairs;
}

/** Every 16-bit mask with at most `bits` bits set (the chunk values to probe around a key). */
function chunkNeighbours(bits: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < 1 << 16; m++) if (popcount32(m) <= bits) out.push(m);
  return out;
}

const QUERY_BATCH = 256;

/** Index pairs (i < j) whose whole-image vectors have cosine ≥ the threshold, among each image's nearest neighbours. */
async function embeddingPairs(images: readonly StackInput[], whole: WholeVectors, params: StackParams): Promise<[number, number][]> {
  const { dim, vectors, imageIds } = whole;
  const m = imageIds.length;
  if (m < 2) return [];
  if (vectors.length !== m * dim) throw new Error(`whole-image vectors of pack ${whole.packId}: ${vectors.length} values for ${m} images of dimension ${dim}`);
  const indexOf = new Map(images.map((img, i) => [img.imageId, i]));
  const norms = new Float32Array(m);
  const row = (r: number) => rowFloat32(vectors, dim, r);
  for (let r = 0; r < m; r++) norms[r] = Math.hypot(...row(r)) || 1;
  const k = Math.min(m, params.embeddingNeighbours + 1);
  const pairs: [number, number][] = [];
  for (let start = 0; start < m; start += QUERY_BATCH) {
    const count = Math.min(QUERY_BATCH, m - start);
    const queries = new Float32Array(count * dim);
    for (let q = 0; q < count; q++) {
      const v = row(start + q);
      const inv = 1 / norms[start + q]!;
      for (let d = 0; d < dim; d++) queries[q * dim + d] = v[d]! * inv;
    }
    const tops = await flatTopKBatchAsync(vectors, dim, queries, null, k);
    tops.forEach((top, q) => {
      const r = start + q;
      const i = indexOf.get(imageIds[r]!);
      if (i === undefined) return;
      top.ids.forEach((other, t) => {
        if (other === r || top.scores[t]! / norms[other]! < params.embeddingThreshold) return;
        const j = indexOf.get(imageIds[other]!);
        if (j !== undefined && i < j) pairs.push([i, j]);
      });
    });
  }
  return pairs;
}

function rowFloat32(vectors: VectorStore, dim: number, r: number): Float32Array {
  const v = vectors.subarray(r * dim, (r + 1) * dim);
  return v instanceof Float32Array ? v : float16ToFloat32(v);
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  /** True when i and j were in different components. */
  union(i: number, j: number): boolean {
    const a = this.find(i);
    const b = this.find(j);
    if (a === b) return false;
    this.parent[Math.max(a, b)] = Math.min(a, b);
    return true;
  }
}
