// Synthetic catalogs for `npm run bench:scale` and the index tests: every vector is a real (or given) base vector
// mixed with a second one and perturbed, so the catalog has the base set's cluster structure rather than uniform
// noise, and a few query vectors have planted near-copies in known images (the ground truth that must be found).
import type { CatalogStore, IngestedImage } from '../db/Interface.ts';
import { float32ToFloat16 } from '../electron/engine/search/kernels.ts';
import { mulberry32 } from '../electron/engine/search/rng.ts';

export interface SyntheticOptions {
  packId: string;
  images: number;
  rowsPerImage: number;
  dim: number;
  /** Unit base vectors, row-major [n × dim]: e.g. real region vectors of rendered scenes. */
  base: Float32Array;
  queries: number;
  /** The query vectors (e.g. real crop vectors); default: drawn like catalog vectors. */
  queryVectors?: readonly Float32Array[];
  copiesPerQuery: number;
  seed: number;
  /** Folder of the fake image paths (paths must differ between two fills of one catalog). */
  pathPrefix?: string;
  /** Norm of the perturbation added to each mixed vector (relative to a unit base vector). */
  noise?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SyntheticCatalog {
  /** One query vector per planted query. */
  queries: Float32Array[];
  /** Catalog image ids holding a near-copy of each query. */
  planted: number[][];
}

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

const COMMIT_BATCH = 500;

/** Writes `images` synthetic images with their embeddings into the catalog (the pack must be registered). */
export function writeSyntheticCatalog(store: CatalogStore, o: SyntheticOptions): SyntheticCatalog {
  const { dim, rowsPerImage } = o;
  const rnd = mulberry32(o.seed);
  const nBase = o.base.length / dim;
  const noise = o.noise ?? 0.6;
  const scale = (noise * Math.sqrt(3)) / Math.sqrt(dim); // uniform [-s, s) per dimension has norm ≈ noise
  const mixed = (out: Float32Array, at: number) => {
    const a = Math.floor(rnd() * nBase) * dim;
    const b = Math.floor(rnd() * nBase) * dim;
    const m = rnd() * 0.5;
    for (let j = 0; j < dim; j++) out[at + j] = o.base[a + j]! + m * o.base[b + j]! + (2 * rnd() - 1) * scale;
    normalize(out.subarray(at, at + dim));
  };
  const queries: Float32Array[] = [];
  const plantAt = new Map<number, { query: number; row: number }[]>();
  const planted: number[][] = [];
  for (let q = 0; q < o.queries; q++) {
    const v = o.queryVectors?.[q] ? normalize(Float32Array.from(o.queryVectors[q]!)) : new Float32Array(dim);
    if (!o.queryVectors?.[q]) mixed(v, 0);
    queries.push(v);
    planted.push([]);
    for (let c = 0; c < o.copiesPerQuery; c++) {
      const image = Math.floor(rnd() * o.images);
      const list = plantAt.get(image) ?? [];
      list.push({ query: q, row: 1 + Math.floor(rnd() * (rowsPerImage - 1)) });
      plantAt.set(image, list);
    }
  }
  const boxes = new Float32Array(rowsPerImage * 4);
  const side = Math.ceil(Math.sqrt(rowsPerImage - 1));
  boxes.set([0, 0, 1, 1]);
  for (let r = 1; r < rowsPerImage; r++) boxes.set([((r - 1) % side) / side, Math.floor((r - 1) / side) / side, 1 / side, 1 / side], r * 4);
  let batch: IngestedImage[] = [];
  let written = 0;
  const flush = () => {
    const ids = store.commitIngestedImages(batch);
    for (let i = 0; i < ids.length; i++) {
      for (const p of plantAt.get(written + i) ?? []) if (!planted[p.query]!.includes(ids[i]!)) planted[p.query]!.push(ids[i]!);
    }
    written += batch.length;
    batch = [];
    o.onProgress?.(written, o.images);
  };
  for (let i = 0; i < o.images; i++) {
    const x = new Float32Array(rowsPerImage * dim);
    for (let r = 0; r < rowsPerImage; r++) mixed(x, r * dim);
    for (const p of plantAt.get(i) ?? []) {
      const q = queries[p.query]!;
      const at = p.row * dim;
      for (let j = 0; j < dim; j++) x[at + j] = q[j]! + (2 * rnd() - 1) * scale * 0.3;
      normalize(x.subarray(at, at + dim));
    }
    const name = `${o.pathPrefix ?? '/synthetic/'}${String(i).padStart(8, '0')}.jpg`;
    batch.push({
      path: name,
      size: 1,
      mtimeMs: 0,
      meta: { sha256: (o.seed * 1e9 + i + 1).toString(16).padStart(64, '0'), width: 1600, height: 1200, format: 'jpeg' },
      embeddings: [{ packId: o.packId, nVectors: rowsPerImage, dim, dtype: 'float16', vectors: float32ToFloat16(x), boxes, contentScores: null, explicitScore: null }],
    });
    if (batch.length === COMMIT_BATCH) flush();
  }
  if (batch.length) flush();
  return { queries, planted };
}
