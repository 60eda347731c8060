// Application state and the actions that change it. Components read `app` and call its methods; every
// backend call goes through `task`, which says what is happening while it waits and turns failures into a
// readable banner instead of a silent console error.
import type {
  Box,
  CaseDetails,
  CaseSummary,
  CatalogInfo,
  ExportFormat,
  ExportResult,
  FailureRow,
  HashSetImportProgress,
  IngestProgress,
  PackSummary,
  QueryImage,
  SearchHit,
  SearchRecord,
  SearchRequest,
  SearchResponse,
  Settings,
} from '../../../electron/shared/api.ts';
import { DEFAULT_K, DEFAULT_TOP, IMAGE_EXTENSIONS } from '../../../electron/shared/constants.ts';
import { api, mediaSrc } from '../api/index.ts';
import { errorMessage, fileName } from '../lib/format.ts';
import { roundBox } from '../lib/geometry.ts';
import { searchFilters } from './duplicates.svelte.ts';

export type View = 'catalog' | 'browse' | 'search' | 'duplicates' | 'cases' | 'history';
export type Mode = SearchRequest['mode'];

const ACTIVE_CASE_KEY = 'quari.activeCaseId';
/** The results grid's display choices (tile size, match boxes, the query's own image), kept for the next session. */
const GRID_KEY = 'quari.grid';
export const TILE_SIZES = { small: 120, medium: 170, large: 260 } as const;
export type TileSize = keyof typeof TILE_SIZES;
export interface GridDisplay {
  tileSize: TileSize;
  showBoxes: boolean;
  hideQueryCopies: boolean;
  /** Hide hits already marked relevant or not relevant in the active case. */
  hideReviewed: boolean;
}
/** The query panel's width as the analyst dragged it (px; absent: the layout's default), kept for the next session. */
const QUERY_PANEL_KEY = 'quari.queryPanelWidth';
export const QUERY_PANEL_PX = { min: 240, max: 900 } as const;
/** This tab's query, crops and the search on screen, so a reload (or a crash of the window) brings them back. */
const SESSION_KEY = 'quari.session';
/** Crops narrower or shorter than this hold too few pixels for a meaningful match; the UI warns about them. */
export const TINY_CROP_PX = 32;
/** Catalog totals are re-read at most this often while an ingest runs. */
const TOTALS_REFRESH_MS = 1500;

interface SavedSession {
  query: { queryImageId: string; name: string } | null;
  crops: Box[];
  searchId: number | null;
}
const TERMINAL: ReadonlySet<IngestProgress['state']> = new Set(['done', 'cancelled', 'failed']);

export const isIngestActive = (p: IngestProgress | null) => p !== null && !TERMINAL.has(p.state);

class AppState {
  view = $state<View>('catalog');
  catalog = $state.raw<CatalogInfo | null>(null);
  settings = $state.raw<Settings>({ blurAll: false, explicitThreshold: 0.5, examiner: '' });
  /** Banner for the last failure; cleared by the analyst or the next success of the same kind. */
  error = $state<string | null>(null);
  /** The task whose failure is shown; only its own later success clears it, so an unrelated call never hides it. */
  private errorTask: string | null = null;
  /** Sentence describing the wait in progress, shown in the status bar; null when idle. */
  busy = $state<string | null>(null);
  /** Short confirmation of the last completed action. */
  notice = $state<string | null>(null);

  ingest = $state.raw<IngestProgress | null>(null);
  /** The last hash-set import's progress (the Catalog view's known-files panel shows it). */
  hashSetImport = $state.raw<HashSetImportProgress | null>(null);
  failures = $state.raw<FailureRow[]>([]);

  query = $state.raw<QueryImage | null>(null);
  crops = $state<Box[]>([]);
  selectedCrop = $state(-1);
  mode = $state<Mode>('adaptive');
  k = $state(DEFAULT_K);
  top = $state(DEFAULT_TOP);
  searching = $state(false);
  response = $state.raw<SearchResponse | null>(null);
  /** The request that produced `response`: its crops are what compare shows on the query side. */
  responseRequest = $state.raw<SearchRequest | null>(null);
  /** The query photo of that request: compare cuts its crops from this image, never from a photo opened later. */
  responseQuery = $state.raw<QueryImage | null>(null);
  selected = $state(-1);
  revealed = $state.raw<ReadonlySet<number>>(new Set());
  compareOpen = $state(false);
  /** Results grid display: tile size, the matched region drawn on tiles, and hiding copies of the query photo. */
  grid = $state<GridDisplay>(loadGrid());
  queryPanelWidth = $state<number | null>(loadQueryPanelWidth());

  cases = $state.raw<CaseSummary[]>([]);
  activeCase = $state.raw<CaseDetails | null>(null);
  searches = $state.raw<SearchRecord[]>([]);
  lastExport = $state.raw<ExportResult | null>(null);

  /** Query images opened in this session, so a re-run from history can show its image again. */
  private knownQueries = new Map<string, QueryImage>();
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Tag toggles run one after another, each deciding on/off from the case as the previous one left it. */
  private tagQueue: Promise<void> = Promise.resolve();
  private totalsReadAt = 0;

  /**
   * Why the results on screen no longer answer the query on screen (another photo opened, crops changed), or null.
   * They stay visible, marked, and compare keeps showing the search's own query photo and crops.
   */
  get staleReason(): string | null {
    const req = this.responseRequest;
    if (!this.response || !req) return null;
    if (this.query?.queryImageId !== req.queryImageId) {
      return `These results are from search #${this.response.searchId} of ${this.responseQuery?.name ?? 'an earlier photo'}, not of the photo now open. Search again to update them.`;
    }
    const same = this.crops.length === req.crops.length && this.crops.every((c, i) => {
      const r = req.crops[i]!;
      return Math.round(c.x) === r.x && Math.round(c.y) === r.y && Math.round(c.w) === r.w && Math.round(c.h) === r.h;
    });
    return same ? null : `The crops changed since search #${this.response.searchId}. Search again to update the results.`;
  }

  /** Crops too small for a meaningful match (indices into `crops`). */
  get tinyCrops(): number[] {
    return this.crops.flatMap((c, i) => (c.w < TINY_CROP_PX || c.h < TINY_CROP_PX ? [i] : []));
  }

  get activePack(): PackSummary | null {
    const c = this.catalog;
    return c?.packs.find((p) => p.id === c.activePackId) ?? null;
  }

  get hits(): SearchHit[] {
    const hits = this.response?.hits ?? [];
    const judged = this.grid.hideReviewed ? new Set(this.activeCase?.items.filter((i) => i.relevant !== null).map((i) => i.imageId)) : null;
    return hits.filter((h) => !(this.grid.hideQueryCopies && this.isQueryCopy(h)) && !judged?.has(h.imageId));
  }

  /** The active case's relevance marks on the hits on screen: what a feedback search learns from. */
  get feedbackMarks(): { relevant: { imageId: number; box: Box }[]; excludeImageIds: number[] } {
    const marks = new Map(this.activeCase?.items.filter((i) => i.relevant !== null).map((i) => [i.imageId, i.relevant]));
    const hits = this.response?.hits ?? [];
    return {
      relevant: hits.filter((h) => marks.get(h.imageId) === true).map((h) => ({ imageId: h.imageId, box: h.box })),
      excludeImageIds: hits.filter((h) => marks.get(h.imageId) === false).map((h) => h.imageId),
    };
  }

  /** Searches again with the marks: relevant matched regions join the query, not-relevant images are left out. */
  async searchWithFeedback(strategy: 'regions' | 'queries' = 'regions') {
    const request = this.responseRequest;
    if (!request || this.searching) return;
    const { relevant, excludeImageIds } = this.feedbackMarks;
    await this.runRequest({ ...request, feedback: { relevant, excludeImageIds, strategy } });
  }

  /** The hit is the search's query photo or a byte-identical copy of it (query images are named by their SHA-256). */
  isQueryCopy(hit: SearchHit): boolean {
    const id = this.responseRequest?.queryImageId;
    return !!id && hit.sha256 !== '' && id.startsWith(`${hit.sha256}.`);
  }

  get queryCopies(): number {
    const hits = this.response?.hits ?? [];
    return hits.filter((h) => this.isQueryCopy(h)).length;
  }

  /** null: back to the default width. The CSS clamps it to what the window leaves the results and case columns. */
  setQueryPanelWidth(px: number | null) {
    this.queryPanelWidth = px === null ? null : Math.round(Math.min(QUERY_PANEL_PX.max, Math.max(QUERY_PANEL_PX.min, px)));
    if (this.queryPanelWidth === null) localStorage.removeItem(QUERY_PANEL_KEY);
    else localStorage.setItem(QUERY_PANEL_KEY, String(this.queryPanelWidth));
  }

  setGrid(patch: Partial<GridDisplay>) {
    this.grid = { ...this.grid, ...patch };
    localStorage.setItem(GRID_KEY, JSON.stringify(this.grid));
    if (this.selected >= this.hits.length) this.selected = this.hits.length - 1;
  }

  get selectedHit(): SearchHit | null {
    return this.hits[this.selected] ?? null;
  }

  isBlurred(hit: SearchHit): boolean {
    if (this.revealed.has(hit.imageId)) return false;
    return this.settings.blurAll || hit.explicitScore >= this.settings.explicitThreshold;
  }

  reveal(imageId: number) {
    if (this.revealed.has(imageId)) return;
    this.revealed = new Set([...this.revealed, imageId]);
  }

  say(message: string) {
    this.notice = message;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), 6000);
  }

  /** Shows a message that stays until the analyst dismisses it (or a later error replaces it). */
  showError(message: string) {
    this.error = message;
    this.errorTask = null;
  }

  clearError() {
    this.error = null;
    this.errorTask = null;
  }

  /** Runs one backend call, announcing `what` while it waits; returns undefined (and shows why) on failure. */
  async task<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    this.busy = what;
    try {
      const result = await fn();
      if (this.errorTask === what) this.clearError();
      return result;
    } catch (err) {
      this.error = errorMessage(err);
      this.errorTask = what;
      return undefined;
    } finally {
      if (this.busy === what) this.busy = null;
    }
  }

  async init() {
    const [catalog, settings, progress] = await Promise.all([
      this.task('Opening the catalog…', () => api().getCatalogInfo()),
      this.task('Reading settings…', () => api().getSettings()),
      this.task('Checking for a running ingest…', () => api().getIngestProgress()),
    ]);
    if (catalog) this.catalog = catalog;
    if (settings) this.settings = settings;
    if (progress !== undefined) this.ingest = progress;
    api().onEvent((event) => {
      if (event.type === 'ingest-progress') this.onIngestProgress(event.progress);
      else if (event.type === 'hashset-import-progress') this.hashSetImport = event.progress;
    });
    if (catalog && catalog.images === 0) this.view = 'catalog';
    else if (catalog) this.view = 'search';
    await Promise.all([this.refreshFailures(), this.refreshCases(), this.refreshSearches()]);
    const saved = Number(localStorage.getItem(ACTIVE_CASE_KEY));
    if (saved && this.cases.some((c) => c.caseId === saved)) await this.openCase(saved);
    await this.restoreSession();
  }

  private saveSession() {
    const session: SavedSession = {
      query: this.query ? { queryImageId: this.query.queryImageId, name: this.query.name } : null,
      crops: this.crops.map((c) => ({ ...c })),
      searchId: this.response?.searchId ?? null,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  /** After a reload: the query photo and crops, and the recorded results of the search that was on screen. */
  private async restoreSession() {
    let saved: SavedSession;
    try {
      saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as SavedSession;
    } catch {
      return;
    }
    if (!saved) return;
    if (saved.searchId !== null && Number.isSafeInteger(saved.searchId)) {
      const found = await this.task('Restoring the last results…', () => api().getSearch(saved.searchId!));
      if (found) {
        const { queryName, ...request } = found.record.request;
        this.responseQuery = this.knownQueries.get(request.queryImageId) ?? (await this.reopenQuery(request.queryImageId, queryName));
        this.response = found.response;
        this.responseRequest = request;
        this.selected = found.response.hits.length > 0 ? 0 : -1;
        this.mode = request.mode;
        if (request.k !== undefined) this.k = request.k;
        if (request.top !== undefined) this.top = request.top;
      }
    }
    if (saved.query) {
      this.query = this.knownQueries.get(saved.query.queryImageId) ?? (await this.reopenQuery(saved.query.queryImageId, saved.query.name));
      // The view stays as init chose it: the analyst may already have moved on while the photo loaded.
      this.crops = Array.isArray(saved.crops) ? saved.crops : [];
    }
  }

  // ---- catalog & ingest

  async refreshCatalog() {
    const catalog = await this.task('Reading catalog totals…', () => api().getCatalogInfo());
    if (catalog) this.catalog = catalog;
  }

  async refreshFailures() {
    const failures = await this.task('Listing files that failed to ingest…', () => api().listFailures());
    if (failures) this.failures = failures;
  }

  async setActivePack(packId: string) {
    const catalog = await this.task(`Switching to model pack ${packId}…`, () => api().setActivePack(packId));
    if (catalog) {
      this.catalog = catalog;
      this.say(`Active model pack: ${this.activePack?.name ?? packId}`);
    }
  }

  /** True when the pack was imported (the form then clears). */
  async importPack(folder: string): Promise<boolean> {
    const before = new Set(this.catalog?.packs.map((p) => p.id));
    const catalog = await this.task(`Verifying and importing the model pack in ${folder}…`, () => api().importPack(folder));
    if (catalog) {
      this.catalog = catalog;
      const added = catalog.packs.find((p) => !before.has(p.id));
      this.say(added ? `Imported model pack ${added.name}; choose it above to use it` : 'The pack was already imported (identical manifest)');
    }
    return !!catalog;
  }

  async chooseFolder(): Promise<string | null> {
    return (await this.task('Waiting for a folder to be chosen…', () => api().chooseFolder())) ?? null;
  }

  async startIngest(folder: string) {
    const progress = await this.task(`Starting ingest of ${folder}…`, () => api().startIngest(folder));
    // Events for this run may have overtaken the reply (a small folder can finish first); never step back.
    if (progress && this.ingest?.runId !== progress.runId) this.onIngestProgress(progress);
  }

  async cancelIngest() {
    const runId = this.ingest?.runId;
    if (!runId) return;
    await this.task('Cancelling ingest…', () => api().cancelIngest(runId));
  }

  async pollIngest() {
    const progress = await api().getIngestProgress().catch(() => undefined);
    if (progress) this.onIngestProgress(progress);
  }

  private onIngestProgress(progress: IngestProgress) {
    const wasActive = isIngestActive(this.ingest) && this.ingest?.runId === progress.runId;
    this.ingest = progress;
    // Totals follow a running ingest (throttled), not only its end.
    if (progress.state === 'running' && Date.now() - this.totalsReadAt > TOTALS_REFRESH_MS) {
      this.totalsReadAt = Date.now();
      void this.refreshCatalog();
    }
    if (TERMINAL.has(progress.state) && (wasActive || progress.state !== 'done')) {
      void this.refreshCatalog();
      void this.refreshFailures();
    }
  }

  // ---- settings

  async updateSettings(patch: Partial<Settings>) {
    const settings = await this.task('Saving settings…', () => api().setSettings(patch));
    if (settings) this.settings = settings;
  }

  // ---- query & search

  async openQueryFile(file: File) {
    if (!file.type.startsWith('image/') && !IMAGE_EXTENSIONS.some((ext) => file.name.toLowerCase().endsWith(ext))) {
      this.showError(`${file.name} is not an image file.`);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const name = file.name || 'pasted-image.png';
    const query = await this.task(`Loading query image ${name}…`, () => api().addQueryImage({ name, bytes }));
    if (!query) return;
    this.knownQueries.set(query.queryImageId, query);
    this.query = query;
    this.crops = [];
    this.selectedCrop = -1;
    this.saveSession();
  }

  /** "Search from this image" / "Search this region": a hit (or any catalogued image) becomes the query. */
  async searchFromImage(imageId: number, region: Box | null) {
    const query = await this.task('Opening the image as the query…', () => api().queryFromImage(imageId));
    if (!query) return;
    this.knownQueries.set(query.queryImageId, query);
    this.query = query;
    this.crops = region ? [{ ...region }] : [];
    this.selectedCrop = region ? 0 : -1;
    this.compareOpen = false;
    this.saveSession();
    await this.search();
  }

  setCrops(crops: Box[], selected = this.selectedCrop) {
    this.crops = crops;
    this.selectedCrop = selected;
    this.saveSession();
  }

  async search() {
    const query = this.query;
    if (!query || this.searching) return;
    const pack = this.activePack;
    const request: SearchRequest = {
      queryImageId: query.queryImageId,
      crops: this.crops.map((c) => (query.width ? roundBox(c, query.width, query.height) : c)),
      mode: this.mode,
      top: this.top,
      ...(this.mode === 'adaptive' ? { k: this.k } : {}),
      ...searchFilters.request(this.activeCase?.caseId ?? null),
    };
    await this.runRequest(request);
  }

  private async runRequest(request: SearchRequest) {
    const n = this.catalog?.embeddings ?? 0;
    const scope = request.mode === 'adaptive'
      ? `adaptive scoring${request.k ? `, rescoring the top ${request.k.toLocaleString('en-GB')}` : ' over every image'}`
      : 'baseline scoring';
    const regions = request.crops.length === 0 ? 'the whole image' : `${request.crops.length} crop${request.crops.length > 1 ? 's' : ''}`;
    const query = this.knownQueries.get(request.queryImageId) ?? this.query;
    this.searching = true;
    try {
      const response = await this.task(`Searching ${n.toLocaleString('en-GB')} images for ${regions} with ${scope}…`, () => api().search(request));
      if (!response) return;
      this.response = response;
      this.responseRequest = request;
      this.responseQuery = query?.queryImageId === request.queryImageId ? query : null;
      this.selected = response.hits.length > 0 ? 0 : -1;
      this.revealed = new Set();
      this.compareOpen = false;
      this.view = 'search';
      this.saveSession();
      void this.refreshSearches();
    } finally {
      this.searching = false;
    }
  }

  async refreshSearches() {
    const searches = await this.task('Loading search history…', () => api().listSearches());
    if (searches) this.searches = searches;
  }

  async rerun(record: SearchRecord) {
    const { queryName, ...request } = record.request;
    this.query = this.knownQueries.get(request.queryImageId) ?? (await this.reopenQuery(request.queryImageId, queryName));
    this.crops = request.crops.map((c) => ({ ...c }));
    this.selectedCrop = -1;
    this.mode = request.mode;
    if (request.k !== undefined) this.k = request.k;
    if (request.top !== undefined) this.top = request.top;
    this.view = 'search';
    await this.runRequest(request);
  }

  /** A query image from an earlier session: the backend keeps it by id; its size is read from the image itself. */
  private async reopenQuery(queryImageId: string, name: string): Promise<QueryImage> {
    const url = mediaSrc('query', queryImageId);
    const size = (await this.task(`Loading query image ${name}…`, () => imageSize(url))) ?? { width: 0, height: 0 };
    const query: QueryImage = { queryImageId, name, url, ...size };
    if (size.width > 0) this.knownQueries.set(queryImageId, query);
    return query;
  }

  select(index: number) {
    if (index < 0 || index >= this.hits.length) return;
    this.selected = index;
  }

  openCompare(index = this.selected) {
    const hit = this.hits[index];
    if (!hit) return;
    this.selected = index;
    this.reveal(hit.imageId);
    this.compareOpen = true;
  }

  // ---- cases & tags

  async refreshCases() {
    const cases = await this.task('Loading cases…', () => api().listCases());
    if (cases) this.cases = cases;
  }

  async openCase(caseId: number) {
    const details = await this.task('Opening case…', () => api().getCase(caseId));
    if (details) this.setActiveCase(details);
  }

  /** A case returned by a call made elsewhere (stack tagging) becomes the active case. */
  adoptCase(details: CaseDetails) {
    this.setActiveCase(details);
  }

  private setActiveCase(details: CaseDetails) {
    this.activeCase = details;
    localStorage.setItem(ACTIVE_CASE_KEY, String(details.caseId));
    const i = this.cases.findIndex((c) => c.caseId === details.caseId);
    const summary: CaseSummary = {
      caseId: details.caseId,
      name: details.name,
      description: details.description,
      createdAt: details.createdAt,
      taggedCount: details.taggedCount,
    };
    this.cases = i < 0 ? [...this.cases, summary] : this.cases.map((c, j) => (j === i ? summary : c));
  }

  async createCase(name: string, description: string, categories: string[]): Promise<boolean> {
    const details = await this.task(`Creating case ${name}…`, () => api().createCase({ name, description, categories }));
    if (!details) return false;
    this.setActiveCase(details);
    this.say(`Case “${details.name}” created with ${details.categories.length} categories.`);
    return true;
  }

  /** Number keys 1..9: toggles that category on the selected result in the active case. */
  async tagSelectedWithHotkey(hotkey: number) {
    const hit = this.selectedHit;
    const c = this.activeCase;
    if (!hit) return;
    if (!c) {
      this.showError('Open or create a case before tagging: the number keys apply its categories.');
      return;
    }
    const category = c.categories.find((cat) => cat.hotkey === hotkey);
    if (!category) {
      this.showError(`Case “${c.name}” has no category on key ${hotkey}.`);
      return;
    }
    const imageId = hit.imageId;
    const searchId = this.response?.searchId ?? null;
    // Queued: a second press before the first reply toggles what the first left, instead of repeating it.
    const run = this.tagQueue.then(async () => {
      const item = this.activeCase?.items.find((i) => i.imageId === imageId);
      const already = item?.categories.some((cat) => cat.categoryId === category.categoryId) ?? false;
      await this.toggleTag(imageId, category.categoryId, !already, searchId);
    });
    this.tagQueue = run.catch(() => undefined);
    await run;
  }

  async toggleTag(imageId: number, categoryId: number, on: boolean, searchId: number | null) {
    const c = this.activeCase;
    if (!c) return;
    const category = c.categories.find((cat) => cat.categoryId === categoryId);
    const label = category?.name ?? `category ${categoryId}`;
    const hitPath = this.hits.find((h) => h.imageId === imageId)?.path ?? c.items.find((i) => i.imageId === imageId)?.path ?? `image ${imageId}`;
    const details = on
      ? await this.task(`Tagging ${fileName(hitPath)} as ${label}…`, () => api().tagImage({ caseId: c.caseId, imageId, categoryId, searchId }))
      : await this.task(`Removing tag ${label} from ${fileName(hitPath)}…`, () => api().untagImage({ caseId: c.caseId, imageId, categoryId }));
    if (!details) return;
    this.setActiveCase(details);
    this.say(on ? `Tagged ${fileName(hitPath)} as ${label}.` : `Removed ${label} from ${fileName(hitPath)}.`);
  }

  async setNote(imageId: number, text: string): Promise<boolean> {
    const c = this.activeCase;
    if (!c) return false;
    const details = await this.task('Saving note…', () => api().setNote({ caseId: c.caseId, imageId, text }));
    if (details) this.setActiveCase(details);
    return details !== undefined;
  }

  /** Marks an image relevant / not relevant in the active case; null clears the mark. */
  async setRelevance(imageId: number, relevant: boolean | null) {
    const c = this.activeCase;
    if (!c) {
      this.showError('Open or create a case before judging results: relevance marks belong to a case.');
      return;
    }
    const searchId = this.response?.searchId ?? null;
    const details = await this.task('Saving relevance…', () => api().setRelevance({ caseId: c.caseId, imageId, relevant, searchId }));
    if (details) this.setActiveCase(details);
  }

  /** hideKnownIgnorable (html, csv, json; the API refuses it for vics): leaves out files only in ignorable sets. */
  async exportCase(format: ExportFormat, hideKnownIgnorable = false) {
    const c = this.activeCase;
    if (!c) return;
    const result = await this.task(`Writing ${format.toUpperCase()} report for “${c.name}”…`, () =>
      api().exportCase({ caseId: c.caseId, format, ...(hideKnownIgnorable ? { hideKnownIgnorable } : {}) }),
    );
    if (result) {
      this.lastExport = result;
      this.say(`Report written to ${result.path}`);
    }
  }
}

function loadQueryPanelWidth(): number | null {
  const saved = Number(localStorage.getItem(QUERY_PANEL_KEY));
  return Number.isFinite(saved) && saved >= QUERY_PANEL_PX.min && saved <= QUERY_PANEL_PX.max ? saved : null;
}

function loadGrid(): GridDisplay {
  const fallback = { tileSize: 'medium' as TileSize, showBoxes: true, hideQueryCopies: false, hideReviewed: false };
  try {
    const saved = JSON.parse(localStorage.getItem(GRID_KEY) ?? 'null') as Partial<GridDisplay> | null;
    if (!saved) return fallback;
    return {
      tileSize: saved.tileSize && saved.tileSize in TILE_SIZES ? saved.tileSize : fallback.tileSize,
      showBoxes: typeof saved.showBoxes === 'boolean' ? saved.showBoxes : fallback.showBoxes,
      hideQueryCopies: typeof saved.hideQueryCopies === 'boolean' ? saved.hideQueryCopies : fallback.hideQueryCopies,
      hideReviewed: typeof saved.hideReviewed === 'boolean' ? saved.hideReviewed : fallback.hideReviewed,
    };
  } catch {
    return fallback;
  }
}

/** Natural size of an image (EXIF orientation applied, as the browser displays it). */
function imageSize(url: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error('The query image of this search is no longer available.'));
    img.src = url;
  });
}

export const app = new AppState();
