// Hash-set imports as the app runs them: one at a time, on a worker thread with its own catalog connection
// (hashsets/ImportThread.ts), so every other API call keeps answering; progress published as
// 'hashset-import-progress' events, cancellable. The call itself resolves with the set once it is imported.
//
// What the API accepts as a hash-set file (the CLI takes the analyst's own shell path as it is): an absolute path
// (the validator), resolved through its links, that is neither inside the catalog's data folder nor the catalog
// itself or its journal files, and that is a regular file of at most HASH_SET_MAX_BYTES whose bytes do not change
// or grow while they are read (the readers); what an error quotes of the file is short and escaped (quoteContent).
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { QuariApiError, type HashSetFormat, type HashSetImportProgress, type HashSetInfo, type HashSetKind } from '../../shared/api.ts';
import { isPathInside } from '../../shared/paths.ts';
import { importHashSetInThread } from '../hashsets/ImportThread.ts';
import { HashSetImportCancelled, type ImportFileProgress } from '../hashsets/importFile.ts';

export interface HashSetImportsOptions {
  catalogPath: string;
  dataDir: string;
  /** Who the import is by: the worker's own connection records the set under this session's examiner. */
  examiner(): string;
  publish(progress: HashSetImportProgress): void;
}

export interface HashSetImportInput {
  path: string;
  name?: string;
  format?: HashSetFormat;
  kind?: HashSetKind;
}

export class HashSetImports {
  private job: { path: string; controller: AbortController; done: Promise<unknown> } | null = null;

  constructor(private readonly options: HashSetImportsOptions) {}

  async run(input: HashSetImportInput): Promise<HashSetInfo> {
    if (this.job) throw new QuariApiError('conflict', `importHashSet: an import of ${this.job.path} is running; cancel it or wait for it`);
    const file = this.checkedPath(input.path);
    const controller = new AbortController();
    const name = input.name ?? basename(file);
    let last: HashSetImportProgress = { path: file, name, state: 'reading', records: 0, fraction: 0, recordsPerSecond: 0, seconds: 0 };
    const publish = (p: Partial<HashSetImportProgress>) => this.options.publish((last = { ...last, ...p }));
    const running = importHashSetInThread(this.options.catalogPath, file, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.format ? { format: input.format } : {}),
      ...(input.kind ? { kind: input.kind } : {}),
      examiner: this.options.examiner(),
      signal: controller.signal,
      onProgress: (p: ImportFileProgress) => publish({ state: p.phase, records: p.records, fraction: p.fraction, recordsPerSecond: p.recordsPerSecond, seconds: p.seconds }),
    });
    this.job = { path: file, controller, done: running.catch(() => undefined) };
    try {
      const { seconds, sourceBytes: _b, ...set } = await running;
      publish({ state: 'done', fraction: 1, seconds, set });
      return set;
    } catch (err) {
      if (err instanceof HashSetImportCancelled) {
        publish({ state: 'cancelled' });
        throw new QuariApiError('conflict', `importHashSet: ${file}: ${err.message}`);
      }
      publish({ state: 'failed', error: (err as Error).message });
      throw err;
    } finally {
      this.job = null;
    }
  }

  /** Cancels the running import and waits until its worker stopped. */
  async cancel(): Promise<void> {
    if (!this.job) throw new QuariApiError('not-found', 'cancelHashSetImport: no hash-set import is running');
    this.job.controller.abort();
    await this.job?.done;
  }

  async close(): Promise<void> {
    if (!this.job) return;
    this.job.controller.abort();
    await this.job.done;
  }

  /** The file `path` names, links resolved; refused when it does not exist or is the catalog's own. */
  private checkedPath(path: string): string {
    let file: string;
    try {
      file = realpathSync(path);
    } catch {
      throw new QuariApiError('not-found', `importHashSet: no file at ${path}`);
    }
    const catalog = realpathSync(this.options.catalogPath);
    let dataDir = this.options.dataDir;
    try {
      dataDir = realpathSync(dataDir);
    } catch {
      // no data folder yet: nothing can lie in it
    }
    if (isPathInside(file, dataDir)) throw new QuariApiError('bad-request', `importHashSet: ${path} lies in the catalog's own data folder`);
    if ([catalog, `${catalog}-wal`, `${catalog}-shm`, `${catalog}-journal`].includes(file)) {
      throw new QuariApiError('bad-request', `importHashSet: ${path} is the catalog itself (or its journal), not a hash set`);
    }
    return file;
  }
}
