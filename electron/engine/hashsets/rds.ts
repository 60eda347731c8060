// Reader for NSRL RDS v3, the SQLite publication (full, modern, android, iOS, legacy and their "minimal" variants
// share it): FILE (sha256, sha1, md5, crc32, file_name, file_size, package_id) with PKG, OS, MFG and VERSION beside
// it. Only FILE's hashes matter for known-file filtering; it is read in sha256 order (its primary key starts with
// sha256, so SQLite walks that index and the catalog's entry B-tree is appended to in order), one row at a time.
// FILE and VERSION must be ordinary tables: a view (or a virtual table) runs the file's own SQL at read time, and a
// recursive view never ends, so reading would hang the importer; the schema may not call unsafe functions either.
import Database from 'better-sqlite3';
import type { HashSetRecord } from '../../../db/Interface.ts';
import { quoteContent, strongestRecord } from './records.ts';

export interface RdsSource {
  /** VERSION.version (e.g. '2024.03.1'), or null when the file has no VERSION table. */
  version: string | null;
  records: Iterable<HashSetRecord>;
}

/** Longest VERSION.version kept (NSRL's read like '2024.03.1'): it is stored with the set and shown by every listing. */
export const RDS_VERSION_MAX_CHARS = 64;
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** VERSION.version as a short printable string; a long or control-laden one is refused, naming the file. */
function checkedVersion(file: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${file}: VERSION.version is not text`);
  const version = String(value);
  if (version.length > RDS_VERSION_MAX_CHARS) throw new Error(`${file}: VERSION.version is ${version.length} characters, more than ${RDS_VERSION_MAX_CHARS}`);
  if (UNPRINTABLE.test(version)) throw new Error(`${file}: VERSION.version contains control characters`);
  return version;
}

/** Opens `file` read-only; throws naming the file for anything that is not an RDS v3 database. */
export function readRds(file: string): RdsSource {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('trusted_schema = OFF');
  } catch (err) {
    throw new Error(`${file}: cannot be opened as an NSRL RDS v3 SQLite file (${(err as Error).message})`);
  }
  try {
    const schema = db.prepare(`SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view')`).all() as { name: string; type: string; sql: string | null }[];
    const objects = schema.map((o) => o.name);
    /** The ordinary table called `name` (any case), or undefined; a view or virtual table of that name is refused. */
    const table = (name: string): string | undefined => {
      const o = schema.find((x) => x.name.toUpperCase() === name);
      if (o && (o.type !== 'table' || /^\s*CREATE\s+VIRTUAL\b/i.test(o.sql ?? ''))) {
        throw new Error(`${file}: ${name} is ${o.type === 'view' ? 'a view' : 'a virtual table'}, not a table (an RDS v3 file holds plain tables; its SQL is not run)`);
      }
      return o?.name;
    };
    const fileTable = table('FILE');
    if (!fileTable) throw new Error(`${file}: an SQLite file without the RDS v3 FILE table (it has: ${objects.slice(0, 10).map((o) => quoteContent(o)).join(', ') || 'no tables'})`);
    const columns = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(fileTable) as string[]).map((c) => c.toLowerCase()));
    const hashColumns = (['sha256', 'sha1', 'md5'] as const).filter((c) => columns.has(c));
    if (hashColumns.length === 0) throw new Error(`${file}: FILE has none of the RDS v3 hash columns sha256, sha1, md5`);
    const versionTable = table('VERSION');
    const version = versionTable ? checkedVersion(file, db.prepare(`SELECT version FROM "${versionTable}" LIMIT 1`).pluck().get()) : null;
    const order = hashColumns[0];
    const stmt = db.prepare(`SELECT ${hashColumns.join(', ')} FROM "${fileTable}" ORDER BY ${order}`);
    function* records(): Generator<HashSetRecord> {
      try {
        let n = 0;
        for (const row of stmt.iterate() as Iterable<Record<string, unknown>>) {
          n++;
          yield strongestRecord(row, null, `${file}: FILE row ${n}`);
        }
      } catch (err) {
        const message = (err as Error).message;
        throw new Error(message.startsWith(file) ? message : `${file}: reading FILE failed (${message})`);
      } finally {
        db.close();
      }
    }
    return { version, records: records() };
  } catch (err) {
    db.close();
    const message = (err as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: not a readable NSRL RDS v3 SQLite file (${message})`);
  }
}
