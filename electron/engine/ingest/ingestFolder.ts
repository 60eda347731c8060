// Ingest: walks an evidence folder and catalogues every image — hash, header, EXIF, thumbnail, whole-image and
// region embeddings, content scores — each file committed in one transaction (several finished files may share
// one). The evidence folder is only ever read. A run can be killed at any moment: every commit is atomic and
// keyed by path, and a rerun skips what is committed (same path, size and mtime) and redoes the rest.
//
// Hostile evidence: a file is refused from its size (above maxFileBytes) and from its header signature before
// its body is read; a file (or a link) whose real path leaves the evidence folder is recorded as a failure unless
// the run follows links (recorded with the run); the check is made again on the open descriptor (a folder on the
// way swapped for a link after the check is refused, shared/paths.ts openedOutside). Memory bound: each lane holds at most one file's bytes
// (≤ maxFileBytes, default 256 MiB) and its reduced decode; all lanes together hold at most FILE_BYTES_IN_FLIGHT
// (512 MiB) of file bytes — a lane whose file does not fit waits.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { catalogDataDir } from '../catalogData.ts';
import { isSameOrInside } from '../../shared/paths.ts';
import type { CatalogStore, EmbeddingInput, ImageMetadata, ImageRow, IngestCounts, IngestedImage } from '../../../db/Interface.ts';
import { notRegularFileMessage } from '../../../native-models/runtime/io/regularFile.ts';
import { encoderFingerprint } from '../../../native-models/runtime/packs/manifest.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import type { IngestProgress } from './progress.ts';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS, hashFile, makeThumbnail, readFileBytes, readImageHeader, thumbnailPixels } from '../images/decode.ts';
import { readExif } from '../images/exif.ts';
import { perceptualHash } from '../duplicates/phash.ts';
import { openEncoder, type EncoderThreading } from '../models/EncoderPool.ts';
import { toFloat16Array } from '../models/float16.ts';
import { ImageProcessor, type EncoderInputs } from '../images/processor.ts';
import type { ImageEmbedding, PixelEncoder } from '../models/ImageEncoder.ts';
import { ProgressTracker } from './progress.ts';
import { statEntry, walkImages, type WalkEntry } from './walk.ts';

/** Wall-clock milliseconds spent in each stage, summed over files (stages overlap, so they add up to more than the run). */
export interface StageTimings {
  readHash: number;
  header: number;
  exif: number;
  decode: number;
  resize: number;
  thumbnail: number;
  encode: number;
  database: number;
  /** Files that went through decode and encode. */
  encoded: number;
}

export function emptyTimings(): StageTimings {
  return { readHash: 0, header: 0, exif: 0, decode: 0, resize: 0, thumbnail: 0, encode: 0, database: 0, encoded: 0 };
}

export interface IngestOptions {
  /** The evidence folder. */
  root: string;
  catalog: CatalogStore;
  pack: VerifiedPack;
  /** An encoder already open for `pack` (kept open after the run); else one is opened with `threading` and closed. */
  encoder?: PixelEncoder;
  threading?: EncoderThreading;
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
  /** Images above this many pixels are refused before decoding (decompression bombs). */
  maxPixels?: number;
  /** Files above this many bytes are refused from their size, unread (default DEFAULT_MAX_FILE_BYTES, 256 MiB). */
  maxFileBytes?: number;
  /**
   * Follow symbolic links (and files reached through linked folders) whose real path lies outside the evidence
   * folder. Off by default: such links are recorded as failures, never read, never thumbnailed. Recorded in the run.
   */
  followLinks?: boolean;
  /**
   * Files in flight at once: read, hashed and decoded while others are encoded (default 8: with 2 encoder workers,
   * 4 lanes left the cores idle between decodes — 8.9 img/s against 11.9 with 8 on 300 1600×1200 JPEGs).
   */
  lanes?: number;
  /** Filled with per-stage times when given (bench). */
  timings?: StageTimings;
}

export interface IngestResult {
  runId: number;
  /** New files catalogued (embedded, or copies of catalogued bytes). */
  added: number;
  /** Catalogued files whose bytes changed, re-embedded. */
  updated: number;
  /** Catalogued files found at a new path, re-pointed without re-embedding. */
  moved: number;
  /** Unchanged since the last run (including unchanged failures). */
  skipped: number;
  /** Of the unchanged, catalogued before MD5/SHA-1 existed and given them now (bytes re-read, nothing re-embedded). */
  rehashed: number;
  failed: number;
  /** This run's failures, including folders that could not be listed. */
  failures: { path: string; error: string }[];
  seconds: number;
  cancelled: boolean;
}

const PROGRESS_INTERVAL_MS = 200;
/** File bytes all lanes may hold at once (each file ≤ maxFileBytes ≤ this). */
export const FILE_BYTES_IN_FLIGHT = 512 * 1024 * 1024;
const RUN_UPDATE_INTERVAL_MS = 1000;

export async function ingestFolder(options: IngestOptions): Promise<IngestResult> {
  const started = performance.now();
  const { catalog, pack, signal } = options;
  const manifest = pack.manifest;
  const processor = ImageProcessor.forPack(manifest);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(Number.isSafeInteger(maxFileBytes) && maxFileBytes > 0 && maxFileBytes <= FILE_BYTES_IN_FLIGHT)) {
    throw new Error(`maxFileBytes must be an integer 1..${FILE_BYTES_IN_FLIGHT}, got ${maxFileBytes}`);
  }
  const followLinks = options.followLinks ?? false;
  const budget = new ByteBudget(FILE_BYTES_IN_FLIGHT);
  const timings = options.timings;
  let root: string;
  try {
    root = await realpath(resolve(options.root));
  } catch (err) {
    throw new Error(`evidence folder ${options.root} cannot be opened: ${(err as Error).message}`);
  }
  if (!(await lstat(root)).isDirectory()) throw new Error(`evidence folder ${root} is not a folder`);
  const dataDir = catalogDataDir(catalog.file);
  // Through symlinks too: a catalog folder that is a link into the evidence would still write into it.
  const catalogDirReal = await realpath(dirname(catalog.file));
  for (const p of [catalog.file, dataDir, catalogDirReal]) {
    if (isInside(root, p) || isInside(options.root, p)) {
      throw new Error(`catalog ${catalog.file} (or its data folder) lies inside the evidence folder ${root}; evidence folders are read-only, put the catalog elsewhere`);
    }
  }

  catalog.registerPack({
    id: manifest.id, version: manifest.version, name: manifest.name, dim: manifest.embeddingDim, manifest,
    fingerprint: encoderFingerprint(manifest),
  });
  const run = catalog.startIngestRun(root, { followLinks, maxFileBytes, maxPixels });
  let rehashed = 0;
  // Embeddings exist only for 'ok' images (failing or changing an image drops them), so equal counts mean every
  // 'ok' image has this pack's vectors and a rescan need not fetch each one to check.
  const everyOkEmbedded = catalog.countEmbeddings(manifest.id) === catalog.countImages().ok;
  const counts: IngestCounts = { seen: 0, added: 0, updated: 0, moved: 0, unchanged: 0, failed: 0 };
  const failures: IngestResult['failures'] = [];
  const progress = new ProgressTracker(String(run.id), root);
  let lastEmit = 0;
  let lastRunUpdate = performance.now();
  let finished = false;
  const emit = (force = false) => {
    const t = performance.now();
    if (!force && t - lastEmit < PROGRESS_INTERVAL_MS) return;
    lastEmit = t;
    progress.added = counts.added + counts.updated + counts.moved;
    progress.skipped = counts.unchanged;
    progress.failed = counts.failed;
    options.onProgress?.(progress.snapshot());
    if (progress.state === 'running' && t - lastRunUpdate >= RUN_UPDATE_INTERVAL_MS) {
      lastRunUpdate = t;
      catalog.updateIngestRun(run.id, counts);
    }
  };
  emit(true);

  // Opened on first use: a rerun over an unchanged folder never loads the model.
  let encoderOpening: Promise<PixelEncoder> | null = options.encoder ? Promise.resolve(options.encoder) : null;
  const getEncoder = () => (encoderOpening ??= openEncoder(pack, options.threading));
  try {
    const walk = await walkImages(root, {
      signal,
      onEntry: (n) => {
        progress.total = n;
        emit();
      },
    });
    for (const e of walk.errors) {
      failures.push(e);
      counts.failed++;
    }
    progress.total = walk.entries.length;
    progress.state = 'running';
    emit(true);

    const thumbDirs = new Set<string>();
    const commitQueue: { image: IngestedImage; resolve: () => void; reject: (e: Error) => void }[] = [];
    let flushScheduled = false;
    // Files that finish close together share one transaction: fewer WAL syncs, same atomicity per file.
    const flush = () => {
      flushScheduled = false;
      const batch = commitQueue.splice(0);
      const t0 = performance.now();
      try {
        catalog.commitIngestedImages(batch.map((b) => b.image));
        batch.forEach((b) => b.resolve());
      } catch (err) {
        batch.forEach((b) => b.reject(err as Error));
      }
      if (timings) timings.database += performance.now() - t0;
    };
    const commit = (image: IngestedImage) =>
      new Promise<void>((resolve, reject) => {
        commitQueue.push({ image, resolve, reject });
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });

    const recordFailure = (path: string, size: number, mtimeMs: number, error: string) => {
      const id = catalog.upsertPendingImage({ path, size, mtimeMs });
      catalog.markImageFailed(id, error);
      failures.push({ path, error });
      counts.failed++;
    };

    const timed = async <T>(stage: Exclude<keyof StageTimings, 'encoded'>, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        if (timings) timings[stage] += performance.now() - t0;
      }
    };

    const thumbnailPath = (sha256: string) => `thumbs/${sha256.slice(0, 2)}/${sha256}.jpg`;
    const writeThumbnail = async (sha256: string, jpeg: Buffer): Promise<void> => {
      const file = join(dataDir, thumbnailPath(sha256));
      if (existsSync(file)) return;
      const dir = dirname(file);
      if (!thumbDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        thumbDirs.add(dir);
      }
      // Write then rename, so a crash never leaves a truncated thumbnail under the final name.
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, jpeg);
      await rename(tmp, file).catch(async (err) => {
        await rm(tmp, { force: true });
        throw err;
      });
    };

    const processEntry = async (entry: WalkEntry) => {
      const { path } = entry;
      progress.currentPath = path;
      const row = catalog.getImageByPath(path);
      const st = await statEntry(path);
      if (!st) {
        // Gone between the walk and now (deleted or renamed meanwhile): nothing to catalogue.
        failures.push({ path, error: `${path} vanished during ingest` });
        counts.failed++;
        return;
      }
      const sameIdent = row !== undefined && row.size === st.size && row.mtimeMs === st.mtimeMs;
      // An unchanged failure fails again — except a link refused as leaving the evidence, now that links are followed.
      if (sameIdent && row.status === 'failed' && (st.error || !followLinks)) {
        counts.unchanged++;
        return;
      }
      if (st.error) {
        const code = (st.error as NodeJS.ErrnoException).code;
        const what = entry.kind === 'symlink' && (code === 'ENOENT' || code === 'ELOOP') ? 'broken symbolic link' : 'cannot be read';
        recordFailure(path, st.size, st.mtimeMs, `${path}: ${what} (${st.error.message})`);
        return;
      }
      // Where the bytes really are: a link (or a folder swapped for one since the walk) may lead out of the evidence.
      let real: string;
      try {
        real = await realpath(path);
      } catch (err) {
        recordFailure(path, st.size, st.mtimeMs, `${path}: cannot be resolved (${(err as Error).message})`);
        return;
      }
      // Checked again on the open descriptor: a folder on the way may be swapped for a link after this check.
      const within = followLinks ? undefined : root;
      if (!followLinks && !isInside(root, real)) {
        recordFailure(
          path,
          st.size,
          st.mtimeMs,
          `${path}: symbolic link to ${real}, outside the evidence folder ${root}; not followed (ingest --follow-links follows such links)`,
        );
        return;
      }
      if (sameIdent) {
        if (row.status === 'failed' && isInside(root, real)) {
          counts.unchanged++;
          return;
        }
        if (row.status === 'ok' && (everyOkEmbedded || catalog.getEmbedding(row.id, manifest.id))) {
          if (row.md5 !== null && row.sha1 !== null) {
            counts.unchanged++;
            return;
          }
          // Catalogued before MD5/SHA-1: hash the bytes again (nothing held, nothing decoded); if they are still
          // the catalogued bytes they gain the two hashes, else they changed under the same size and mtime.
          let h;
          try {
            h = await timed('readHash', () => hashFile(real, { noFollow: true, maxBytes: Number.MAX_SAFE_INTEGER, within }));
          } catch (err) {
            recordFailure(path, st.size, st.mtimeMs, (err as Error).message);
            return;
          }
          if (h.sha256 === row.sha256) {
            catalog.setImageHashes(row.id, h);
            rehashed++;
            counts.unchanged++;
            return;
          }
        }
      }
      if (!st.isFile) {
        recordFailure(path, st.size, st.mtimeMs, notRegularFileMessage(path, st.describe));
        return;
      }

      // Everything that depends on the file's bytes: a throw here is this file's failure, not the run's.
      let prepared: { sha256: string; image: Omit<IngestedImage, 'embeddings'>; inputs: EncoderInputs; thumbJpeg: Buffer };
      let ident = { size: st.size, mtimeMs: st.mtimeMs };
      let held: (() => void) | null = null;
      try {
        // Refused from the size before it waits for the budget or reads a byte.
        if (st.size > maxFileBytes) throw new Error(`${path}: ${st.size} bytes exceeds the limit of ${maxFileBytes} bytes per file; not read`);
        const release = await budget.acquire(st.size);
        let file;
        try {
          file = await timed('readHash', () => readFileBytes(real, { maxBytes: maxFileBytes, noFollow: true, within }));
        } catch (err) {
          release();
          throw err;
        }
        held = release;
        ident = { size: file.size, mtimeMs: file.mtimeMs };
        const hashes = { md5: file.md5, sha1: file.sha1 };
        if (!row && (await reuseCatalogued(path, file.sha256, hashes, ident))) return;
        const header = await timed('header', () => readImageHeader(file.bytes, path, maxPixels));
        const exif = await timed('exif', () => readExif(file.bytes, header.exif));
        const rgb = await timed('decode', () => processor.decode(file.bytes, path, maxPixels));
        // The thumbnail JPEG and the pHash share one reduction of the decode (thumbnailPixels).
        const [inputs, [thumbJpeg, phash]] = await Promise.all([
          timed('resize', () => processor.inputs(rgb)),
          timed('thumbnail', async () => {
            const small = await thumbnailPixels(rgb);
            return Promise.all([makeThumbnail(small), perceptualHash(small)]);
          }),
        ]);
        const meta: ImageMetadata = {
          sha256: file.sha256,
          ...hashes,
          width: header.width,
          height: header.height,
          format: header.format,
          orientation: header.orientation,
          thumbnail: thumbnailPath(file.sha256),
          ...exif,
        };
        prepared = { sha256: file.sha256, image: { path, ...ident, meta, perceptualHash: phash }, inputs, thumbJpeg };
      } catch (err) {
        recordFailure(path, ident.size, ident.mtimeMs, (err as Error).message);
        return;
      } finally {
        // The bytes are decoded (or the file failed): the budget is free for the next lane.
        held?.();
        held = null;
      }
      // From here on errors are the catalog's or the model's (disk full, worker crash): they stop the run.
      await writeThumbnail(prepared.sha256, prepared.thumbJpeg);
      const encoder = await getEncoder();
      const [embedding] = await timed('encode', () => encoder.encodeInputs([prepared.inputs]));
      if (timings) timings.encoded++;
      await commit({ ...prepared.image, embeddings: [toEmbeddingInput(manifest.id, embedding)] });
      if (row?.status === 'ok') counts.updated++;
      else counts.added++;
    };

    /**
     * A new path whose bytes are already catalogued: if the catalogued path is gone the file was moved, so the
     * row is re-pointed; if it still exists this is a copy, catalogued with the same vectors. Neither re-embeds.
     */
    const reuseCatalogued = async (
      path: string,
      sha256: string,
      hashes: { md5: string; sha1: string },
      ident: { size: number; mtimeMs: number },
    ): Promise<boolean> => {
      const known = catalog.findImagesBySha256(sha256).filter((r) => r.status === 'ok');
      for (const r of known) {
        if (existsSync(r.path)) continue;
        catalog.moveImage(r.id, path, ident.size, ident.mtimeMs);
        if (r.md5 === null || r.sha1 === null) catalog.setImageHashes(r.id, { sha256, ...hashes });
        if (!catalog.getEmbedding(r.id, manifest.id)) return false; // moved, but this pack still has to embed it
        counts.moved++;
        return true;
      }
      for (const r of known) {
        const e = catalog.getEmbedding(r.id, manifest.id);
        if (!e) continue;
        const { imageId: _i, createdAt: _c, ...embedding } = e;
        await commit({ path, ...ident, meta: { ...metaOf(r), ...hashes }, embeddings: [embedding] });
        counts.added++;
        return true;
      }
      return false;
    };

    const entries = walk.entries;
    let next = 0;
    let fatal: Error | null = null;
    const lane = async () => {
      while (!fatal && !signal?.aborted && next < entries.length) {
        const entry = entries[next++];
        counts.seen++;
        try {
          await processEntry(entry);
        } catch (err) {
          fatal ??= err as Error;
        }
        progress.done++;
        emit();
      }
    };
    await Promise.all(Array.from({ length: options.lanes ?? 8 }, lane));
    if (fatal) throw fatal;

    const cancelled = signal?.aborted ?? false;
    progress.state = cancelled ? 'cancelled' : 'done';
    progress.currentPath = undefined;
    catalog.finishIngestRun(run.id, progress.state as 'done' | 'cancelled', counts);
    finished = true;
    emit(true);
    return {
      runId: run.id,
      added: counts.added,
      updated: counts.updated,
      moved: counts.moved,
      skipped: counts.unchanged,
      rehashed,
      failed: counts.failed,
      failures,
      seconds: (performance.now() - started) / 1000,
      cancelled,
    };
  } catch (err) {
    const message = (err as Error).message;
    progress.state = 'failed';
    progress.error = message;
    try {
      if (!finished) catalog.finishIngestRun(run.id, 'failed', counts, message);
    } finally {
      emit(true);
    }
    throw err;
  } finally {
    if (!options.encoder && encoderOpening) await encoderOpening.then((e) => e.close(), () => undefined);
  }
}

export function toEmbeddingInput(packId: string, e: ImageEmbedding): EmbeddingInput {
  return {
    packId,
    dtype: 'float16',
    vectors: toFloat16Array(e.vectors),
    nVectors: e.nVectors,
    dim: e.dim,
    boxes: e.boxes,
    contentScores: e.contentScores,
    explicitScore: e.explicitScore,
  };
}

function metaOf(r: ImageRow): ImageMetadata {
  return {
    sha256: r.sha256!,
    width: r.width!,
    height: r.height!,
    format: r.format!,
    capturedAt: r.capturedAt,
    cameraMake: r.cameraMake,
    cameraModel: r.cameraModel,
    gpsLat: r.gpsLat,
    gpsLon: r.gpsLon,
    orientation: r.orientation,
    thumbnail: r.thumbnail,
  };
}

/**
 * Bytes of file contents the lanes may hold together: acquire(n) resolves (with its release) once n fits.
 * Waiters are served in order, so a large file is not starved by small ones.
 */
class ByteBudget {
  private used = 0;
  private readonly waiting: { n: number; resolve: () => void }[] = [];

  constructor(private readonly limit: number) {}

  acquire(n: number): Promise<() => void> {
    const release = () => {
      this.used -= n;
      this.pump();
    };
    return new Promise((resolve) => {
      this.waiting.push({ n, resolve: () => resolve(release) });
      this.pump();
    });
  }

  private pump(): void {
    while (this.waiting.length > 0 && (this.used === 0 || this.used + this.waiting[0].n <= this.limit)) {
      const next = this.waiting.shift()!;
      this.used += next.n;
      next.resolve();
    }
  }
}

function isInside(root: string, path: string): boolean {
  return isSameOrInside(path, root);
}
