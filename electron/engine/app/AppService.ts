// The main-process implementation of the renderer's API (electron/shared/api.ts), composed of one part per job:
// packs (packs.ts), ingest jobs (ingestJobs.ts), the search session with its query photos (searchSession.ts),
// cases (cases.ts), media lookup (media.ts) and hash-set imports on their worker thread (hashSetImports.ts);
// catalog info, the known-file listings and settings are small enough to live here. Electron's IPC handlers and the loopback web host both serve this object through the shared dispatch; the
// host supplies how media URLs are spelled. Never imports Electron; onEvent and chooseFolder live in the hosts.
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { openCatalog } from '../../../db/CatalogStore.ts';
import { catalogDataDir } from '../catalogData.ts';
import type { CatalogStore } from '../../../db/Interface.ts';
import { PackRegistry, defaultDataHome } from '../../../native-models/runtime/packs/registry.ts';
import { PackError } from '../../../native-models/runtime/packs/verify.ts';
import {
  mediaUrl as electronMediaUrl,
  QuariApiError,
  type BrowsedImage,
  type CaseDetails,
  type CaseSummary,
  type CatalogInfo,
  type DuplicateStacks,
  type ImageDetails,
  type SearchFilter,
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
  type QueryImage,
  type SearchRecord,
  type SearchRequest,
  type SearchResponse,
  type Settings,
} from '../../shared/api.ts';
import type { AppService } from '../../shared/protocol/service.ts';
import { Cases } from './cases.ts';
import { HashSetImports } from './hashSetImports.ts';
import { ImageViews } from './imageViews.ts';
import { IngestJobs } from './ingestJobs.ts';
import { MediaLookup } from './media.ts';
import { ActivePack } from './packs.ts';
import { importPackAudited } from './packImport.ts';
import { SearchSession, type MediaUrlBuilder } from './searchSession.ts';
import { ivfIndexPath } from '../search/SearchService.ts';

export interface AppServiceOptions {
  catalogPath: string;
  /** Where imported packs and app data live (Electron passes its userData folder). */
  dataHome?: string;
  /** Packs shipped with the app (the packaged app passes its resources folder). */
  builtInPacksDir?: string;
  /** How the host spells media URLs (default: Electron's `quari-media://<kind>/<id>`). */
  mediaUrl?: MediaUrlBuilder;
  /** Which front end opened the catalog, for the audit log ('electron', 'web'). */
  client?: string;
}

const DEFAULT_SETTINGS: Omit<Settings, 'examiner'> = { blurAll: false, explicitThreshold: 0.5 };

export type { AppService, MediaUrlBuilder };

export async function createAppService(options: AppServiceOptions): Promise<AppService> {
  const catalogPath = resolve(options.catalogPath);
  const store = openCatalog(catalogPath);
  store.appendAudit('catalog.opened', { client: options.client ?? 'app', catalogPath });
  const registry = new PackRegistry(options.dataHome ?? defaultDataHome(), options.builtInPacksDir);
  return new CatalogApp(catalogPath, store, registry, options.mediaUrl ?? electronMediaUrl);
}

class CatalogApp implements AppService {
  readonly events = new EventEmitter();
  private readonly dataDir: string;
  private readonly packs: ActivePack;
  private readonly ingest: IngestJobs;
  private readonly session: SearchSession;
  private readonly cases: Cases;
  private readonly media: MediaLookup;
  private readonly images: ImageViews;
  private readonly hashSetImports: HashSetImports;

  constructor(
    private readonly catalogPath: string,
    private readonly store: CatalogStore,
    private readonly registry: PackRegistry,
    mediaUrl: MediaUrlBuilder,
  ) {
    this.dataDir = catalogDataDir(catalogPath);
    this.packs = new ActivePack(store, registry);
    this.session = new SearchSession(store, this.packs, this.dataDir, mediaUrl);
    this.ingest = new IngestJobs({
      store,
      loadPack: () => this.packs.load(),
      indexFile: (packId) => ivfIndexPath(this.dataDir, packId),
      publish: (progress) => this.events.emit('event', { type: 'ingest-progress', progress }),
      indexChanged: () => this.session.markIndexStale(),
    });
    this.cases = new Cases(store, this.dataDir, mediaUrl);
    this.media = new MediaLookup(store, this.dataDir, (id) => this.session.queryPath(id));
    this.images = new ImageViews(store, mediaUrl);
    this.hashSetImports = new HashSetImports({
      catalogPath,
      dataDir: this.dataDir,
      examiner: () => store.examiner(),
      publish: (progress) => this.events.emit('event', { type: 'hashset-import-progress', progress }),
    });
  }

  // ---- Catalog and packs ----

  async getCatalogInfo(): Promise<CatalogInfo> {
    const stats = this.store.stats();
    return {
      catalogPath: this.catalogPath,
      // Failed files are not images of the catalog: they are counted (and listed) as failures.
      images: stats.images - stats.failed,
      embeddings: stats.embeddings,
      failed: stats.failed,
      activePackId: this.packs.id(),
      packs: this.packs.summaries(),
    };
  }

  async setActivePack(packId: string): Promise<CatalogInfo> {
    await this.packs.choose(packId);
    await this.session.drop();
    return this.getCatalogInfo();
  }

  async importPack(folder: string): Promise<CatalogInfo> {
    // A pack that fails its checks is the analyst's to fix (bad-request, naming the file); anything else (a disk
    // error while copying) is the host's and surfaces as an internal error.
    await importPackAudited(this.registry, this.store, folder).catch((err: unknown) => {
      throw err instanceof PackError ? new QuariApiError('bad-request', err.message) : err;
    });
    return this.getCatalogInfo();
  }

  // ---- Ingest ----

  startIngest(folder: string): Promise<IngestProgress> {
    return this.ingest.start(folder);
  }

  cancelIngest(runId: string): Promise<void> {
    return this.ingest.cancel(runId);
  }

  async getIngestProgress(): Promise<IngestProgress | null> {
    return this.ingest.progress();
  }

  async listFailures(): Promise<FailureRow[]> {
    return this.ingest.failures();
  }

  // ---- Query images and search ----

  addQueryImage(file: { name: string; bytes: Uint8Array }): Promise<QueryImage> {
    return this.session.addQueryImage(file);
  }

  queryFromImage(imageId: number): Promise<QueryImage> {
    return this.session.queryFromImage(imageId);
  }

  search(request: SearchRequest): Promise<SearchResponse> {
    return this.session.search(request);
  }

  async listSearches(): Promise<SearchRecord[]> {
    return this.session.listSearches();
  }

  async getSearch(searchId: number): Promise<{ record: SearchRecord; response: SearchResponse }> {
    return this.session.getSearch(searchId);
  }

  // ---- Cases ----

  async listCases(): Promise<CaseSummary[]> {
    return this.cases.list();
  }

  async createCase(input: { name: string; description?: string; categories: string[] }): Promise<CaseDetails> {
    return this.cases.create(input);
  }

  async getCase(caseId: number): Promise<CaseDetails> {
    return this.cases.get(caseId);
  }

  async tagImage(input: { caseId: number; imageId: number; categoryId: number; searchId: number | null }): Promise<CaseDetails> {
    return this.cases.tag(input);
  }

  async tagStack(input: { caseId: number; imageId: number; tier: StackTier; categoryId: number; searchId: number | null }): Promise<CaseDetails> {
    return this.cases.tagStack(input);
  }

  // ---- Duplicates, the image panel and the catalog browser ----

  async listDuplicateStacks(input: { tier: StackTier; offset?: number; limit?: number }): Promise<DuplicateStacks> {
    return this.images.listDuplicateStacks(input);
  }

  async getImageDetails(imageId: number): Promise<ImageDetails> {
    return this.images.getImageDetails(imageId);
  }

  async browseImages(input: { filter?: SearchFilter; offset?: number; limit?: number }): Promise<{ total: number; images: BrowsedImage[] }> {
    return this.images.browseImages(input);
  }

  async untagImage(input: { caseId: number; imageId: number; categoryId: number }): Promise<CaseDetails> {
    return this.cases.untag(input);
  }

  async setNote(input: { caseId: number; imageId: number; text: string }): Promise<CaseDetails> {
    return this.cases.setNote(input);
  }

  async setRelevance(input: { caseId: number; imageId: number; relevant: boolean | null; searchId: number | null }): Promise<CaseDetails> {
    return this.cases.setRelevance(input);
  }

  async exportCase(input: { caseId: number; format: ExportFormat; hideKnownIgnorable?: boolean }): Promise<ExportResult> {
    return this.cases.export(input);
  }

  // ---- Known files ----

  /** On a worker thread with its own connection (app/hashSetImports.ts): other calls keep answering meanwhile. */
  async importHashSet(input: { path: string; name?: string; format?: HashSetFormat; kind?: HashSetKind }): Promise<HashSetInfo> {
    return this.hashSetImports.run(input);
  }

  cancelHashSetImport(): Promise<void> {
    return this.hashSetImports.cancel();
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
    const { blurAll, explicitThreshold } = { ...DEFAULT_SETTINGS, ...((this.store.getSetting('ui') as Partial<Settings> | undefined) ?? {}) };
    return { blurAll, explicitThreshold, examiner: this.store.examiner() };
  }

  async setSettings(settings: Partial<Settings>): Promise<Settings> {
    const next = { ...(await this.getSettings()), ...settings };
    if (typeof next.blurAll !== 'boolean') throw new QuariApiError('bad-request', 'blurAll must be true or false');
    if (!(next.explicitThreshold >= 0 && next.explicitThreshold <= 1)) throw new QuariApiError('bad-request', 'explicitThreshold must lie in 0..1');
    if (typeof next.examiner !== 'string' || !next.examiner.trim()) throw new QuariApiError('bad-request', 'examiner must be a non-empty name');
    if (next.examiner.trim() !== this.store.examiner()) {
      try {
        this.store.setExaminer(next.examiner);
      } catch (err) {
        throw new QuariApiError('bad-request', (err as Error).message);
      }
    }
    this.store.setSetting('ui', { blurAll: next.blurAll, explicitThreshold: next.explicitThreshold });
    return this.getSettings();
  }

  // ---- Media and lifecycle ----

  mediaPath(kind: MediaKind, id: string): string | null {
    return this.media.path(kind, id);
  }

  mediaRoots(): readonly string[] {
    return this.media.roots();
  }

  async close(): Promise<void> {
    await this.hashSetImports.close();
    await this.ingest.close();
    await this.session.drop();
    this.store.close();
  }
}
