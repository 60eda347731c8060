// Runs one hash-set import on a worker thread (import-worker.ts, started through the shared WorkerPool) so the
// thread that answers the API stays free: searches and browsing go on while a set of hundreds of millions of rows
// is read. The worker is started per import (≈ the cost of loading the catalog module, nothing next to an
// import) and stopped after it, so no thread idles between imports. Failures come back as the classes the
// in-thread import throws (HashSetInputError, HashSetImportCancelled), so callers handle both paths alike.
import { WorkerError, WorkerPool, type PoolSlot } from '../workers/WorkerPool.ts';
import { HashSetImportCancelled, HashSetInputError, type HashSetImportOptions, type HashSetImportResult, type ImportFileProgress } from './importFile.ts';
import type { ImportNotice, ImportReply, ImportRequest } from './import-worker.ts';

const WORKER_URL = new URL('./import-worker.mjs', import.meta.url);

export interface ThreadImportOptions extends Omit<HashSetImportOptions, 'onProgress' | 'cancelled'> {
  onProgress?: (p: ImportFileProgress) => void;
  /** Aborting it cancels the import between two records (nothing is imported). */
  signal?: AbortSignal;
  /** The examiner the audit record names (the worker's connection has no session of its own). */
  examiner?: string;
}

/** Imports `file` into the catalog at `catalogPath` on a worker thread with its own connection. */
export async function importHashSetInThread(catalogPath: string, file: string, options: ThreadImportOptions = {}): Promise<HashSetImportResult> {
  const { onProgress, signal, examiner, ...rest } = options;
  const cancel = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancel);
  const onAbort = () => Atomics.store(flag, 0, 1);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let pool: WorkerPool<ImportReply> | undefined;
  try {
    pool = await WorkerPool.open<ImportReply, PoolSlot>(WORKER_URL, 1, { what: 'hash-set import worker', loading: 'the catalog' }, (worker) => ({ worker, busy: 0 }), {
      onNotice: (m) => onProgress?.((m as ImportNotice).progress),
    });
    const reply = await pool.request(pool.slots[0]!, (id) => ({ id, catalogPath, file, options: rest, cancel, ...(examiner ? { examiner } : {}) }) satisfies ImportRequest);
    return reply.set;
  } catch (err) {
    if (err instanceof WorkerError && err.code === 'cancelled') throw new HashSetImportCancelled(err.message);
    if (err instanceof WorkerError && err.code === 'input') throw new HashSetInputError(err.message);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await pool?.close();
  }
}
