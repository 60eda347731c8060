// Reader for NSRL RDS v3, the SQLite publication (full, modern, android, iOS, legacy and their "minimal" variants
// share it): FILE (sha256, sha1, md5, crc32, file_name, file_size, package_id) with PKG, OS, MFG and VERSION beside
// it. Only FILE's hashes matter for known-file filtering; it is read in sha256 order (its primary key starts with
// sha256, so SQLite walks that index and the catalog's entry B-tree is appended to in order), one row at a time.
import Database from 'better-sqlite3';
import type { HashSetRecord } from '../../../db/Interface.ts';
import { strongestRecord } from './records.ts';

export interface RdsSource {
  /** VERSION.version (e.g. '2024.03.1'), or null when the file has no VERSION table. */
  version: string | null;
  records: Iterable<HashSetRecord>;
}

/** Opens `file` read-only; throws naming the file for anything that is not an RDS v3 database. */
export function readRds(file: string): RdsSource {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`${file}: cannot be opened as an NSRL RDS v3 SQLite file (${(err as Error).message})`);
  }
  try {
    const objects = db.prepare(`SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')`).pluck().all() as string[];
    const fileTable = objects.find((n) => n.toUpperCase() === 'FILE');
    if (!fileTable) throw new Error(`${file}: an SQLite file without the RDS v3 FILE table (it has: ${objects.slice(0, 10).join(', ') || 'no tables'})`);
    const columns = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(fileTable) as string[]).map((c) => c.toLowerCase()));
    const hashColumns = (['sha256', 'sha1', 'md5'] as const).filter((c) => columns.has(c));
    if (hashColumns.length === 0) throw new Error(`${file}: FILE has none of the RDS v3 hash columns sha256, sha1, md5`);
    const versionTable = objects.find((n) => n.toUpperCase() === 'VERSION');
    const version = versionTable ? ((db.prepare(`SELECT version FROM "${versionTable}" LIMIT 1`).pluck().get() as string | undefined) ?? null) : null;
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
    return { version: version === null ? null : String(version), records: records() };
  } catch (err) {
    db.close();
    const message = (err as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: not a readable NSRL RDS v3 SQLite file (${message})`);
  }
}
