// The main-process implementation of the renderer's API (electron/shared/api.ts). Electron's IPC handlers and the
// loopback web host both serve this object; it owns the catalog, the packs, ingest and search, and never imports
// Electron. Host-specific methods (onEvent, chooseFolder) live in the hosts.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { catalogDataDir, openCatalog } from '../../../db/CatalogStore.ts';
import { FilterError } from '../../../db/imageQueries.ts';
import type { CatalogStore, SearchRow } from '../../../db/Interface.ts';
import { DEFAULT_PACK_ID, PackRegistry, defaultDataHome } from '../../../native-models/packs/registry.ts';
import {
  mediaUrl,
  QuariApiError,
  type CaseDetails,
  type CaseSummary,
  type CatalogInfo,
  type BrowsedImage,
  type DuplicateStacks,
  type SearchFilter,
  type ImageDetails,
  type StackTier,
  type ExportFormat,
  type ExportResult,
  type FailureRow,
  type HashSetFormat,
  type HashSetInfo,
  type HashSetKind,
  type IngestProgress,
  type KnownFileCounts,
  type KnownMatchInfo,
  type MediaKind,
  type PackSummary,
  type QuariEvent,
  type QueryImage,
  type SearchRecord,
  type SearchRequest,
  type SearchResponse,
  type Settings,
} from '../../shared/api.ts';
import { QUERY_IMAGE_MAX_BYTES } from '../../shared/protocol/routes.ts';
import type { AppService } from '../../shared/protocol/service.ts';
import { buildCaseReport, writeCaseExport } from '../export/caseExport.ts';
import { rebuildDuplicateStacks } from '../duplicates/rebuild.ts';
import { importHashSetFile } from '../hashsets/importFile.ts';
import { readImageHeader } from '../images/decode.ts';
import { ingestFolder } from '../ingest/ingestFolder.ts';
import { ivfIndexPath, SearchService } from '../search/SearchService.ts';

export interface AppServiceOptions {
  catalogPath: string;
  /** Where imported packs and app data live (Electron passes its userData folder). */
  dataHome?: string;
  /** Packs shipped with the app (the packaged app passes its resources folder). */
  builtInPacksDir?: string;
}

const DEFAULT_SETTINGS: Settings = { blurAll: false, explicitThreshold: 0.5 };
const QUERY_ID = /^[0-9a-f]{64}\.[a-z0-9]{2,5}$/;
const DEFAULT_K = 1000;
const DEFAULT_TOP = 200;

export type { AppService };

export async function createAppService(options: AppServiceOptions): Promise<AppService> {
  const catalogPath = resolve(options.catalogPath);
  const store = openCatalog(catalogPath);
  const registry = new PackRegistry(options.dataHome ?? defaultDataHome(), options.builtInPacksDir);
  return new CatalogApp(catalogPath, store, registry);
}

class CatalogApp implements AppService {
  readonly events = new EventEmitter();
  private readonly dataDir: string;
  private readonly queryDir: string;
  private search_: { packId: string; service: Promise<SearchService> } | null = null;
  private ingest: { progress: IngestProgress; controller: AbortController; done: Promise<void> } | null = null;
  private lastProgress: IngestProgress | null = null;
  private indexStale = false;

  constructor(
    private readonly catalogPath: string,
    private readonly store: CatalogStore,
    private readonly registry: PackRegistry,
  ) {
    this.dataDir = catalogDataDir(catalogPath);
    this.queryDir = join(this.dataDir, 'queries');
  }

  // ---- Catalog and packs ----

  async getCatalogInfo(): Promise<CatalogInfo> {
    const stats = this.store.stats();
    return {
      catalogPath: this.catalogPath,
      images: stats.images,
      embeddings: stats.embeddings,
      failed: stats.failed,
      activePackId: this.activePackId(),
      packs: this.packSummaries(),
    };
  }

  async setActivePack(packId: string): Promise<CatalogInfo> {
    const pack = this.packSummaries().find((p) => p.id === packId);
    if (!pack) throw new QuariApiError('not-found', `no model pack "${packId}"`);
    if (pack.error) throw new QuariApiError('unavailable', pack.error);
    await this.registry.load(packId).catch((err: Error) => {
      throw new QuariApiError('unavailable', err.message);
    });
    this.store.setSetting('activePackId', packId);
    await this.dropSearchService();
    return this.getCatalogInfo();
  }

  // ---- Ingest ----

  async startIngest(folder: string): Promise<IngestProgress> {
    if (this.ingest) throw new QuariApiError('conflict', `an ingest of ${this.ingest.progress.root} is already running`);
    const root = resolve(folder);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new QuariApiError('bad-request', `${root} is not a folder`);
    const packId = this.activePackId();
    if (!packId) throw new QuariApiError('unavailable', 'no model pack is installed; run npm install to build the default pack');
    const pack = await this.registry.load(packId).catch((err: Error) => {
      throw new QuariApiError('unavailable', err.message);
    });
    const controller = new AbortController();
    const progress: IngestProgress = { runId: `${Date.now()}`, root, state: 'scanning', total: 0, done: 0, added: 0, skipped: 0, failed: 0, filesPerSecond: 0, etaSeconds: null };
    const publish = (p: IngestProgress) => {
      this.lastProgress = p;
      if (this.ingest) this.ingest.progress = p;
      this.emit({ type: 'ingest-progress', progress: p });
    };
    // ingestFolder's own final event is held back: the run ends with the event below, once the index is marked stale.
    const onProgress = (p: IngestProgress) => {
      if (p.state === 'scanning' || p.state === 'running') publish({ ...p, runId: progress.runId });
    };
    const done = ingestFolder({ root, catalog: this.store, pack, signal: controller.signal, onProgress })
      .then(async (result) => {
        // New files carry their pHash already; the stacks are rebuilt before "done", so results show them.
        if (!result.cancelled) await rebuildDuplicateStacks(this.store, packId);
        // New embeddings: the in-memory index is reloaded by the next search (before the final event, so a search
        // started on "done" sees them). The service itself stays open; a search in flight keeps its sessions.
        this.indexStale = true;
        const last = this.lastProgress ?? progress;
        const added = result.added + result.updated;
        const skipped = result.skipped + result.moved;
        const done = added + skipped + result.failed;
        publish({ ...last, state: result.cancelled ? 'cancelled' : 'done', done, total: result.cancelled ? last.total : done, added, skipped, failed: result.failed, etaSeconds: 0 });
      })
      .catch((err: Error) => publish({ ...(this.lastProgress ?? progress), state: 'failed', error: err.message }))
      .finally(() => {
        this.ingest = null;
      });
    this.ingest = { progress, controller, done };
    publish(progress);
    return progress;
  }

  async cancelIngest(runId: string): Promise<void> {
    if (!this.ingest || this.ingest.progress.runId !== runId) throw new QuariApiError('not-found', `no running ingest ${runId}`);
    this.ingest.controller.abort();
    await this.ingest?.done;
  }

  async getIngestProgress(): Promise<IngestProgress | null> {
    return this.lastProgress;
  }

  async listFailures(): Promise<FailureRow[]> {
    return this.store.listFailures({ limit: 10_000 }).map((f) => ({ imageId: f.imageId, path: f.path, error: f.error }));
  }

  // ---- Query images and search ----

  async addQueryImage(file: { name: string; bytes: Uint8Array }): Promise<QueryImage> {
    if (file.bytes.length === 0) throw new QuariApiError('bad-request', `${file.name} is empty`);
    if (file.bytes.length > QUERY_IMAGE_MAX_BYTES) throw new QuariApiError('bad-request', `${file.name} is larger than ${QUERY_IMAGE_MAX_BYTES / 2 ** 20} MiB`);
    const bytes = Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
    const header = await readImageHeader(bytes, file.name).catch((err: Error) => {
      throw new QuariApiError('bad-request', err.message);
    });
    const id = `${createHash('sha256').update(bytes).digest('hex')}.${header.format === 'jpeg' ? 'jpg' : header.format}`;
    mkdirSync(this.queryDir, { recursive: true });
    const path = join(this.queryDir, id);
    // Query photos are kept next to the catalog (content-addressed), so history can re-run them later.
    if (!existsSync(path)) writeFileSync(path, bytes);
    this.store.setSetting(`queryName:${id}`, file.name);
    return { queryImageId: id, name: file.name, width: header.width, height: header.height, url: mediaUrl('query', id) };
  }

  async search(request: SearchRequest): Promise<SearchResponse> {
    const imagePath = this.queryPath(request.queryImageId);
    if (!imagePath) throw new QuariApiError('not-found', `unknown query image ${request.queryImageId}`);
    const service = await this.searchService();
    if (request.mode === 'adaptive' && !service.checkpointHash) {
      throw new QuariApiError('unavailable', `model pack ${service.packId} has no QuARI checkpoint; use Baseline`);
    }
    if (request.text?.trim() && !service.pack.manifest.text) {
      throw new QuariApiError('bad-request', `model pack ${service.packId} has no text encoder; search with an image region`);
    }
    const { width, height } = await readImageHeader(await readFile(imagePath), request.queryImageId);
    for (const c of request.crops) {
      if (!(c.w > 0 && c.h > 0 && c.x < width && c.y < height && c.x + c.w > 0 && c.y + c.h > 0)) {
        throw new QuariApiError('bad-request', `crop ${JSON.stringify(c)} lies outside the query image (${width}×${height})`);
      }
    }
    const queryName = (this.store.getSetting(`queryName:${request.queryImageId}`) as string | undefined) ?? request.queryImageId;
    const result = await service.search(
      {
        imagePath,
        crops: request.crops,
        ...(request.text ? { text: request.text } : {}),
        mode: request.mode,
        k: request.k ?? DEFAULT_K,
        top: request.top ?? DEFAULT_TOP,
        ...(request.filter ? { filter: request.filter } : {}),
        stackTier: request.stackTier ?? 'perceptual',
      },
      { record: { params: { queryImageId: request.queryImageId, queryName } } },
    ).catch((err: Error) => {
      throw err instanceof FilterError ? new QuariApiError('bad-request', err.message) : err;
    });
    return {
      searchId: result.searchId!,
      packId: service.packId,
      checkpointHash: request.mode === 'adaptive' ? service.checkpointHash : null,
      mode: request.mode,
      candidates: result.candidates,
      durationMs: result.durationMs,
      hits: result.hits.map((h) => ({
        rank: h.rank,
        imageId: h.imageId,
        path: h.path,
        sha256: h.sha256,
        width: h.width,
        height: h.height,
        score: h.score,
        baselineScore: h.baselineScore,
        box: h.box,
        explicitScore: h.explicitScore,
        stack: h.stack,
        known: h.known,
        thumbnailUrl: mediaUrl('thumb', h.imageId),
        imageUrl: mediaUrl('image', h.imageId),
      })),
    };
  }

  async listSearches(): Promise<SearchRecord[]> {
    return this.store.listSearches({ limit: 500 }).map(toSearchRecord);
  }

  // ---- Cases ----

  async listCases(): Promise<CaseSummary[]> {
    return this.store.listCases().map((c) => ({ caseId: c.id, name: c.name, description: c.description, createdAt: c.createdAt, taggedCount: c.taggedCount }));
  }

  async createCase(input: { name: string; description?: string; categories: string[] }): Promise<CaseDetails> {
    if (!input.name.trim()) throw new QuariApiError('bad-request', 'a case needs a name');
    if (input.categories.length > 9) throw new QuariApiError('bad-request', 'a case has at most 9 categories (hotkeys 1–9)');
    const row = this.store.createCase({ name: input.name.trim(), description: input.description ?? '', categories: input.categories });
    return this.getCase(row.id);
  }

  async getCase(caseId: number): Promise<CaseDetails> {
    const summary = this.store.getCase(caseId);
    if (!summary) throw new QuariApiError('not-found', `case ${caseId} does not exist`);
    return {
      caseId: summary.id,
      name: summary.name,
      description: summary.description,
      createdAt: summary.createdAt,
      taggedCount: summary.taggedCount,
      categories: this.store.listCategories(caseId).map((c) => ({ categoryId: c.id, name: c.name, hotkey: c.hotkey })),
      items: this.store.listCaseItems(caseId).map((item) => ({
        imageId: item.imageId,
        path: item.path,
        sha256: item.sha256 ?? '',
        thumbnailUrl: mediaUrl('thumb', item.imageId),
        categories: item.tags.map((t) => ({ categoryId: t.categoryId, name: t.name, taggedAt: t.taggedAt, searchId: t.searchId, stackTier: t.stackTier, stackOf: t.stackOf })),
        note: item.note ?? '',
      })),
    };
  }

  async tagImage(input: { caseId: number; imageId: number; categoryId: number; searchId: number | null }): Promise<CaseDetails> {
    this.requireCategory(input.caseId, input.categoryId);
    this.requireImage(input.imageId);
    this.store.tagImage(input);
    return this.getCase(input.caseId);
  }

  async untagImage(input: { caseId: number; imageId: number; categoryId: number }): Promise<CaseDetails> {
    this.requireCategory(input.caseId, input.categoryId);
    this.store.untagImage(input);
    return this.getCase(input.caseId);
  }

  async setNote(input: { caseId: number; imageId: number; text: string }): Promise<CaseDetails> {
    if (!this.store.getCase(input.caseId)) throw new QuariApiError('not-found', `case ${input.caseId} does not exist`);
    this.requireImage(input.imageId);
    if (input.text.trim() === '') this.store.deleteNote(input.caseId, input.imageId);
    else this.store.setNote(input.caseId, input.imageId, input.text);
    return this.getCase(input.caseId);
  }

  async exportCase(input: { caseId: number; format: ExportFormat }): Promise<ExportResult> {
    if (!this.store.getCase(input.caseId)) throw new QuariApiError('not-found', `case ${input.caseId} does not exist`);
    const report = buildCaseReport(this.store, input.caseId);
    return writeCaseExport(report, input.format, join(this.dataDir, 'exports'), this.dataDir);
  }

  async tagStack(input: { caseId: number; imageId: number; tier: StackTier; categoryId: number; searchId: number | null }): Promise<CaseDetails> {
    this.requireCategory(input.caseId, input.categoryId);
    this.requireImage(input.imageId);
    if (!this.store.duplicates.stacksOfImages([input.imageId]).get(input.imageId)?.[input.tier]) {
      throw new QuariApiError('not-found', `image ${input.imageId} is in no ${input.tier} duplicate stack`);
    }
    this.store.duplicates.tagStack(input);
    return this.getCase(input.caseId);
  }

  // ---- Duplicates and the image panel ----

  async listDuplicateStacks(input: { tier: StackTier; offset?: number; limit?: number }): Promise<DuplicateStacks> {
    const dup = this.store.duplicates;
    const stacks = dup.listStacks(input.tier, { offset: input.offset ?? 0, limit: input.limit ?? 100 }).map((st) => {
      const ids = dup.stackMembers(st.stackId);
      const rows = new Map(this.store.getImages(ids).map((r) => [r.id, r]));
      const tiers = dup.stacksOfImages(ids);
      const best = tiers.get(st.bestImageId) ?? {};
      return {
        stackId: st.stackId,
        tier: st.tier,
        size: st.size,
        members: ids.flatMap((id) => {
          const row = rows.get(id);
          if (!row) return [];
          const mine = tiers.get(id) ?? {};
          // Nested tiers: the first tier in which both sit in one stack is their tightest link.
          const link = (['exact', 'perceptual', 'embedding'] as const).find((t) => mine[t] && mine[t]!.stackId === best[t]?.stackId) ?? st.tier;
          return [{ imageId: id, path: row.path, width: row.width ?? 0, height: row.height ?? 0, size: row.size, thumbnailUrl: mediaUrl('thumb', id), link }];
        }),
      };
    });
    return { counts: dup.countStacks(), tier: input.tier, stacks };
  }

  async browseImages(input: { filter?: SearchFilter; offset?: number; limit?: number }): Promise<{ total: number; images: BrowsedImage[] }> {
    let page: { total: number; imageIds: number[] };
    try {
      page = this.store.imageQueries.browse(input.filter ?? {}, { offset: input.offset ?? 0, limit: input.limit ?? 200 });
    } catch (err) {
      throw err instanceof FilterError ? new QuariApiError('bad-request', err.message) : err;
    }
    const rows = this.store.getImages(page.imageIds);
    const known = this.store.imageQueries.knownMatchesOf(page.imageIds);
    return {
      total: page.total,
      images: rows.map((r) => ({ imageId: r.id, path: r.path, width: r.width ?? 0, height: r.height ?? 0, thumbnailUrl: mediaUrl('thumb', r.id), known: known.get(r.id) ?? [] })),
    };
  }

  async getImageDetails(imageId: number): Promise<ImageDetails> {
    const f = this.store.imageQueries.getImageFacts(imageId);
    if (!f) throw new QuariApiError('not-found', `image ${imageId} is not in the catalog`);
    const stacks = this.store.duplicates.stacksOfImages([imageId]).get(imageId) ?? {};
    return {
      imageId,
      path: f.path,
      fileName: basename(f.path),
      size: f.size,
      format: f.format,
      width: f.width,
      height: f.height,
      hashes: { md5: f.md5, sha1: f.sha1, sha256: f.sha256, phash: f.phash },
      capturedAt: f.capturedAt,
      camera: { make: f.cameraMake, model: f.cameraModel },
      gps: f.gpsLat !== null && f.gpsLon !== null ? { lat: f.gpsLat, lon: f.gpsLon } : null,
      orientation: f.orientation,
      stacks: Object.values(stacks).map((st) => ({ tier: st.tier, stackId: st.stackId, size: st.size })),
      known: this.store.getKnownMatches(imageId),
      thumbnailUrl: mediaUrl('thumb', imageId),
      imageUrl: mediaUrl('image', imageId),
    };
  }

  // ---- Known files ----

  /**
   * Runs in the engine's thread: the import is one SQLite transaction over a synchronous reader (≈ 100k records
   * per CPU-second, bench hashset_import_cpu_s), so other calls wait for it.
   */
  async importHashSet(input: { path: string; name?: string; format?: HashSetFormat; kind?: HashSetKind }): Promise<HashSetInfo> {
    if (!existsSync(input.path)) throw new QuariApiError('not-found', `importHashSet: no file at ${input.path}`);
    if (resolve(input.path).startsWith(`${this.dataDir}/`)) throw new QuariApiError('bad-request', `importHashSet: ${input.path} lies in the catalog's own data folder`);
    const { seconds: _s, sourceBytes: _b, ...set } = await importHashSetFile(this.store, input.path, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.format ? { format: input.format } : {}),
      ...(input.kind ? { kind: input.kind } : {}),
    });
    return set;
  }

  async listHashSets(): Promise<{ sets: HashSetInfo[]; known: KnownFileCounts }> {
    const sets = this.store.listHashSets().map(({ sourceBytes: _b, ...s }) => s);
    return { sets, known: this.store.knownStats() };
  }

  async getKnownMatches(imageIds: number[]): Promise<{ imageId: number; matches: KnownMatchInfo[] }[]> {
    return imageIds.map((imageId) => ({ imageId, matches: this.store.getKnownMatches(imageId) }));
  }

  // ---- Settings ----

  async getSettings(): Promise<Settings> {
    return { ...DEFAULT_SETTINGS, ...((this.store.getSetting('ui') as Partial<Settings> | undefined) ?? {}) };
  }

  async setSettings(settings: Partial<Settings>): Promise<Settings> {
    const next = { ...(await this.getSettings()), ...settings };
    if (typeof next.blurAll !== 'boolean') throw new QuariApiError('bad-request', 'blurAll must be true or false');
    if (!(next.explicitThreshold >= 0 && next.explicitThreshold <= 1)) throw new QuariApiError('bad-request', 'explicitThreshold must lie in 0..1');
    this.store.setSetting('ui', next);
    return next;
  }

  // ---- Media and lifecycle ----

  mediaPath(kind: MediaKind, id: string): string | null {
    if (kind === 'query') return this.queryPath(id);
    if (!/^\d{1,15}$/.test(id)) return null;
    const image = this.store.getImage(Number(id));
    if (!image) return null;
    if (kind === 'image') return image.status === 'ok' ? image.path : null;
    return image.thumbnail ? join(this.dataDir, image.thumbnail) : null;
  }

  mediaRoots(): readonly string[] {
    const roots = new Set([this.dataDir]);
    for (const run of this.store.listIngestRuns({ limit: 10_000 })) roots.add(run.root);
    return [...roots];
  }

  async close(): Promise<void> {
    if (this.ingest) {
      this.ingest.controller.abort();
      await this.ingest.done;
    }
    await this.dropSearchService();
    this.store.close();
  }

  // ---- Internals ----

  private emit(event: QuariEvent): void {
    this.events.emit('event', event);
  }

  private activePackId(): string | null {
    const chosen = this.store.getSetting('activePackId');
    const packs = this.registry.list().filter((p) => !p.error);
    if (typeof chosen === 'string' && packs.some((p) => p.id === chosen)) return chosen;
    return packs.find((p) => p.id === DEFAULT_PACK_ID)?.id ?? packs[0]?.id ?? null;
  }

  private packSummaries(): PackSummary[] {
    return this.registry.list().map((p) => {
      const m = p.manifest;
      const weights = m?.quariCheckpoint ? m.files[`${m.quariCheckpoint}/weights.pt`] : undefined;
      return {
        id: p.id,
        name: m?.name ?? p.id,
        version: m?.version ?? '',
        embeddingDim: m?.embeddingDim ?? 0,
        hasTextEncoder: m?.text !== undefined,
        hasQuariCheckpoint: m?.quariCheckpoint !== undefined,
        checkpointHash: weights?.sha256 ?? null,
        source: p.source,
        ...(p.error ? { error: p.error } : {}),
      };
    });
  }

  private searchService(): Promise<SearchService> {
    const packId = this.activePackId();
    if (!packId) throw new QuariApiError('unavailable', 'no model pack is installed; run npm install to build the default pack');
    if (this.search_?.packId !== packId) {
      const service = this.registry.load(packId).then((pack) => SearchService.open(this.store, pack, { indexFile: ivfIndexPath(this.dataDir, packId) }));
      // A failed open is not cached: the next search tries again.
      service.catch(() => {
        if (this.search_?.service === service) this.search_ = null;
      });
      this.search_ = { packId, service };
      this.indexStale = false;
    }
    if (this.indexStale) {
      this.indexStale = false;
      return this.search_.service.then((service) => {
        service.refresh();
        return service;
      });
    }
    return this.search_.service;
  }

  private async dropSearchService(): Promise<void> {
    const current = this.search_;
    this.search_ = null;
    if (current) await (await current.service.catch(() => null))?.close();
  }

  private queryPath(id: string): string | null {
    if (!QUERY_ID.test(id)) return null;
    const path = join(this.queryDir, id);
    return existsSync(path) ? path : null;
  }

  private requireImage(imageId: number): void {
    if (!this.store.getImage(imageId)) throw new QuariApiError('not-found', `image ${imageId} is not in the catalog`);
  }

  private requireCategory(caseId: number, categoryId: number): void {
    if (!this.store.getCase(caseId)) throw new QuariApiError('not-found', `case ${caseId} does not exist`);
    if (!this.store.listCategories(caseId).some((c) => c.id === categoryId)) {
      throw new QuariApiError('not-found', `category ${categoryId} does not belong to case ${caseId}`);
    }
  }
}

function toSearchRecord(row: SearchRow): SearchRecord {
  const p = row.params as Record<string, unknown>;
  return {
    searchId: row.id,
    createdAt: row.createdAt,
    packId: row.packId,
    checkpointHash: row.checkpointHash,
    mode: row.mode,
    request: {
      queryImageId: String(p.queryImageId ?? ''),
      queryName: String(p.queryName ?? p.imagePath ?? ''),
      crops: Array.isArray(p.crops) ? (p.crops as SearchRequest['crops']) : [],
      mode: row.mode,
      ...(typeof p.text === 'string' ? { text: p.text } : {}),
      ...(typeof p.k === 'number' ? { k: p.k } : {}),
      ...(typeof p.top === 'number' ? { top: p.top } : {}),
      ...(p.filter && typeof p.filter === 'object' ? { filter: p.filter as SearchRequest['filter'] } : {}),
      ...(typeof p.stackTier === 'string' ? { stackTier: p.stackTier as SearchRequest['stackTier'] } : {}),
    },
    resultCount: row.resultCount,
    durationMs: row.durationMs,
  };
}

