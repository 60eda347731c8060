// The hash-set import's worker thread: opens its own connection to the catalog (WAL lets the app's connection
// read and write beside it), runs importHashSetFile there and posts its progress as notices. Cancel is a flag in
// shared memory, read between records: the worker's thread is busy in the synchronous readers and would never see
// a message, while an Atomics load costs nothing.
import { parentPort } from 'node:worker_threads';
import { openCatalog } from '../../../db/CatalogStore.ts';
import type { CatalogStore } from '../../../db/Interface.ts';
import {
  HashSetImportCancelled,
  HashSetInputError,
  importHashSetFile,
  type HashSetImportOptions,
  type HashSetImportResult,
  type ImportFileProgress,
} from './importFile.ts';

/** One import: the catalog file, the hash-set file, the options, and the cancel flag (Int32 0 = run, 1 = cancel). */
export interface ImportRequest {
  id: number;
  catalogPath: string;
  file: string;
  options: Omit<HashSetImportOptions, 'onProgress' | 'cancelled'>;
  cancel: SharedArrayBuffer;
  /** The calling session's examiner, for the import's audit record. */
  examiner?: string;
}

/** 'input': the file's fault (HashSetInputError); 'cancelled': the flag was set; no code: the catalog's failure. */
export type ImportFailureCode = 'input' | 'cancelled';

export type ImportReply = { id: number; ok: true; set: HashSetImportResult } | { id: number; ok: false; error: string; code?: ImportFailureCode };

export interface ImportNotice {
  progress: ImportFileProgress;
}

const port = parentPort;
if (!port) throw new Error('import-worker.ts must run in a worker thread');

port.on('message', async (msg: ImportRequest | 'close') => {
  if (msg === 'close') process.exit(0);
  const flag = new Int32Array(msg.cancel);
  let store: CatalogStore | undefined;
  try {
    store = openCatalog(msg.catalogPath, msg.examiner ? { examiner: msg.examiner } : {});
    const set = await importHashSetFile(store, msg.file, {
      ...msg.options,
      onProgress: (progress) => port.postMessage({ progress } satisfies ImportNotice),
      cancelled: () => Atomics.load(flag, 0) === 1,
    });
    port.postMessage({ id: msg.id, ok: true, set } satisfies ImportReply);
  } catch (err) {
    const code: ImportFailureCode | undefined = err instanceof HashSetImportCancelled ? 'cancelled' : err instanceof HashSetInputError ? 'input' : undefined;
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message, ...(code ? { code } : {}) } satisfies ImportReply);
  } finally {
    store?.close();
  }
});
port.postMessage('ready');
