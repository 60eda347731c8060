// Imports a hash-set file into a catalog: tells the format from the first bytes (SQLite → NSRL RDS v3, '{' →
// VICS JSON, else a plain list) unless it is stated, hashes the source (SHA-256, kept with the set), and hands the
// reader's records to CatalogStore.importHashSet, which stages them and then writes set, entries and matches in one
// transaction. Any malformed record, or a cancel, throws while the records are read, so nothing is left behind.
// Progress (records read, the share of the source read, records/s) is reported at most every PROGRESS_MS.
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { CatalogStore, HashSetFormat, HashSetKind, HashSetRecord, HashSetRow } from '../../../db/Interface.ts';
import { hashFile } from '../images/decode.ts';
import { readRds } from './rds.ts';
import type { HashName } from './records.ts';
import { readTextList } from './textList.ts';
import { readVics } from './vics.ts';
import { HASH_SET_MAX_BYTES, openHashSetFile } from './openFile.ts';

export const HASH_SET_FORMATS: readonly HashSetFormat[] = ['nsrl-rds3', 'vics', 'text'];

/** NSRL lists known software (hide it); VICS sets and hand-made lists name files of interest. */
export const DEFAULT_KIND: Record<HashSetFormat, HashSetKind> = { 'nsrl-rds3': 'ignorable', vics: 'of-interest', text: 'of-interest' };

/** Least time between two progress reports while records are read. */
const PROGRESS_MS = 250;

/** Where an import stands: reading (and validating) the source, or committing the staged set to the catalog. */
export interface ImportFileProgress {
  phase: 'reading' | 'committing';
  records: number;
  /** Share of the source read, 0..1: bytes for JSON and lists, the position in hash order for an RDS. */
  fraction: number;
  recordsPerSecond: number;
  seconds: number;
}

export interface HashSetImportOptions {
  /** Default: the file's name. */
  name?: string;
  format?: HashSetFormat;
  kind?: HashSetKind;
  /** Plain lists only: every line is this kind of hash (default: inferred per line from its length). */
  hashType?: HashName;
  onProgress?: (p: ImportFileProgress) => void;
  /** Asked after every record read; true abandons the import (HashSetImportCancelled, nothing imported). */
  cancelled?: () => boolean;
}

/** The import was cancelled while its source was read; the catalog is as it was. */
export class HashSetImportCancelled extends Error {
  override readonly name = 'HashSetImportCancelled';
}

/** What an import needs of a catalog (the app's worker thread passes its own connection's store). */
export type HashSetTarget = Pick<CatalogStore, 'listHashSets' | 'importHashSet'>;

/** Malformed hash-set input (the file's fault, not the catalog's): carries the API's 'bad-request' code. */
export class HashSetInputError extends Error {
  readonly code = 'bad-request' as const;
  override readonly name = 'HashSetInputError';
}

/** Re-throws whatever `fn` throws as a HashSetInputError (readers throw plain Errors naming record and file). */
function asInputError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof HashSetInputError ? err : new HashSetInputError((err as Error).message);
  }
}

/**
 * The records of a reader, its failures marked as the input's (the catalog's own failures are not); reports
 * progress with `fraction()` as the share read, and stops with HashSetImportCancelled once `cancelled()` says so.
 */
function* inputRecords(
  records: Iterable<HashSetRecord>,
  fraction: (last: HashSetRecord | undefined) => number,
  options: HashSetImportOptions,
  started: number,
): Generator<HashSetRecord> {
  const it = records[Symbol.iterator]();
  let count = 0;
  let reported = 0;
  let last: HashSetRecord | undefined;
  const report = (phase: ImportFileProgress['phase']) => {
    const now = performance.now();
    reported = now;
    const seconds = (now - started) / 1000;
    options.onProgress?.({ phase, records: count, fraction: phase === 'committing' ? 1 : fraction(last), recordsPerSecond: seconds > 0 ? Math.round(count / seconds) : 0, seconds });
  };
  report('reading');
  for (;;) {
    if (options.cancelled?.()) throw new HashSetImportCancelled('the import was cancelled; nothing was imported');
    const next = asInputError(() => it.next());
    if (next.done) break;
    last = next.value;
    count++;
    // performance.now() per record would cost more than the check it saves: look at the clock every 1024 records.
    if ((count & 1023) === 0 && performance.now() - reported >= PROGRESS_MS) report('reading');
    yield next.value;
  }
  report('committing');
}

export interface HashSetImportResult extends HashSetRow {
  seconds: number;
}

/** The format a file's first bytes name. */
export function detectHashSetFormat(file: string): HashSetFormat {
  const { fd } = openHashSetFile(file);
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 16 && head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') return 'nsrl-rds3';
    const text = head.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    return text.startsWith('{') ? 'vics' : 'text';
  } finally {
    closeSync(fd);
  }
}

export async function importHashSetFile(catalog: HashSetTarget, path: string, options: HashSetImportOptions = {}): Promise<HashSetImportResult> {
  const started = performance.now();
  const file = resolve(path);
  // Detection opens the file through the shared checked open even when a format is given, so a folder, FIFO or
  // device is refused in one wording (and before anything is hashed) either way.
  const detected = asInputError(() => detectHashSetFormat(file));
  const format = options.format ?? detected;
  if (options.hashType && format !== 'text') throw new HashSetInputError(`a hash type can be stated for plain lists only, not for ${format}`);
  const source = await hashFile(file, { maxBytes: HASH_SET_MAX_BYTES }).catch((err: Error) => {
    throw new HashSetInputError(`${file}: cannot be read (${err.message})`);
  });
  const base = {
    name: options.name ?? basename(file),
    format,
    kind: options.kind ?? DEFAULT_KIND[format],
    sourceFile: file,
    sourceSha256: source.sha256,
    sourceBytes: source.size,
  };
  // Text and JSON are hashed again as they are parsed: bytes that changed since the first hash are refused.
  const reread = createHash('sha256');
  let bytesRead = 0;
  const onChunk = (chunk: Buffer) => {
    reread.update(chunk);
    bytesRead += chunk.length;
  };
  const checkSame = () => {
    const again = reread.digest('hex');
    if (again !== source.sha256) throw new HashSetInputError(`${file} changed while it was imported (SHA-256 ${source.sha256} before, ${again} as read)`);
  };
  if (catalog.listHashSets().some((s) => s.name.toLowerCase() === base.name.trim().toLowerCase())) {
    throw new HashSetInputError(`hash set '${base.name}' already exists in this catalog; give the import another name`);
  }
  const byBytes = () => (source.size > 0 ? Math.min(1, bytesRead / source.size) : 1);
  let row: HashSetRow;
  if (format === 'nsrl-rds3') {
    const rds = asInputError(() => readRds(file));
    // FILE is read in hash order and hashes are uniform: the leading 32 bits of the last hash say how far it got.
    let hashOrder = 0;
    const byHash = (last: HashSetRecord | undefined) => (hashOrder = Math.max(hashOrder, last ? last.hash.readUInt32BE(0) / 2 ** 32 : 0));
    row = catalog.importHashSet({ ...base, version: rds.version }, inputRecords(rds.records, byHash, options, started));
  } else if (format === 'vics') {
    const vics = readVics(file, { onChunk });
    const resolveVersion = () => asInputError(() => (checkSame(), vics.version()));
    row = catalog.importHashSet({ ...base, resolveVersion }, inputRecords(vics.records, byBytes, options, started));
  } else {
    const records = readTextList(file, { onChunk, ...(options.hashType ? { hashType: options.hashType } : {}) });
    row = catalog.importHashSet({ ...base, resolveVersion: () => asInputError(() => (checkSame(), null)) }, inputRecords(records, byBytes, options, started));
  }
  return { ...row, seconds: (performance.now() - started) / 1000 };
}
