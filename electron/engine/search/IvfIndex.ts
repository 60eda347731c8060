// The on-disk stage-1 index of one pack's region vectors: an inverted file (IVF) beside the catalog, so a catalog of
// millions of images opens searchable in milliseconds (no load from SQLite) and a query reads only the few lists
// nearest to it instead of every vector.
//
// Layout (little-endian): 'QUARIIVF', u32 version, u32 header length, a JSON header naming the pack, dimensions,
// counts and section offsets; then 4 KiB-aligned sections: catalog image id per slot (u32), centroids (f32
// nlist×dim, unit length), list offsets (f64, nlist+1 entries; float64 counts, so no 2^32 limit), per entry its image
// slot (u32) and per entry its vector (float16), both grouped by list and, inside a list, by slot. Lists are read with
// positioned reads through the page cache, not mmap: Electron's V8 sandbox refuses external buffers, Node refuses
// typed arrays over 2^32 elements, and page-cache pages are not the process's resident memory, so RSS stays the few
// lists of one query however large the file. No array here is ever sized by the whole catalog's vector count.
//
// Scores are exact inner products over the probed lists (the vectors are the catalog's float16 values), so the only
// approximation is which lists are probed; stage 2 rescoring reads the candidates' rows from SQLite.
//
// Crash safety: a build writes `<file>.tmp`, fsyncs it, renames it over the old file and fsyncs the folder, so a
// crash leaves the old index or the new one, never a torn one; a file that fails its checks on open (wrong magic,
// version, pack, dimension or size) is reported and rebuilt by the caller. The file is immutable: images ingested after
// a build are searched exactly from SQLite beside it (IndexedCatalog) until the next build.
import { closeSync, fsyncSync, openSync, readSync, renameSync, writeSync, ftruncateSync, fstatSync, rmSync } from 'node:fs';
import { open as openHandle, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CatalogStore, LoadedEmbeddings } from '../../../db/Interface.ts';
import { mulberry32 } from './rng.ts';
import { mergeHits, type CandidateSource, type ImageHits } from './CandidateSource.ts';
import { assignNearestAsync, flatTopKBatch, flatTopKBatchAsync, float16ToFloat32, float32ToFloat16 } from './kernels.ts';

const MAGIC = 'QUARIIVF';
const VERSION = 1;
const ALIGN = 4096;
/** Images per SQLite page while building (bounds the transient copy: 5000 × 36 × 256 float16 ≈ 92 MB). */
const BUILD_PAGE = 5000;
/** Rows per assignment call (bounds nothing large: the kernel tiles internally; keeps progress reports frequent). */
const ASSIGN_BATCH = 65536;
const TRAIN_PER_LIST = 48;
const TRAIN_ITERATIONS = 8;
/** Vectors read and scored at once by one search (bounds its memory however many lists it probes). */
const READ_GROUP_BYTES = 256 * 2 ** 20;

interface Section {
  offset: number;
  bytes: number;
}

interface Header {
  packId: string;
  dim: number;
  nlist: number;
  images: number;
  rows: number;
  /** Highest catalog image id in the file: images above it are the delta searched beside the index. */
  maxImageId: number;
  builtAt: string;
  sections: { imageIds: Section; centroids: Section; listOffsets: Section; entrySlots: Section; vectors: Section };
}

export interface BuildProgress {
  phase: 'sample' | 'train' | 'assign' | 'write';
  done: number;
  total: number;
}

export interface BuildOptions {
  /** Number of lists; default ≈ √rows rounded to a power of two, 16..4096. */
  nlist?: number;
  onProgress?: (p: BuildProgress) => void;
  /** Stops the build between pages (the previous file, if any, stays in place). */
  signal?: AbortSignal;
  seed?: number;
}

/** A file that is not a usable index (the caller rebuilds it); the message names the file and the check. */
export class IndexFileError extends Error {}

export function defaultNlist(rows: number): number {
  const target = Math.sqrt(Math.max(rows, 1));
  return Math.min(4096, Math.max(16, 2 ** Math.round(Math.log2(target))));
}

/**
 * Lists probed per query vector when the caller names none: at least 48, and a 32nd of the lists on finer indexes
 * (64 of 2,048, 128 of 4,096). Recall of the exact top 100 follows the share of lists probed, not their count
 * (bench:scale, synthetic vectors of the default pack, both adaptive probes, 2026-12-08): 48 of 1,024 lists 0.978 at
 * 50k images, 48 of 2,048 0.985 / 0.975 at 100k / 200k, but 48 of 4,096 0.918 at 1M; 96 0.962 and 128 0.974 there.
 * On real crop queries (the cross-family catalog indexed into 4,096 lists, quari eval) adaptive mAP@100 lost 0.017
 * against the exact scan at 48 and 0.005 at 128. 1M images at 128: p50 357 ms, p95 420 ms end to end (README "Scale").
 */
export function defaultNprobe(nlist: number): number {
  return Math.min(nlist, Math.max(48, Math.round(nlist / 32)));
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function* pages(store: CatalogStore, packId: string, signal: AbortSignal | undefined): Generator<LoadedEmbeddings> {
  let after = 0;
  for (;;) {
    signal?.throwIfAborted();
    const page = store.loadEmbeddings(packId, { afterImageId: after, limit: BUILD_PAGE });
    if (page.count === 0) return;
    yield page;
    after = page.imageIds[page.count - 1]!;
  }
}

function asFloat32(page: LoadedEmbeddings): Float32Array {
  return page.dtype === 'float32' ? page.vectors : float16ToFloat32(page.vectors);
}

function asFloat16(page: LoadedEmbeddings): Uint16Array {
  return page.dtype === 'float16' ? page.vectors : float32ToFloat16(page.vectors);
}

/** Nearest centroid (largest inner product) of every row of `x`, off the event loop (blocked GEMM, in pages). */
async function assign(centroids: Float32Array, dim: number, x: Float32Array): Promise<Uint32Array> {
  const n = x.length / dim;
  const out = new Uint32Array(n);
  for (let s = 0; s < n; s += ASSIGN_BATCH) {
    const e = Math.min(n, s + ASSIGN_BATCH);
    out.set(await assignNearestAsync(x.subarray(s * dim, e * dim), dim, centroids), s);
  }
  return out;
}

/** Spherical k-means (inner product, unit centroids) on a sample; empty lists are re-seeded from the sample. */
async function kmeans(sample: Float32Array, dim: number, k: number, seed: number, onIteration: (i: number) => void): Promise<Float32Array> {
  const n = sample.length / dim;
  const rnd = mulberry32(seed);
  const centroids = new Float32Array(k * dim);
  for (let c = 0; c < k; c++) centroids.set(sample.subarray(((c * n) / k | 0) * dim, (((c * n) / k | 0) + 1) * dim), c * dim);
  for (let it = 0; it < TRAIN_ITERATIONS; it++) {
    const a = await assign(centroids, dim, sample);
    const sums = new Float64Array(k * dim);
    const counts = new Uint32Array(k);
    for (let i = 0; i < n; i++) {
      const c = a[i]!;
      counts[c]!++;
      const o = c * dim;
      const xo = i * dim;
      for (let j = 0; j < dim; j++) sums[o + j]! += sample[xo + j]!;
    }
    for (let c = 0; c < k; c++) {
      const o = c * dim;
      if (counts[c] === 0) {
        const r = Math.floor(rnd() * n) * dim;
        centroids.set(sample.subarray(r, r + dim), o);
        continue;
      }
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += sums[o + j]! * sums[o + j]!;
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < dim; j++) centroids[o + j] = sums[o + j]! / norm;
    }
    onIteration(it + 1);
  }
  return centroids;
}

/** Row indices grouped by `label` (a counting sort: rows of one label keep their order); `start` has k + 1 entries. */
function groupBy(label: Uint32Array, k: number): { order: Uint32Array; start: Float64Array } {
  const start = new Float64Array(k + 1);
  for (const c of label) start[c + 1]!++;
  for (let c = 0; c < k; c++) start[c + 1]! += start[c]!;
  const cursor = start.slice(0, k);
  const order = new Uint32Array(label.length);
  for (let i = 0; i < label.length; i++) order[cursor[label[i]!]!++] = i;
  return { order, start };
}

/**
 * Two-level quantizer: √nlist coarse cells, and under each its share of the nlist fine centroids (in proportion to
 * the cell's sample rows, at least one). The fine centroids are the index's lists, searched flat; the coarse level
 * only makes the build cheap: a row is scored against the coarse centroids, then against the fine centroids of its
 * cell and of the cell's NEIGHBOUR_CELLS - 1 nearest cells (a row near a cell's border often belongs to a list
 * across it) — ≈ 9√nlist products instead of nlist, 576 instead of 4096 at 1M images.
 */
interface Quantizer {
  coarse: Float32Array;
  /** The lists' centroids, grouped by coarse cell. */
  fine: Float32Array;
  /** Per coarse cell: the fine centroids its rows are assigned among, and their list numbers. */
  candidates: { centroids: Float32Array; lists: Uint32Array }[];
}

/** Cells whose fine centroids a row of a cell is compared with (itself included). */
const NEIGHBOUR_CELLS = 8;

async function train(sample: Float32Array, dim: number, nlist: number, seed: number, onCell: (done: number, total: number) => void): Promise<Quantizer> {
  const n = sample.length / dim;
  const ncoarse = Math.max(1, Math.min(nlist, 2 ** Math.round(Math.log2(nlist) / 2)));
  const coarse = await kmeans(sample, dim, ncoarse, seed, () => {});
  const { order, start } = groupBy(await assign(coarse, dim, sample), ncoarse);
  // Largest-remainder apportionment of nlist over the cells, each non-empty cell ≥ 1 list and ≤ its sample rows.
  const rowsOf = (c: number) => start[c + 1]! - start[c]!;
  const share = Array.from({ length: ncoarse }, (_, c) => (nlist * rowsOf(c)) / n);
  const lists = share.map((s, c) => Math.min(rowsOf(c), Math.max(rowsOf(c) > 0 ? 1 : 0, Math.floor(s))));
  const frac = (c: number) => share[c]! - Math.floor(share[c]!);
  const byRemainder = share.map((_, c) => c).sort((a, b) => frac(b) - frac(a) || a - b);
  for (let left = nlist - lists.reduce((a, b) => a + b, 0), grew = true; left > 0 && grew; ) {
    grew = false;
    for (const c of byRemainder) {
      if (left > 0 && lists[c]! < rowsOf(c)) (lists[c]!++, left--, (grew = true));
    }
  }
  const fineStart = new Uint32Array(ncoarse + 1);
  for (let c = 0; c < ncoarse; c++) fineStart[c + 1] = fineStart[c]! + lists[c]!;
  const fine = new Float32Array(fineStart[ncoarse]! * dim);
  for (let c = 0; c < ncoarse; c++) {
    if (lists[c] === 0) continue;
    const members = new Float32Array(rowsOf(c) * dim);
    for (let i = start[c]!; i < start[c + 1]!; i++) members.set(sample.subarray(order[i]! * dim, (order[i]! + 1) * dim), (i - start[c]!) * dim);
    fine.set(await kmeans(members, dim, lists[c]!, seed + c + 1, () => {}), fineStart[c]! * dim);
    onCell(c + 1, ncoarse);
  }
  const near = flatTopKBatch(coarse, dim, coarse, null, Math.min(NEIGHBOUR_CELLS, ncoarse));
  const candidates = near.map((t) => {
    const ids = Uint32Array.from([...t.ids].flatMap((c) => Array.from({ length: lists[c]! }, (_, j) => fineStart[c]! + j)));
    const centroids = new Float32Array(ids.length * dim);
    ids.forEach((l, i) => centroids.set(fine.subarray(l * dim, (l + 1) * dim), i * dim));
    return { centroids, lists: ids };
  });
  return { coarse, fine, candidates };
}

/** The list of every row of `x`: its coarse cell, then the nearest fine centroid of that cell and its neighbours. */
async function assignTwoLevel(q: Quantizer, dim: number, x: Float32Array): Promise<Uint32Array> {
  const ncoarse = q.candidates.length;
  const { order, start } = groupBy(await assign(q.coarse, dim, x), ncoarse);
  const out = new Uint32Array(order.length);
  for (let c = 0; c < ncoarse; c++) {
    const n = start[c + 1]! - start[c]!;
    if (n === 0) continue;
    const rows = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const r = order[start[c]! + i]!;
      rows.set(x.subarray(r * dim, (r + 1) * dim), i * dim);
    }
    const { centroids, lists } = q.candidates[c]!;
    const local = await assign(centroids, dim, rows);
    for (let i = 0; i < n; i++) out[order[start[c]! + i]!] = lists[local[i]!]!;
  }
  return out;
}

/**
 * Builds the index of `packId`'s embeddings into `path` (atomically). Three passes over the catalog: a strided sample
 * for training, the list of every row, then the rows written list by list. Returns the header written.
 */
export async function buildIvfIndex(store: CatalogStore, packId: string, path: string, options: BuildOptions = {}): Promise<Header> {
  const pack = store.getPack(packId);
  if (!pack) throw new Error(`buildIvfIndex: pack ${packId} is not registered in the catalog`);
  const dim = pack.dim;
  const progress = options.onProgress ?? (() => {});
  const totalImages = store.countEmbeddings(packId);

  // Pass 1: image ids, row counts, and a uniform row sample (every image has the same chance).
  const imageIds: number[] = [];
  let rows = 0;
  const samplePages: Float32Array[] = [];
  let nlist = options.nlist ?? 0;
  let keepEvery = 1;
  for (const page of pages(store, packId, options.signal)) {
    if (page.dim !== dim) throw new Error(`buildIvfIndex: pack ${packId} has vectors of dimension ${page.dim}, expected ${dim}`);
    if (nlist === 0) nlist = defaultNlist((page.totalVectors / page.count) * totalImages);
    if (samplePages.length === 0) keepEvery = Math.max(1, Math.floor(((page.totalVectors / page.count) * totalImages) / (nlist * TRAIN_PER_LIST)));
    const kept: number[] = [];
    for (let i = 0; i < page.count; i++) {
      imageIds.push(page.imageIds[i]!);
      for (let r = page.offsets[i]!; r < page.offsets[i + 1]!; r++) if ((rows + r) % keepEvery === 0) kept.push(r);
    }
    // Only the kept rows are converted (the page's other 98 % are not needed before pass 2).
    const v = page.vectors;
    const picked = v instanceof Uint16Array ? new Uint16Array(kept.length * dim) : new Float32Array(kept.length * dim);
    kept.forEach((r, i) => picked.set(v.subarray(r * dim, (r + 1) * dim), i * dim));
    samplePages.push(picked instanceof Uint16Array ? float16ToFloat32(picked) : picked);
    rows += page.totalVectors;
    progress({ phase: 'sample', done: imageIds.length, total: totalImages });
  }
  if (imageIds.length === 0) throw new Error(`buildIvfIndex: the catalog holds no embeddings of pack ${packId}`);
  nlist = Math.min(nlist, rows);
  const sampleRows = samplePages.reduce((n, p) => n + p.length / dim, 0);
  const sample = new Float32Array(sampleRows * dim);
  samplePages.reduce((o, p) => (sample.set(p, o), o + p.length), 0);
  nlist = Math.min(nlist, sampleRows);

  const quantizer = await train(sample, dim, nlist, options.seed ?? 1, (done, total) => progress({ phase: 'train', done, total }));
  const centroids = quantizer.fine;
  nlist = centroids.length / dim;

  // Pass 2: the list of every row (kept per page: no array sized by the catalog's row count).
  const assignments: Uint32Array[] = [];
  const listSizes = new Float64Array(nlist);
  let seen = 0;
  for (const page of pages(store, packId, options.signal)) {
    const a = await assignTwoLevel(quantizer, dim, asFloat32(page));
    for (const c of a) listSizes[c]!++;
    assignments.push(a);
    seen += page.count;
    progress({ phase: 'assign', done: seen, total: imageIds.length });
  }
  if (seen !== imageIds.length) throw new Error(`buildIvfIndex: the catalog changed during the build (${seen} vs ${imageIds.length} images); run it again`);

  const listOffsets = new Float64Array(nlist + 1);
  for (let c = 0; c < nlist; c++) listOffsets[c + 1] = listOffsets[c]! + listSizes[c]!;
  const sections = {} as Header['sections'];
  let at = 0;
  const place = (name: keyof Header['sections'], bytes: number) => {
    sections[name] = { offset: at, bytes };
    at = align(at + bytes);
  };
  const header: Header = {
    packId,
    dim,
    nlist,
    images: imageIds.length,
    rows,
    maxImageId: imageIds[imageIds.length - 1]!,
    builtAt: new Date().toISOString(),
    sections,
  };
  // Section offsets depend on the header's size and the header holds them: place with a reserved header block.
  const HEADER_BLOCK = 64 * 1024;
  at = HEADER_BLOCK;
  place('imageIds', imageIds.length * 4);
  place('centroids', nlist * dim * 4);
  place('listOffsets', (nlist + 1) * 8);
  place('entrySlots', rows * 4);
  place('vectors', rows * dim * 2);

  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    ftruncateSync(fd, at);
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.alloc(16);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(VERSION, 8);
    head.writeUInt32LE(json.length, 12);
    writeAll(fd, head, 0);
    writeAll(fd, json, 16);
    writeAll(fd, Uint32Array.from(imageIds), sections.imageIds.offset);
    writeAll(fd, centroids, sections.centroids.offset);
    writeAll(fd, listOffsets, sections.listOffsets.offset);

    // Pass 3: rows written at their list's cursor; a page's rows of one list are contiguous there.
    const cursor = listOffsets.slice(0, nlist);
    let slotBase = 0;
    let p = 0;
    for (const page of pages(store, packId, options.signal)) {
      const a = assignments[p++]!;
      if (a.length !== page.totalVectors) throw new Error('buildIvfIndex: the catalog changed during the build; run it again');
      const v = asFloat16(page);
      const { order, start } = groupBy(a, nlist);
      const slotOfRow = new Uint32Array(a.length);
      for (let i = 0; i < page.count; i++) slotOfRow.fill(slotBase + i, page.offsets[i]!, page.offsets[i + 1]!);
      for (let list = 0; list < nlist; list++) {
        const s = start[list]!;
        const n = start[list + 1]! - s;
        if (n === 0) continue;
        const vec = new Uint16Array(n * dim);
        const slots = new Uint32Array(n);
        for (let i = 0; i < n; i++) {
          const r = order[s + i]!;
          vec.set(v.subarray(r * dim, (r + 1) * dim), i * dim);
          slots[i] = slotOfRow[r]!;
        }
        const pos = cursor[list]!;
        writeAll(fd, slots, sections.entrySlots.offset + pos * 4);
        writeAll(fd, vec, sections.vectors.offset + pos * dim * 2);
        cursor[list] = pos + n;
      }
      slotBase += page.count;
      progress({ phase: 'write', done: slotBase, total: imageIds.length });
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return header;
}

function writeAll(fd: number, data: ArrayBufferView, position: number): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function readExact(fd: number, into: ArrayBufferView, position: number, what: string, path: string): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (n === 0) throw new IndexFileError(`${path}: ${what} ends early`);
    done += n;
  }
}

export interface IvfSearchOptions {
  /** Lists probed per query vector; ≥ nlist makes the search exact. Default: defaultNprobe(nlist). */
  nprobe?: number;
}

/** An opened index file: stage 1 over the probed lists, exact inner products inside them. */
export class IvfIndex implements CandidateSource {
  readonly kind = 'ivf';
  private nprobe: number;
  /**
   * The read buffers of the last search, kept for the next one (grown on demand, at most one read group). On a 1M
   * catalog a fresh 400 MiB array per query cost 150–190 ms in page faults and zero-filling before the 35–45 ms of
   * reads from the page cache (bench/scale's catalog, 2026-12-08). Concurrent searches each take their own.
   */
  private spare: { slots: Uint32Array; vectors: Uint16Array } | null = null;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    readonly header: Header,
    private readonly imageIds: Uint32Array,
    private readonly centroids: Float32Array,
    private readonly listOffsets: Float64Array,
    options: IvfSearchOptions,
  ) {
    this.nprobe = options.nprobe ?? defaultNprobe(header.nlist);
  }

  /** Opens and checks the file (IndexFileError when it is not a usable index of this pack and dimension). */
  static async open(path: string, expect: { packId: string; dim: number }, options: IvfSearchOptions): Promise<IvfIndex> {
    const fd = openSync(path, 'r');
    let header: Header;
    let imageIds: Uint32Array;
    let centroids: Float32Array;
    let listOffsets: Float64Array;
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(16);
      readExact(fd, head, 0, 'the header', path);
      if (head.toString('latin1', 0, 8) !== MAGIC) throw new IndexFileError(`${path}: not a QuARI index file`);
      if (head.readUInt32LE(8) !== VERSION) throw new IndexFileError(`${path}: index version ${head.readUInt32LE(8)}, this build reads ${VERSION}`);
      const jsonLength = head.readUInt32LE(12);
      if (jsonLength > 64 * 1024 - 16) throw new IndexFileError(`${path}: header length ${jsonLength} is too large`);
      const json = Buffer.alloc(jsonLength);
      readExact(fd, json, 16, 'the header', path);
      try {
        header = JSON.parse(json.toString('utf8')) as Header;
      } catch {
        throw new IndexFileError(`${path}: the header is not JSON`);
      }
      if (header.packId !== expect.packId) throw new IndexFileError(`${path}: index of pack ${header.packId}, expected ${expect.packId}`);
      if (header.dim !== expect.dim) throw new IndexFileError(`${path}: index dimension ${header.dim}, the pack has ${expect.dim}`);
      const { sections: s, nlist, images, rows, dim } = header;
      const want: [keyof Header['sections'], number][] = [
        ['imageIds', images * 4],
        ['centroids', nlist * dim * 4],
        ['listOffsets', (nlist + 1) * 8],
        ['entrySlots', rows * 4],
        ['vectors', rows * dim * 2],
      ];
      for (const [name, bytes] of want) {
        const sec = s?.[name];
        if (!sec || sec.bytes !== bytes || sec.offset % ALIGN !== 0 || sec.offset + sec.bytes > size) {
          throw new IndexFileError(`${path}: section ${name} is missing, of the wrong size or past the end of the file`);
        }
      }
      imageIds = new Uint32Array(images);
      readExact(fd, imageIds, s.imageIds.offset, 'imageIds', path);
      centroids = new Float32Array(nlist * dim);
      readExact(fd, centroids, s.centroids.offset, 'centroids', path);
      listOffsets = new Float64Array(nlist + 1);
      readExact(fd, listOffsets, s.listOffsets.offset, 'listOffsets', path);
      for (let c = 0; c < nlist; c++) {
        if (!(listOffsets[c + 1]! >= listOffsets[c]!)) throw new IndexFileError(`${path}: list offsets decrease at list ${c}`);
      }
      if (listOffsets[0] !== 0 || listOffsets[nlist] !== rows) throw new IndexFileError(`${path}: list offsets do not cover the ${rows} rows`);
    } finally {
      closeSync(fd);
    }
    const file = await openHandle(path, 'r');
    return new IvfIndex(path, file, header, imageIds, centroids, listOffsets, options);
  }

  get dim(): number {
    return this.header.dim;
  }

  get imageCount(): number {
    return this.header.images;
  }

  get nlist(): number {
    return this.header.nlist;
  }

  setNprobe(nprobe: number): void {
    if (!Number.isInteger(nprobe) || nprobe < 1) throw new RangeError(`nprobe must be a positive integer, got ${nprobe}`);
    this.nprobe = nprobe;
  }

  allImageIds(): Uint32Array {
    return this.imageIds.slice();
  }

  async topImages(queries: readonly Float32Array[], k: number): Promise<ImageHits[]> {
    const { dim, nlist } = this.header;
    if (k < 1 || this.imageCount === 0) return queries.map(() => ({ ids: new Uint32Array(0), scores: new Float32Array(0) }));
    const batch = new Float32Array(queries.length * dim);
    queries.forEach((q, i) => batch.set(q, i * dim));
    const probe = Math.min(this.nprobe, nlist);
    const lists = new Set<number>();
    for (const t of flatTopKBatch(this.centroids, dim, batch, null, probe)) for (const c of t.ids) lists.add(c);
    const chosen = [...lists].sort((a, b) => a - b).filter((c) => this.listOffsets[c + 1]! > this.listOffsets[c]!);
    // Lists are read and scored in groups of bounded size, so probing many lists (or all: the exact reference)
    // never holds more than READ_GROUP_BYTES of vectors, whatever the catalog's size.
    const groups: number[][] = [];
    let bytes = Infinity;
    for (const c of chosen) {
      const b = (this.listOffsets[c + 1]! - this.listOffsets[c]!) * dim * 2;
      if (bytes + b > READ_GROUP_BYTES) (groups.push([]), (bytes = 0));
      groups[groups.length - 1]!.push(c);
      bytes += b;
    }
    let merged: ImageHits[] | null = null;
    for (const group of groups) {
      const part = await this.scoreLists(group, batch, k);
      merged = merged ? merged.map((m, i) => mergeHits([m, part[i]!], k)) : part;
    }
    return merged ?? queries.map(() => ({ ids: new Uint32Array(0), scores: new Float32Array(0) }));
  }

  /** Top-k images per query over the given lists: one positioned read per list, one kernel pass for all queries. */
  private async scoreLists(chosen: readonly number[], batch: Float32Array, k: number): Promise<ImageHits[]> {
    const { dim } = this.header;
    let total = 0;
    for (const c of chosen) total += this.listOffsets[c + 1]! - this.listOffsets[c]!;
    const buffers = this.spare && this.spare.slots.length >= total ? this.spare : { slots: new Uint32Array(total), vectors: new Uint16Array(total * dim) };
    this.spare = null;
    const hits = await this.scoreInto(chosen, buffers.slots.subarray(0, total), buffers.vectors.subarray(0, total * dim), batch, k);
    // Kept only after a search that succeeded: after a failed read, others may still be writing into it.
    if (buffers.vectors.byteLength <= READ_GROUP_BYTES) this.spare = buffers;
    return hits;
  }

  /** scoreLists into the given buffers, exactly as long as the chosen lists' rows. */
  private async scoreInto(chosen: readonly number[], slots: Uint32Array, vectors: Uint16Array, batch: Float32Array, k: number): Promise<ImageHits[]> {
    const { dim } = this.header;
    const total = slots.length;
    const s = this.header.sections;
    const reads: Promise<unknown>[] = [];
    let at = 0;
    for (const c of chosen) {
      const start = this.listOffsets[c]!;
      const n = this.listOffsets[c + 1]! - start;
      reads.push(this.readInto(slots, at * 4, n * 4, s.entrySlots.offset + start * 4));
      reads.push(this.readInto(vectors, at * dim * 2, n * dim * 2, s.vectors.offset + start * dim * 2));
      at += n;
    }
    await Promise.all(reads);
    // Runs of one image inside a list are one item: the kernel scores an image by its best row there.
    // Typed arrays, not pushes: ~800k rows a query on a 1M catalog, where growing JS arrays cost ≈ 40 ms and GC.
    const runStarts = new Uint32Array(total + 1);
    const runSlot = new Uint32Array(total);
    let runs = 0;
    for (let i = 0; i < total; i++) {
      if (i === 0 || slots[i] !== slots[i - 1]) {
        runStarts[runs] = i;
        runSlot[runs++] = slots[i]!;
      }
    }
    runStarts[runs] = total;
    const offsets = runStarts.subarray(0, runs + 1);
    // An image can lead several probed lists: ask for more items than images, then keep each image's best.
    const items = Math.min(runs, k * 4);
    const tops = await flatTopKBatchAsync(vectors, dim, batch, offsets, items);
    return tops.map((t) => {
      const seen = new Set<number>();
      const ids: number[] = [];
      const scores: number[] = [];
      for (let i = 0; i < t.ids.length && ids.length < k; i++) {
        const slot = runSlot[t.ids[i]!]!;
        if (seen.has(slot)) continue;
        seen.add(slot);
        ids.push(this.imageIds[slot]!);
        scores.push(t.scores[i]!);
      }
      return { ids: Uint32Array.from(ids), scores: Float32Array.from(scores) };
    });
  }

  private async readInto(into: ArrayBufferView, byteOffset: number, bytes: number, position: number): Promise<void> {
    const view = new Uint8Array(into.buffer, into.byteOffset + byteOffset, bytes);
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await this.file.read(view, done, bytes - done, position + done);
      if (bytesRead === 0) throw new IndexFileError(`${this.path}: a list ends early`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
