// Ingest as the app runs it: at most one job at a time, identified by the stored ingest run's id, its progress
// published as events, cancellable. The counts are ingest's own vocabulary from the first event to the last:
// `added` = new + changed + moved files (each now catalogued under its path), `skipped` = unchanged, `failed`.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CatalogStore } from '../../../db/Interface.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import { QuariApiError, type FailureRow, type IngestProgress } from '../../shared/api.ts';
import { AFTER_INGEST_EMBEDDING_MAX_IMAGES, rebuildDuplicateStacks } from '../duplicates/rebuild.ts';
import { ingestFolder, type IngestResult } from '../ingest/ingestFolder.ts';
import { updateIndex } from '../search/indexPolicy.ts';

export interface IngestJobsOptions {
  store: CatalogStore;
  loadPack(): Promise<VerifiedPack>;
  /** The on-disk search index file of a pack (built or rebuilt after a run when indexPolicy says so). */
  indexFile(packId: string): string;
  publish(progress: IngestProgress): void;
  /** Called once a run has written embeddings, before its final event (a search started on "done" sees them). */
  indexChanged(): void;
}

/** The final counts of a run, in the same vocabulary as its progress events. */
export function finalCounts(result: IngestResult): Pick<IngestProgress, 'added' | 'skipped' | 'failed' | 'done'> {
  const added = result.added + result.updated + result.moved;
  return { added, skipped: result.skipped, failed: result.failed, done: added + result.skipped + result.failed };
}

export class IngestJobs {
  private job: { progress: IngestProgress; controller: AbortController; done: Promise<void> } | null = null;
  private last: IngestProgress | null = null;

  constructor(private readonly options: IngestJobsOptions) {}

  /** Starts a run; resolves with its first progress, which carries the stored run's id. */
  async start(folder: string): Promise<IngestProgress> {
    if (this.job) throw new QuariApiError('conflict', `an ingest of ${this.job.progress.root} is already running`);
    const root = resolve(folder);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new QuariApiError('bad-request', `${root} is not a folder`);
    const pack = await this.options.loadPack();
    const controller = new AbortController();
    let first: ((p: IngestProgress) => void) | null = null;
    const started = new Promise<IngestProgress>((resolveFirst) => (first = resolveFirst));
    const publish = (p: IngestProgress) => {
      this.last = p;
      if (this.job) this.job.progress = p;
      this.options.publish(p);
    };
    // ingestFolder's own final event is held back: the run ends with the event below, once the index is marked stale.
    const onProgress = (p: IngestProgress) => {
      if (p.state !== 'scanning' && p.state !== 'running') return;
      if (first) {
        this.job = { progress: p, controller, done };
        first(p);
        first = null;
      }
      publish(p);
    };
    const done: Promise<void> = ingestFolder({ root, catalog: this.options.store, pack, signal: controller.signal, onProgress })
      .then(async (result) => {
        // New files carry their pHash already; the stacks are rebuilt before "done", so results show them.
        if (!result.cancelled) await rebuildDuplicateStacks(this.options.store, pack.manifest.id, undefined, AFTER_INGEST_EMBEDDING_MAX_IMAGES);
        // Then the search index, while the job still holds the catalog (cancel stops the build; the files stay
        // catalogued and searchable, exactly or beside the previous index).
        const counts = finalCounts(result);
        if (!result.cancelled) {
          const indexing = { ...this.last!, ...counts, total: counts.done, etaSeconds: null, state: 'indexing' as const };
          await updateIndex(this.options.store, pack.manifest.id, this.options.indexFile(pack.manifest.id), {
            signal: controller.signal,
            onProgress: (index) => publish({ ...indexing, index }),
          }).catch((err: Error) => {
            if (!controller.signal.aborted) throw err;
          });
        }
        const cancelled = result.cancelled || controller.signal.aborted;
        // The job is over before its last event goes out, so a listener may start the next run right away.
        this.job = null;
        this.options.indexChanged();
        const { index: _index, ...last } = this.last!;
        publish({ ...last, ...counts, state: cancelled ? 'cancelled' : 'done', total: result.cancelled ? last.total : counts.done, etaSeconds: 0 });
      })
      .catch((err: Error) => {
        // Before the run existed (the folder vanished, the catalog lies inside it): the caller hears it directly.
        this.job = null;
        if (first) throw err;
        publish({ ...this.last!, state: 'failed', error: err.message });
      });
    return Promise.race([
      started,
      done.then(
        () => started,
        (err: Error) => {
          throw new QuariApiError('bad-request', err.message);
        },
      ),
    ]);
  }

  async cancel(runId: string): Promise<void> {
    if (!this.job || this.job.progress.runId !== runId) throw new QuariApiError('not-found', `no running ingest ${runId}`);
    this.job.controller.abort();
    await this.job?.done;
  }

  progress(): IngestProgress | null {
    return this.last;
  }

  failures(): FailureRow[] {
    return this.options.store.listFailures({ limit: 10_000 }).map((f) => ({ imageId: f.imageId, path: f.path, error: f.error }));
  }

  async close(): Promise<void> {
    if (!this.job) return;
    this.job.controller.abort();
    await this.job.done.catch(() => undefined);
  }
}
