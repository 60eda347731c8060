// State of the duplicate stacks (the Duplicates view and stack tagging), the image panel's facts, and the search
// filters. Kept apart from app.svelte.ts: these are one domain (issue 12) that the rest of the app only reads.
import type { BrowsedImage, DuplicateStacks, ImageDetails, KnownFilter, KnownMatchInfo, SearchFilter, SearchRequest, StackTier } from '../../../electron/shared/api.ts';
import { api } from '../api/index.ts';
import { fileName } from '../lib/format.ts';
import { PagedList } from '../lib/pagedList.ts';
import { app } from './app.svelte.ts';

export const TIER_LABELS: Record<StackTier, string> = {
  exact: 'Identical bytes',
  perceptual: 'Near-duplicate (pHash)',
  embedding: 'Similar (embedding)',
};

class DuplicatesState {
  tier = $state<StackTier>('perceptual');
  stacks = $state.raw<DuplicateStacks | null>(null);
  /** Facts of the image shown in the panel (compare, Duplicates view). */
  details = $state.raw<ImageDetails | null>(null);

  async load(tier = this.tier) {
    this.tier = tier;
    const stacks = await app.task(`Listing ${TIER_LABELS[tier].toLowerCase()} stacks…`, () => api().listDuplicateStacks({ tier, limit: 200 }));
    if (stacks) this.stacks = stacks;
  }

  async showDetails(imageId: number) {
    if (this.details?.imageId === imageId) return;
    const details = await app.task('Reading the image’s facts…', () => api().getImageDetails(imageId));
    if (details) this.details = details;
  }

  /** Tags the whole `tier` stack of `imageId` in the active case. */
  async tagStack(imageId: number, tier: StackTier, categoryId: number, size: number) {
    const c = app.activeCase;
    if (!c) {
      app.showError('Open or create a case before tagging a stack.');
      return;
    }
    const label = c.categories.find((x) => x.categoryId === categoryId)?.name ?? `category ${categoryId}`;
    const searchId = app.response?.hits.some((h) => h.imageId === imageId) ? app.response.searchId : null;
    const details = await app.task(`Tagging the ${size} images of the stack as ${label}…`, () =>
      api().tagStack({ caseId: c.caseId, imageId, tier, categoryId, searchId }),
    );
    if (!details) return;
    app.adoptCase(details);
    app.say(`Tagged the ${tier} stack of ${fileName(this.details?.imageId === imageId ? this.details.path : `image ${imageId}`)} (${size} images) as ${label}.`);
  }
}

export const duplicates = new DuplicatesState();

/** The search filters as the analyst sets them; empty fields filter nothing. */
class FilterState {
  /** Whether the filter panel is unfolded; kept across views. */
  open = $state(false);
  folderPrefix = $state('');
  capturedFrom = $state('');
  capturedTo = $state('');
  cameraMake = $state('');
  cameraModel = $state('');
  gps = $state<'any' | 'with' | 'without'>('any');
  /** In the active case. */
  tagged = $state<'any' | 'tagged' | 'untagged'>('any');
  categoryId = $state(0);
  known = $state<'any' | KnownFilter>('any');
  stackTier = $state<StackTier | 'none'>('perceptual');

  get active(): number {
    return Object.keys(this.filter(app.activeCase?.caseId ?? null) ?? {}).length;
  }

  filter(caseId: number | null): SearchFilter | undefined {
    const f: SearchFilter = {};
    if (this.folderPrefix.trim()) f.folderPrefix = this.folderPrefix.trim();
    if (this.capturedFrom) f.capturedFrom = this.capturedFrom;
    if (this.capturedTo) f.capturedTo = this.capturedTo;
    if (this.cameraMake.trim()) f.cameraMake = this.cameraMake.trim();
    if (this.cameraModel.trim()) f.cameraModel = this.cameraModel.trim();
    if (this.gps !== 'any') f.hasGps = this.gps === 'with';
    if (this.known !== 'any') f.known = this.known;
    if (this.tagged !== 'any' && caseId !== null) {
      f.tagged = { caseId, state: this.tagged, ...(this.categoryId > 0 ? { categoryId: this.categoryId } : {}) };
    }
    return Object.keys(f).length > 0 ? f : undefined;
  }

  /** The filter and stack fields of a search request. */
  request(caseId: number | null): Pick<SearchRequest, 'filter' | 'stackTier'> {
    const filter = this.filter(caseId);
    return { stackTier: this.stackTier, ...(filter ? { filter } : {}) };
  }

  clear() {
    this.folderPrefix = this.capturedFrom = this.capturedTo = this.cameraMake = this.cameraModel = '';
    this.gps = 'any';
    this.tagged = 'any';
    this.categoryId = 0;
    this.known = 'any';
  }
}

export const searchFilters = new FilterState();

/** How a file's hash-set matches read on a badge: of interest (with its categories) wins over ignorable. */
export function knownBadge(matches: readonly KnownMatchInfo[]): { kind: 'of-interest' | 'ignorable'; label: string; title: string } | null {
  if (matches.length === 0) return null;
  const title = matches.map((m) => `${m.setName} (${m.kind}${m.category ? `, category ${m.category}` : ''})`).join('; ');
  const flagged = matches.filter((m) => m.kind === 'of-interest');
  if (flagged.length > 0) {
    const cats = [...new Set(flagged.map((m) => m.category).filter((c): c is string => c !== null))];
    return { kind: 'of-interest', label: cats.length > 0 ? `known ★ cat ${cats.join(',')}` : 'known ★', title };
  }
  return { kind: 'ignorable', label: 'known', title };
}

/** The catalog browser: the images the search filters allow, fetched in pages as the grid scrolls them into view. */
class BrowserState {
  /** Bumped when a page arrives or the list is reset: the grid reads it to redraw. */
  revision = $state(0);
  private readonly list = new PagedList<BrowsedImage>(
    (offset, limit) => {
      const filter = this.filter;
      return app.task('Listing catalogued images…', () => api().browseImages({ offset, limit, ...(filter ? { filter } : {}) }).then((p) => ({ total: p.total, items: p.images })));
    },
    () => this.revision++,
    // 200 images a page (a 2560×1440 screen shows ~150 tiles); 50 pages (10,000 images) kept. The engine answers
    // one request at a time, so two in flight only overlap one page's transfer with the next query. Measured on
    // 1,000,000 catalogued images (load 9–10): a page takes 86 ms at the start, 160 ms at the end (the count and
    // OFFSET walk the id index), 0.36–0.90 s with a folder filter, so a jump to the end costs under a second.
    { pageSize: 200, maxInFlight: 2, maxPages: 50 },
  );
  private filter: SearchFilter | undefined;

  get total(): number {
    void this.revision;
    return this.list.total;
  }

  get loaded(): boolean {
    void this.revision;
    return this.list.loaded;
  }

  at(index: number): BrowsedImage | undefined {
    void this.revision;
    return this.list.at(index);
  }

  /** Starts over with the current search filters (the grid then asks for the rows it shows). */
  reset() {
    this.filter = searchFilters.filter(app.activeCase?.caseId ?? null);
    this.list.reset();
    this.revision++;
  }

  want(start: number, end: number) {
    this.list.want(start, end);
  }
}

export const browser = new BrowserState();
