// The search use case: stage 1 over the catalog's embeddings of one model pack (its on-disk IVF index when one was
// built, else all of them held in memory and scanned exactly), query crops encoded by the pack's encoder, QuARI from
// the pack's checkpoint, geometric verification of the best hits (stage 3, ../verify), and every search recorded in
// the catalog's history with every parameter of every stage.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogStore, DuplicateTier, ImageFilter, KnownMatch } from '../../../db/Interface.ts';
import { encoderFingerprint } from '../../../native-models/runtime/packs/manifest.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import type { SearchMode } from '../../shared/constants.ts';
import type { Box } from '../images/decode.ts';
import { Hypernetwork } from '../models/Hypernetwork.ts';
import { ImageEncoder } from '../models/ImageEncoder.ts';
import { verifyParams, type VerifyParams } from '../verify/params.ts';
import { NOT_CHECKED, queryGray, verifyHits, type HitVerification, type StageSummary } from '../verify/stage.ts';
import { VerifyPool } from '../verify/VerifyPool.ts';
import { CatalogScan } from './CatalogScan.ts';
import { CatalogRows, IndexedCatalog } from './IndexedCatalog.ts';
import { EXACT_MAX_IMAGES } from './indexPolicy.ts';
import { IndexFileError, IvfIndex } from './IvfIndex.ts';
import { SearchEngine, type QueryAdapter } from './SearchEngine.ts';
import { VectorIndex, type IndexDtype } from './VectorIndex.ts';

export interface QuerySpec {
  /** The query photo (it need not be in the catalog). */
  imagePath: string;
  /** Crop regions in pixels of the query photo (EXIF orientation applied); none = the whole photo. */
  crops: Box[];
  mode: SearchMode;
  /** Stage-1 candidates per query vector; 0 rescores the whole catalog. */
  k: number;
  top: number;
  /** Stage 3 (geometric verification) parameters over the defaults; { k: 0 } turns it off. */
  verify?: Partial<VerifyParams>;
  /** Only images this filter allows, applied inside stage 1 (before K and before the top N are cut). */
  filter?: ImageFilter;
  /** Fold lower-ranked members of a duplicate stack of this tier under its best-ranked hit (default 'none'). */
  stackTier?: DuplicateTier | 'none';
}

/** Ranked images whose rows and stacks are fetched at a time while hits are assembled. */
const HIT_CHUNK = 512;

/** The duplicate stack a hit stands for: the hit is the stack's best-ranked member in this search. */
export interface HitStack {
  stackId: number;
  tier: DuplicateTier;
  /** Members in the catalog, the hit included. */
  size: number;
  /** Lower-ranked members of this search folded under the hit. */
  folded: number[];
}

/** A search hit as the engine knows it (the app service maps it to the API's SearchHit, adding media URLs). */
export interface Hit {
  rank: number;
  imageId: number;
  path: string;
  sha256: string;
  width: number;
  height: number;
  /** The score the ranking used (adaptive in adaptive mode). */
  score: number;
  baselineScore: number;
  /** The region of the hit image that matched: the verified outline's bounding box, else the best window's box. */
  box: Box;
  /** Per query crop, in the request's order, the region that matched that crop best. */
  regionBoxes: Box[];
  /** 0..1: share of the content classifier's explicit classes. */
  explicitScore: number;
  verification: HitVerification;
  /** Null when the hit has no duplicate in the request's stack tier. */
  stack: HitStack | null;
  /** The hash sets the file is in (empty: unknown). */
  known: KnownMatch[];
  /** The thumbnail's path relative to the catalog's data folder. */
  thumbnail: string | null;
}

export interface SearchResult {
  searchId: number | null;
  hits: Hit[];
  candidates: number;
  durationMs: number;
  stage1Ms: number;
  stage2Ms: number;
  /** Stage 3: the parameters it ran with and what it found (null when k = 0). */
  verification: (StageSummary & { params: VerifyParams }) | null;
}

/** What a recorded search carries besides the spec: the case worked on and extra parameters (query name, feedback). */
export interface SearchRecordOptions {
  caseId?: number | null;
  params?: Record<string, unknown>;
}

export interface SearchServiceOptions {
  /** In-memory storage of the catalog vectors; float16 halves memory (default: float16). */
  indexDtype?: IndexDtype;
  /** ORT threads for the query encoder and the hypernetwork. */
  intraOpThreads?: number;
  /**
   * The on-disk IVF index of this pack beside the catalog (ivfIndexPath). When the file exists and is valid, stage 1
   * reads it (plus an exact scan of images ingested after it); when it is absent, stage 1 is the exact in-memory
   * scan; when it is unusable, that too, and `indexWarning` says why (a rebuild replaces it).
   */
  indexFile?: string;
  nprobe?: number;
}

/** QuARI as stage 2 sees it: one low-rank transform per query vector, from one batched hypernetwork run. */
export function hypernetAdapter(hypernet: Hypernetwork): QueryAdapter {
  return {
    async adapt(queries, batch) {
      const out = await hypernet.run(queries, batch);
      const { dim, rank } = out;
      return Array.from({ length: batch }, (_, b) => ({
        refinedQuery: out.refinedQuery.subarray(b * dim, (b + 1) * dim),
        U: out.U.subarray(b * dim * rank, (b + 1) * dim * rank),
        V: out.V.subarray(b * dim * rank, (b + 1) * dim * rank),
        rank,
        anchorScale: out.anchorScale,
      }));
    },
  };
}

/** Where the on-disk index of `packId` lives: beside the catalog, in its data folder. */
export function ivfIndexPath(dataDir: string, packId: string): string {
  return join(dataDir, `index-${packId.replace(/[^A-Za-z0-9._-]/g, '_')}.ivf`);
}

export class SearchService {
  private engine!: SearchEngine;
  /** The catalog's data_version when the index was loaded: another process's commit changes it. */
  private indexVersion = -1;
  private ivf: IvfIndex | null = null;
  private ivfStamp: string | null = null;
  private verifier: Promise<VerifyPool> | null = null;
  /** Why an index file beside the catalog is not used (null when it is, or when there is none). */
  indexWarning: string | null = null;

  private constructor(
    private readonly store: CatalogStore,
    readonly pack: VerifiedPack,
    private readonly encoder: ImageEncoder,
    private readonly hypernet: Hypernetwork | null,
    private readonly options: SearchServiceOptions,
  ) {}

  static async open(store: CatalogStore, pack: VerifiedPack, options: SearchServiceOptions = {}): Promise<SearchService> {
    const { manifest, dir } = pack;
    // a pack id is immutable in a catalog: a different encoder under a catalogued id would mix vector spaces
    const pinned = store.getPack(manifest.id)?.fingerprint;
    if (pinned !== undefined && pinned !== encoderFingerprint(manifest)) {
      throw new Error(`model pack "${manifest.id}" is not the encoder this catalog indexed under that id (fingerprint ${pinned.slice(0, 12)}…); a pack id is immutable in a catalog`);
    }
    const encoder = await ImageEncoder.open(pack, { intraOpThreads: options.intraOpThreads ?? 2 });
    let hypernet: Hypernetwork | null = null;
    if (manifest.quariCheckpoint) {
      hypernet = await Hypernetwork.load(join(dir, manifest.quariCheckpoint), { intraOpNumThreads: options.intraOpThreads ?? 1 });
      if (hypernet.dim !== manifest.embeddingDim) {
        throw new Error(`pack ${manifest.id}: QuARI checkpoint embedding_dim ${hypernet.dim} ≠ pack embeddingDim ${manifest.embeddingDim}`);
      }
    }
    const service = new SearchService(store, pack, encoder, hypernet, options);
    await service.openIndexFile();
    service.engine = service.buildEngine();
    return service;
  }

  /** The index file's identity when it was opened: a rebuild (a rename over it) changes it. */
  private fileStamp(): string | null {
    const file = this.options.indexFile;
    if (!file || !existsSync(file)) return null;
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  }

  private async openIndexFile(): Promise<void> {
    await this.ivf?.close();
    this.ivf = null;
    this.indexWarning = null;
    this.ivfStamp = this.fileStamp();
    const file = this.options.indexFile;
    if (!file || this.ivfStamp === null) return;
    try {
      this.ivf = await IvfIndex.open(file, { packId: this.packId, dim: this.pack.manifest.embeddingDim }, { nprobe: this.options.nprobe });
    } catch (err) {
      if (!(err instanceof IndexFileError)) throw err;
      this.indexWarning = `${err.message}; searching exactly until the index is rebuilt (quari index)`;
    }
  }

  get packId(): string {
    return this.pack.manifest.id;
  }

  get checkpointHash(): string | null {
    return this.hypernet?.checkpointHash ?? null;
  }

  /** Images stage 1 can return. */
  get imageCount(): number {
    return this.engine.source.imageCount;
  }

  /** What answers stage 1: 'exact', 'ivf' or 'ivf+exact-delta'. */
  get stage1Kind(): string {
    return this.engine.source.kind;
  }

  /**
   * Reloads what changed, e.g. after an ingest added images: with an index file only the delta beside it, and the
   * file itself when it was built or rebuilt since it was opened.
   */
  async refresh(): Promise<void> {
    if (this.fileStamp() !== this.ivfStamp) await this.openIndexFile();
    this.engine = this.buildEngine();
  }

  /**
   * Reloads the index when another process has committed to the catalog since it was loaded (e.g. `quari ingest`
   * while the app is open), so a search never answers silently from an old index. Costs one PRAGMA per search.
   */
  private async refreshIfChangedElsewhere(): Promise<void> {
    if (this.store.dataVersion() !== this.indexVersion) await this.refresh();
  }

  /** One vector per crop, or one for the whole photo. */
  async queryVectors(spec: Pick<QuerySpec, 'imagePath' | 'crops'>): Promise<Float32Array[]> {
    const encoder = this.encoder;
    if (spec.crops.length === 0) {
      const whole = await encoder.encodeImage(spec.imagePath);
      return [whole.vectors.slice(0, whole.dim)];
    }
    const vectors: Float32Array[] = [];
    for (const crop of spec.crops) vectors.push(await encoder.encodeCrop(spec.imagePath, crop));
    return vectors;
  }

  /**
   * Runs a search. `record` writes it to the catalog's search history (the CLI and the UI do; evaluation does not).
   * `excludeImageIds` keeps images out of the ranking (evaluation excludes the query's own image).
   */
  async search(
    spec: QuerySpec,
    options: { record?: SearchRecordOptions | false; excludeImageIds?: readonly number[]; vectors?: Float32Array[] } = {},
  ): Promise<SearchResult> {
    const started = performance.now();
    if (spec.mode === 'adaptive' && !this.hypernet) {
      throw new Error(`model pack ${this.packId} has no QuARI checkpoint; use --mode baseline or a pack that ships one`);
    }
    const verify = verifyParams(spec.verify);
    const vectors = options.vectors ?? (await this.queryVectors(spec));
    await this.refreshIfChangedElsewhere();
    const excludeImageIds = new Set(options.excludeImageIds ?? []);
    const allowImageIds = spec.filter && !this.store.imageQueries.isEmpty(spec.filter) ? new Set(this.store.imageQueries.matchingImageIds(spec.filter)) : undefined;
    const tier = spec.stackTier ?? 'none';
    const wanted = Math.max(spec.top, verify.k);
    // Folding needs the ranking past the top N (folded members do not count), so the engine ranks every candidate.
    const outcome = await this.engine.search(vectors, {
      mode: spec.mode,
      k: spec.k,
      top: tier === 'none' ? wanted : Number.MAX_SAFE_INTEGER,
      excludeImageIds,
      ...(allowImageIds ? { allowImageIds } : {}),
    });
    let hits: Hit[] = [];
    const shownStacks = new Map<number, HitStack>();
    for (let start = 0; start < outcome.ranked.length && hits.length < wanted; start += HIT_CHUNK) {
      const chunk = outcome.ranked.slice(start, start + HIT_CHUNK);
      const ids = chunk.map((r) => r.imageId);
      const images = new Map(this.store.getImages(ids).map((row) => [row.id, row]));
      const stacks = tier === 'none' ? null : this.store.duplicates.stacksOfImages(ids);
      const known = this.store.imageQueries.knownMatchesOf(ids);
      for (const r of chunk) {
        if (hits.length === wanted) break;
        const image = images.get(r.imageId);
        if (!image || image.status !== 'ok') continue; // re-ingested since the index was loaded
        const inStack = tier === 'none' ? undefined : stacks?.get(image.id)?.[tier];
        const shown = inStack && shownStacks.get(inStack.stackId);
        if (shown) {
          shown.folded.push(image.id);
          continue;
        }
        const stack: HitStack | null = inStack ? { stackId: inStack.stackId, tier: inStack.tier, size: inStack.size, folded: [] } : null;
        if (stack) shownStacks.set(stack.stackId, stack);
        const width = image.width ?? 0;
        const height = image.height ?? 0;
        const pixels = ([bx, by, bw, bh]: readonly [number, number, number, number]): Box => ({ x: Math.round(bx * width), y: Math.round(by * height), w: Math.round(bw * width), h: Math.round(bh * height) });
        hits.push({
          rank: hits.length + 1,
          imageId: image.id,
          path: image.path,
          sha256: image.sha256 ?? '',
          width,
          height,
          score: r.score,
          baselineScore: r.baselineScore,
          box: pixels(r.box),
          regionBoxes: r.queryBoxes.map(pixels),
          explicitScore: r.explicitScore,
          verification: { ...NOT_CHECKED },
          stack,
          known: known.get(image.id) ?? [],
          thumbnail: image.thumbnail,
        });
      }
    }
    let verification: SearchResult['verification'] = null;
    if (verify.k > 0 && hits.length > 0) {
      if (spec.crops.length > 1) {
        for (const h of hits.slice(0, verify.k)) h.verification = { ...NOT_CHECKED, status: 'multi-region' };
      } else {
        const pool = await this.verifyPool();
        const t3 = performance.now();
        const stage3 = await verifyHits(pool, await queryGray(spec.imagePath, spec.crops[0] ?? null, verify), hits, verify);
        hits = stage3.hits;
        // The time stage 3 added, query crop decoding included (the workers' first start is not).
        verification = { ...stage3.summary, ms: performance.now() - t3, params: verify };
      }
    }
    hits = hits.slice(0, spec.top);
    hits.forEach((h, i) => (h.rank = i + 1));
    const durationMs = performance.now() - started;
    const result: SearchResult = { searchId: null, hits, candidates: outcome.candidates, durationMs, stage1Ms: outcome.stage1Ms, stage2Ms: outcome.stage2Ms, verification };
    if (options.record !== false && options.record !== undefined) result.searchId = this.recordResult(spec, result, options.record);
    return result;
  }

  /** Writes a search and its ranking (and stage 3's summary) to the catalog's history and audit log; returns its id. */
  recordResult(spec: QuerySpec, result: SearchResult, record: SearchRecordOptions): number {
    const { hits, verification } = result;
    return this.store.recordSearch({
      caseId: record.caseId ?? null,
      packId: this.packId,
      checkpointHash: spec.mode === 'adaptive' ? this.checkpointHash : null,
      mode: spec.mode,
      params: {
        ...spec,
        ...(verification ? { verify: verification.params, verification: { queryFeatures: verification.queryFeatures, checked: verification.checked, verified: verification.verified, failed: verification.failed.slice(0, 100), ms: verification.ms } } : {}),
        ...record.params,
        candidates: result.candidates,
      },
      resultCount: hits.length,
      durationMs: result.durationMs,
      hits: hits.map((h) => ({ imageId: h.imageId, rank: h.rank, score: h.score, baselineScore: h.baselineScore, explicitScore: Number.isFinite(h.explicitScore) ? h.explicitScore : 0, box: h.box, regionBoxes: h.regionBoxes })),
    }).id;
  }

  async close(): Promise<void> {
    await this.encoder.close();
    await this.hypernet?.release();
    await this.ivf?.close();
    if (this.verifier) await (await this.verifier).close();
  }

  /** The verification workers start on the first verified search (loading OpenCV takes ≈ 0.5 s per worker). */
  private verifyPool(): Promise<VerifyPool> {
    this.verifier ??= VerifyPool.open();
    return this.verifier;
  }

  private buildEngine(): SearchEngine {
    // read before loading: a commit landing during the load changes it again and the next search reloads
    this.indexVersion = this.store.dataVersion();
    const dtype = this.options.indexDtype ?? 'float16';
    const adapter = this.hypernet ? hypernetAdapter(this.hypernet) : null;
    if (this.ivf) {
      const source = IndexedCatalog.withDelta(this.store, this.packId, this.ivf, dtype);
      return new SearchEngine(source, new CatalogRows(this.store, this.packId, this.ivf.dim, dtype), adapter);
    }
    if (this.store.countEmbeddings(this.packId) >= EXACT_MAX_IMAGES) {
      this.indexWarning ??= `the catalog has no usable search index; each search scans it from disk until one is built (quari index)`;
      return new SearchEngine(new CatalogScan(this.store, this.packId, this.pack.manifest.embeddingDim, dtype), new CatalogRows(this.store, this.packId, this.pack.manifest.embeddingDim, dtype), adapter);
    }
    return SearchEngine.overIndex(VectorIndex.fromCatalog(this.store, this.packId, dtype), adapter);
  }
}
