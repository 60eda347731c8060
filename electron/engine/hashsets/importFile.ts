// Imports a hash-set file into a catalog: tells the format from the first bytes (SQLite → NSRL RDS v3, '{' →
// VICS JSON, else a plain list) unless it is stated, hashes the source (SHA-256, kept with the set), and hands the
// reader's records to CatalogStore.importHashSet, which writes set, entries and matches in one transaction. Any
// malformed record throws from inside that transaction, so a bad file leaves nothing behind.
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { CatalogStore, HashSetFormat, HashSetKind, HashSetRecord, HashSetRow } from '../../../db/Interface.ts';
import { hashFile } from '../images/decode.ts';
import { readRds } from './rds.ts';
import type { HashName } from './records.ts';
import { readTextList } from './textList.ts';
import { readVics } from './vics.ts';
import { openRegularFile } from './openFile.ts';

export const HASH_SET_FORMATS: readonly HashSetFormat[] = ['nsrl-rds3', 'vics', 'text'];

/** NSRL lists known software (hide it); VICS sets and hand-made lists name files of interest. */
export const DEFAULT_KIND: Record<HashSetFormat, HashSetKind> = { 'nsrl-rds3': 'ignorable', vics: 'of-interest', text: 'of-interest' };

export interface HashSetImportOptions {
  /** Default: the file's name. */
  name?: string;
  format?: HashSetFormat;
  kind?: HashSetKind;
  /** Plain lists only: every line is this kind of hash (default: inferred per line from its length). */
  hashType?: HashName;
  onProgress?: (p: { records: number }) => void;
}

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

/** The records of a reader, its failures marked as the input's (the catalog's own failures are not). */
function* inputRecords(records: Iterable<HashSetRecord>): Generator<HashSetRecord> {
  const it = records[Symbol.iterator]();
  for (;;) {
    const next = asInputError(() => it.next());
    if (next.done) return;
    yield next.value;
  }
}

export interface HashSetImportResult extends HashSetRow {
  seconds: number;
}

/** The format a file's first bytes name. */
export function detectHashSetFormat(file: string): HashSetFormat {
  const fd = openRegularFile(file);
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

export async function importHashSetFile(catalog: CatalogStore, path: string, options: HashSetImportOptions = {}): Promise<HashSetImportResult> {
  const started = performance.now();
  const file = resolve(path);
  const format = options.format ?? asInputError(() => detectHashSetFormat(file));
  if (options.hashType && format !== 'text') throw new HashSetInputError(`a hash type can be stated for plain lists only, not for ${format}`);
  const source = await hashFile(file, { maxBytes: Number.MAX_SAFE_INTEGER }).catch((err: Error) => {
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
  const checkSame = () => {
    const again = reread.digest('hex');
    if (again !== source.sha256) throw new HashSetInputError(`${file} changed while it was imported (SHA-256 ${source.sha256} before, ${again} as read)`);
  };
  if (catalog.listHashSets().some((s) => s.name.toLowerCase() === base.name.trim().toLowerCase())) {
    throw new HashSetInputError(`hash set '${base.name}' already exists in this catalog; give the import another name`);
  }
  let row: HashSetRow;
  if (format === 'nsrl-rds3') {
    const rds = asInputError(() => readRds(file));
    row = catalog.importHashSet({ ...base, version: rds.version }, inputRecords(rds.records), options.onProgress);
  } else if (format === 'vics') {
    const vics = readVics(file, { sha256: reread });
    const resolveVersion = () => asInputError(() => (checkSame(), vics.version()));
    row = catalog.importHashSet({ ...base, resolveVersion }, inputRecords(vics.records), options.onProgress);
  } else {
    const records = readTextList(file, { sha256: reread, ...(options.hashType ? { hashType: options.hashType } : {}) });
    row = catalog.importHashSet({ ...base, resolveVersion: () => asInputError(() => (checkSame(), null)) }, inputRecords(records), options.onProgress);
  }
  return { ...row, seconds: (performance.now() - started) / 1000 };
}
