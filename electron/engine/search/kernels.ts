// Typed wrapper over the native search kernels (electron/engine/search/native/: search_kernels.c is the N-API glue,
// qk_internal.h lists the kernel units; built by `npm install` through the root binding.gyp into
// build/Release/search_kernels.node).
//
// Storage: a catalog is one row-major matrix of L2-normalised vectors, either float32 (Float32Array) or
// IEEE float16 bit patterns (Uint16Array, half the bytes, so flat search streams twice as fast).
// Every vector kernel uses one process-wide thread pool (default 2 threads, the calling thread included); only
// hammingKnn2, stage 3's descriptor matcher, runs on its caller's thread (verification workers call it). The plain calls
// block their thread for the whole pass (a flat scan reads every byte: 2 GB for 1M×512 float32); the
// *Async variants run the same code from a libuv worker and keep the event loop free. Arrays handed to an async
// call must not be modified or transferred until its promise settles. Calls run one at a time: a call made while
// another is running waits for it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Row-major vector storage: float32, or float16 bit patterns in a Uint16Array. */
export type VectorStore = Float32Array | Uint16Array;

export interface TopK {
  /** Row ids (no ownerOffsets) or image ids (with ownerOffsets), best first; ties go to the lower id. */
  ids: Uint32Array;
  scores: Float32Array;
  /** The row that produced each score (the lowest-index row among an image's equal best rows). */
  rows: Uint32Array;
}

export interface KernelConfig {
  /** Threads used by every vector kernel, the calling thread included (hammingKnn2 runs on its caller's). */
  threads: number;
  /** Whether the AVX2/FMA/F16C paths are in use. */
  simd: boolean;
  /** Whether this CPU supports them. */
  simdAvailable: boolean;
  /** Whether the rerank GEMM uses AVX-512 (compute-bound; the flat kernels are memory-bound and stay AVX2). */
  avx512: boolean;
  avx512Available: boolean;
}

export interface KernelOptions {
  threads?: number;
  /** false forces the portable scalar code in the vector kernels (hammingKnn2 uses popcount wherever the CPU has it). */
  simd?: boolean;
  /** false keeps the rerank GEMM on AVX2. */
  avx512?: boolean;
}

interface NativeKernels {
  flatTopK(vectors: VectorStore, dim: number, queries: Float32Array, ownerOffsets: Uint32Array | null, k: number): TopK[];
  flatTopKAsync(
    vectors: VectorStore,
    dim: number,
    queries: Float32Array,
    ownerOffsets: Uint32Array | null,
    k: number,
  ): Promise<TopK[]>;
  dotRows(vectors: VectorStore, dim: number, rows: Uint32Array, query: Float32Array): Float32Array;
  rerankLowRank(
    vectors: VectorStore,
    dim: number,
    rows: Uint32Array,
    qRefined: Float32Array,
    U: Float32Array,
    V: Float32Array,
    r: number,
    a: number,
  ): Float32Array;
  rerankLowRankAsync(
    vectors: VectorStore,
    dim: number,
    rows: Uint32Array,
    qRefined: Float32Array,
    U: Float32Array,
    V: Float32Array,
    r: number,
    a: number,
  ): Promise<Float32Array>;
  streamBaseline(vectors: Float32Array): number;
  float32ToFloat16(values: Float32Array): Uint16Array;
  float16ToFloat32(bits: Uint16Array): Float32Array;
  assignNearestAsync(vectors: Float32Array, dim: number, centroids: Float32Array): Promise<Uint32Array>;
  hammingKnn2(query: Uint8Array, candidate: Uint8Array, bytesPerRow: number): Uint32Array;
  configure(options: KernelOptions): KernelConfig;
}

const ADDON_NAME = 'search_kernels.node';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`search kernels: no binding.gyp above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

let native: NativeKernels | undefined;

function load(): NativeKernels {
  if (native) return native;
  const root = findRepoRoot();
  const path = join(root, 'build', 'Release', ADDON_NAME);
  if (!existsSync(path)) {
    throw new Error(`search kernels: ${path} is missing; run npm install to build the search kernels`);
  }
  native = createRequire(import.meta.url)(path) as NativeKernels;
  return native;
}

function checkStore(fn: string, vectors: VectorStore, dim: number): number {
  if (!(vectors instanceof Float32Array) && !(vectors instanceof Uint16Array)) {
    throw new TypeError(`${fn}: vectors must be a Float32Array or a Uint16Array of float16 bits`);
  }
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`${fn}: dim must be a positive integer, got ${dim}`);
  if (vectors.length % dim !== 0) {
    throw new RangeError(`${fn}: vectors length ${vectors.length} is not a multiple of dim ${dim}`);
  }
  return vectors.length / dim;
}

function checkF32(fn: string, name: string, arr: unknown, length: number): void {
  if (!(arr instanceof Float32Array)) throw new TypeError(`${fn}: ${name} must be a Float32Array`);
  if (arr.length !== length) throw new RangeError(`${fn}: ${name} has length ${arr.length}, expected ${length}`);
}

function checkTopK(fn: string, n: number, k: number, ownerOffsets: Uint32Array | null | undefined): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${fn}: k must be a positive integer, got ${k}`);
  if (ownerOffsets != null) {
    if (!(ownerOffsets instanceof Uint32Array) || ownerOffsets.length < 1) {
      throw new TypeError(`${fn}: ownerOffsets must be a Uint32Array of length images+1`);
    }
    const last = ownerOffsets[ownerOffsets.length - 1];
    if (last > n) throw new RangeError(`${fn}: ownerOffsets ends at row ${last} but there are ${n} rows`);
  }
}

/**
 * Exact top-K by inner product with `query`. Without `ownerOffsets` each row is an item; with them, image i
 * owns rows ownerOffsets[i]..ownerOffsets[i+1]-1 and scores max over its rows (images with no rows are
 * skipped). Returns min(k, items) results, best first.
 */
export function flatTopK(
  vectors: VectorStore,
  dim: number,
  query: Float32Array,
  ownerOffsets: Uint32Array | null | undefined,
  k: number,
): TopK {
  const n = checkStore('flatTopK', vectors, dim);
  checkF32('flatTopK', 'query', query, dim);
  checkTopK('flatTopK', n, k, ownerOffsets);
  return load().flatTopK(vectors, dim, query, ownerOffsets ?? null, k)[0];
}

function checkQueries(fn: string, queries: Float32Array, dim: number): void {
  if (!(queries instanceof Float32Array)) throw new TypeError(`${fn}: queries must be a Float32Array`);
  if (queries.length === 0 || queries.length % dim !== 0 || queries.length / dim > 4096) {
    throw new RangeError(`${fn}: queries length ${queries.length} is not 1..4096 rows of dim ${dim}`);
  }
}

/**
 * flatTopK for several queries (row-major [queries.length/dim × dim]) in one pass over the vectors: each row is
 * read from memory once for all queries, so a handful of queries cost about as much as one. One TopK per query.
 */
export function flatTopKBatch(
  vectors: VectorStore,
  dim: number,
  queries: Float32Array,
  ownerOffsets: Uint32Array | null | undefined,
  k: number,
): TopK[] {
  const n = checkStore('flatTopKBatch', vectors, dim);
  checkQueries('flatTopKBatch', queries, dim);
  checkTopK('flatTopKBatch', n, k, ownerOffsets);
  return load().flatTopK(vectors, dim, queries, ownerOffsets ?? null, k);
}

/** flatTopKBatch off the event loop (see the note at the top about the arrays). */
export function flatTopKBatchAsync(
  vectors: VectorStore,
  dim: number,
  queries: Float32Array,
  ownerOffsets: Uint32Array | null | undefined,
  k: number,
): Promise<TopK[]> {
  const n = checkStore('flatTopKBatchAsync', vectors, dim);
  checkQueries('flatTopKBatchAsync', queries, dim);
  checkTopK('flatTopKBatchAsync', n, k, ownerOffsets);
  return load().flatTopKAsync(vectors, dim, queries, ownerOffsets ?? null, k);
}

/** flatTopK off the event loop (see the note at the top about the arrays). */
export async function flatTopKAsync(
  vectors: VectorStore,
  dim: number,
  query: Float32Array,
  ownerOffsets: Uint32Array | null | undefined,
  k: number,
): Promise<TopK> {
  const n = checkStore('flatTopKAsync', vectors, dim);
  checkF32('flatTopKAsync', 'query', query, dim);
  checkTopK('flatTopKAsync', n, k, ownerOffsets);
  return (await load().flatTopKAsync(vectors, dim, query, ownerOffsets ?? null, k))[0];
}

// Row ids are range-checked natively (a JS pass over a whole-catalog rescore would cost milliseconds).
function checkRows(fn: string, rows: Uint32Array): void {
  if (!(rows instanceof Uint32Array)) throw new TypeError(`${fn}: rows must be a Uint32Array`);
}

/** Inner product of `query` with each of `rows` (in the given order). */
export function dotRows(vectors: VectorStore, dim: number, rows: Uint32Array, query: Float32Array): Float32Array {
  checkStore('dotRows', vectors, dim);
  checkRows('dotRows', rows);
  checkF32('dotRows', 'query', query, dim);
  return load().dotRows(vectors, dim, rows, query);
}

function checkRerank(fn: string, vectors: VectorStore, dim: number, rows: Uint32Array, qRefined: Float32Array, U: Float32Array, V: Float32Array, r: number, a: number): void {
  checkStore(fn, vectors, dim);
  checkRows(fn, rows);
  checkF32(fn, 'qRefined', qRefined, dim);
  if (!Number.isInteger(r) || r < 1) throw new RangeError(`${fn}: r must be a positive integer, got ${r}`);
  checkF32(fn, 'U', U, dim * r);
  checkF32(fn, 'V', V, dim * r);
  if (!Number.isFinite(a)) throw new RangeError(`${fn}: a must be finite, got ${a}`);
}

/**
 * QuARI low-rank rescoring of `rows`: y = x + a·(x·U)·Vᵀ, score = qRefined·y / max(‖y‖, 1e-12).
 * U and V are row-major dim×r. Pass every row id to rescore the whole catalog.
 */
export function rerankLowRank(
  vectors: VectorStore,
  dim: number,
  rows: Uint32Array,
  qRefined: Float32Array,
  U: Float32Array,
  V: Float32Array,
  r: number,
  a: number,
): Float32Array {
  checkRerank('rerankLowRank', vectors, dim, rows, qRefined, U, V, r, a);
  return load().rerankLowRank(vectors, dim, rows, qRefined, U, V, r, a);
}

/** rerankLowRank off the event loop (see the note at the top about the arrays). */
export function rerankLowRankAsync(
  vectors: VectorStore,
  dim: number,
  rows: Uint32Array,
  qRefined: Float32Array,
  U: Float32Array,
  V: Float32Array,
  r: number,
  a: number,
): Promise<Float32Array> {
  checkRerank('rerankLowRankAsync', vectors, dim, rows, qRefined, U, V, r, a);
  return load().rerankLowRankAsync(vectors, dim, rows, qRefined, U, V, r, a);
}

/**
 * Index of the nearest centroid (largest inner product; the lower index on ties) of every row of `vectors`, off the
 * event loop, by blocked GEMM: the IVF build's assignment of every catalog vector to its list.
 */
export function assignNearestAsync(vectors: Float32Array, dim: number, centroids: Float32Array): Promise<Uint32Array> {
  if (!(vectors instanceof Float32Array)) throw new TypeError('assignNearestAsync: vectors must be a Float32Array');
  checkStore('assignNearestAsync', vectors, dim);
  if (!(centroids instanceof Float32Array) || centroids.length === 0 || centroids.length % dim !== 0) {
    throw new RangeError(`assignNearestAsync: centroids must be a non-empty Float32Array of rows of dim ${dim}`);
  }
  return load().assignNearestAsync(vectors, dim, centroids);
}

/** Benchmark baseline: sums every float with the kernel thread pool (a pure memory stream). */
export function streamBaseline(vectors: Float32Array): number {
  if (!(vectors instanceof Float32Array)) throw new TypeError('streamBaseline: vectors must be a Float32Array');
  return load().streamBaseline(vectors);
}

/** float32 → IEEE float16 bits, round-to-nearest-even (overflow → ±Infinity, NaN kept). */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  if (!(values instanceof Float32Array)) throw new TypeError('float32ToFloat16: values must be a Float32Array');
  return load().float32ToFloat16(values);
}

/** IEEE float16 bits → float32 (exact). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!(bits instanceof Uint16Array)) throw new TypeError('float16ToFloat32: bits must be a Uint16Array');
  return load().float16ToFloat32(bits);
}

/**
 * Binary descriptors (rows of `bytesPerRow` bytes, a multiple of 8): for every query row, [nearest candidate row,
 * its Hamming distance, the second-nearest distance] (each 0xffffffff where the candidate has too few rows). Runs on
 * the calling thread, outside the kernel pool: geometric verification calls it from its own worker threads.
 */
export function hammingKnn2(query: Uint8Array, candidate: Uint8Array, bytesPerRow: number): Uint32Array {
  if (!(query instanceof Uint8Array)) throw new TypeError('hammingKnn2: query must be a Uint8Array');
  if (!(candidate instanceof Uint8Array)) throw new TypeError('hammingKnn2: candidate must be a Uint8Array');
  return load().hammingKnn2(query, candidate, bytesPerRow);
}

/**
 * Sets the thread count and/or restricts the instruction sets (SIMD paths are only ever enabled where the CPU has
 * them); returns the settings now in force. With no options it only reports them.
 */
export function configureKernels(options: KernelOptions = {}): KernelConfig {
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > 64)) {
    throw new RangeError(`configureKernels: threads must be an integer in 1..64, got ${options.threads}`);
  }
  return load().configure(options);
}
