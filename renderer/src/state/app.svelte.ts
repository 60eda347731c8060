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
const TERMINAL: ReadonlySet<IngestProgress['state']> = new Set(['done', 'cancelled', 'failed']);

export const isIngestActive = (p: IngestProgress | null) => p !== null && !TERMINAL.has(p.state);

class AppState {
  view = $state<View>('catalog');
  catalog = $state.raw<CatalogInfo | null>(null);
  settings = $state.raw<Settings>({ blurAll: false, explicitThreshold: 0.5 });
  /** Banner for the last failure; cleared by the analyst or the next success of the same kind. */
  error = $state<string | null>(null);
  /** The task whose failure is shown; only its own later success clears it, so an unrelated call never hides it. */
  private errorTask: string | null = null;
  /** Sentence describing the wait in progress, shown in the status bar; null when idle. */
  busy = $state<string | null>(null);
  /** Short confirmation of the last completed action. */
  notice = $state<string | null>(null);

  ingest = $state.raw<IngestProgress | null>(null);
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
  selected = $state(-1);
  revealed = $state.raw<ReadonlySet<number>>(new Set());
  compareOpen = $state(false);

  cases = $state.raw<CaseSummary[]>([]);
  activeCase = $state.raw<CaseDetails | null>(null);
  searches = $state.raw<SearchRecord[]>([]);
  lastExport = $state.raw<ExportResult | null>(null);

  /** Query images opened in this session, so a re-run from history can show its image again. */
  private knownQueries = new Map<string, QueryImage>();
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  get activePack(): PackSummary | null {
    const c = this.catalog;
    return c?.packs.find((p) => p.id === c.activePackId) ?? null;
  }

  get hits(): SearchHit[] {
    return this.response?.hits ?? [];
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
    });
    if (catalog && catalog.images === 0) this.view = 'catalog';
    else if (catalog) this.view = 'search';
    await Promise.all([this.refreshFailures(), this.refreshCases(), this.refreshSearches()]);
    const saved = Number(localStorage.getItem(ACTIVE_CASE_KEY));
    if (saved && this.cases.some((c) => c.caseId === saved)) await this.openCase(saved);
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
  }

  setCrops(crops: Box[], selected = this.selectedCrop) {
    this.crops = crops;
    this.selectedCrop = selected;
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
    this.searching = true;
    try {
      const response = await this.task(`Searching ${n.toLocaleString('en-GB')} images for ${regions} with ${scope}…`, () => api().search(request));
      if (!response) return;
      this.response = response;
      this.responseRequest = request;
      this.selected = response.hits.length > 0 ? 0 : -1;
      this.revealed = new Set();
      this.compareOpen = false;
      this.view = 'search';
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
    const item = c.items.find((i) => i.imageId === hit.imageId);
    const already = item?.categories.some((cat) => cat.categoryId === category.categoryId) ?? false;
    await this.toggleTag(hit.imageId, category.categoryId, !already, this.response?.searchId ?? null);
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

  async exportCase(format: ExportFormat) {
    const c = this.activeCase;
    if (!c) return;
    const result = await this.task(`Writing ${format.toUpperCase()} report for “${c.name}”…`, () => api().exportCase({ caseId: c.caseId, format }));
    if (result) {
      this.lastExport = result;
      this.say(`Report written to ${result.path}`);
    }
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
