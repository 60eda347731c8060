// A long list (the catalog browser's images, up to millions) fetched page by page as its rows come into view:
// the virtual grid says which indices it shows, this asks only for the pages covering them that are neither
// cached nor already requested, with a bounded number of requests in flight. Pages are kept, least recently
// shown first out past a cap, so scrolling back costs nothing and memory stays bounded; a reset (new filters)
// drops them and ignores answers still on their way.

export interface ListPage<T> {
  total: number;
  items: T[];
}

/** Fetches `limit` items from `offset`; undefined when the request failed (it is asked again when next wanted). */
export type FetchPage<T> = (offset: number, limit: number) => Promise<ListPage<T> | undefined>;

export interface PagedListOptions {
  pageSize: number;
  /** Requests outstanding at once, stale ones (from before a reset) included: the engine is never flooded. */
  maxInFlight: number;
  /** Pages kept; far more than a screenful, so the pages in view are never the ones dropped. */
  maxPages: number;
}

export class PagedList<T> {
  /** Items in the whole list; known from the first answer (0 until then). */
  total = 0;
  /** Whether any page of the current list has arrived (so an empty list reads as empty, not as loading). */
  loaded = false;
  /** Cached pages by number, in least-recently-shown-first order. */
  private readonly pages = new Map<number, T[]>();
  private readonly requested = new Set<number>();
  /** Pages wanted for the latest view and not yet asked for; a newer view replaces them (scrolled past, never fetched). */
  private queue: number[] = [];
  private running = 0;
  private generation = 0;

  constructor(
    private readonly fetchPage: FetchPage<T>,
    /** Called after each page arrives, so the view can redraw. */
    private readonly onChange: () => void,
    readonly options: PagedListOptions,
  ) {}

  /** The item at `index`, or undefined while its page is not here. */
  at(index: number): T | undefined {
    return this.pages.get(Math.floor(index / this.options.pageSize))?.[index % this.options.pageSize];
  }

  /** Asks for the items [start, end) (the rows in view); returns at once, the pages arrive through onChange. */
  want(start: number, end: number): void {
    const size = this.options.pageSize;
    const last = this.loaded ? Math.min(Math.ceil(end / size), Math.ceil(this.total / size)) : Math.max(1, Math.ceil(end / size));
    const missing: number[] = [];
    for (let p = Math.floor(start / size); p < last; p++) {
      const page = this.pages.get(p);
      if (page) {
        // Shown again: most recently used.
        this.pages.delete(p);
        this.pages.set(p, page);
      } else if (!this.requested.has(p)) missing.push(p);
    }
    this.queue = missing;
    this.pump();
  }

  /** Forgets every page (the list changed); answers to earlier requests are ignored when they come. */
  reset(): void {
    this.generation++;
    this.pages.clear();
    this.requested.clear();
    this.queue = [];
    this.total = 0;
    this.loaded = false;
  }

  private pump(): void {
    while (this.running < this.options.maxInFlight && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const generation = this.generation;
      this.requested.add(p);
      this.running++;
      void this.fetchPage(p * this.options.pageSize, this.options.pageSize).then(
        (page) => this.settle(generation, p, page),
        () => this.settle(generation, p, undefined),
      );
    }
  }

  private settle(generation: number, p: number, page: ListPage<T> | undefined): void {
    this.running--;
    if (generation === this.generation) {
      this.requested.delete(p);
      if (page) {
        this.pages.set(p, page.items);
        this.total = page.total;
        this.loaded = true;
        for (const old of this.pages.keys()) {
          if (this.pages.size <= this.options.maxPages) break;
          this.pages.delete(old);
        }
        this.onChange();
      }
    }
    this.pump();
  }
}
