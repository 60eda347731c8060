// Known files: imported hash sets (NSRL RDS, Project VIC / CAID VICS, plain lists), the images they match, the
// VICS category each case category exports as, and the MD5/SHA-1 back-fill of images catalogued before those
// hashes existed. Plain functions over the catalog's connection (CatalogStore delegates here); schema in
// migrations/003_known_files.ts, where triggers keep known_matches current whenever an image's hashes change.
import type Database from 'better-sqlite3';
import { checkId } from './connection.ts';
import { CatalogError } from './errors.ts';
import { appendSessionAudit, audited } from './session.ts';
import type { HashSetInput, HashSetRecord, HashSetRow, KnownMatch, KnownStats, VicsCategoryRow } from './Interface.ts';

/** hash_type codes of hash_set_entries, by hex length and by name. */
export const HASH_TYPES = { md5: 1, sha1: 2, sha256: 3 } as const;
export const HASH_BYTES: Record<1 | 2 | 3, number> = { 1: 16, 2: 20, 3: 32 };

/**
 * Page cache of the staging database and of the catalog while the set is committed (KiB, negative as SQLite wants
 * it): records arrive in random order (VICS, text lists), and a cache holding the B-tree's upper levels keeps
 * those inserts from re-reading pages. 64 MiB each of the import's peak memory; restored afterwards.
 */
const IMPORT_CACHE_KIB = 65_536;
/** The private database a set is staged in (ATTACH '' makes a temporary file, removed when it is detached). */
const STAGING = 'hashset_staging';

const SET_COLUMNS = `s.id, s.name, s.format, s.kind, s.version, s.source_file AS sourceFile, s.source_sha256 AS sourceSha256,
  s.source_bytes AS sourceBytes, s.records, s.hash_count AS hashCount, s.imported_at AS importedAt,
  (SELECT count(*) FROM known_matches m WHERE m.set_id = s.id) AS matchedImages`;

/**
 * Imports a set in two steps so that the catalog's write lock is held only for the second, short one:
 *
 * 1. Staging (long: the source is read and validated): every record `records` yields goes into a private
 *    temporary database attached to this connection, keyed like hash_set_entries (a record repeating a hash is
 *    counted but stored once). Nothing in the catalog is written or locked, so other connections (the app's
 *    searches, which write their audit records) carry on. A throw from the reader (malformed input, cancel)
 *    drops the staging database and the catalog never saw the set.
 * 2. Commit: one IMMEDIATE transaction inserts the set row, copies the staged entries in key order (appends to
 *    the entry B-tree) and matches the set against every catalogued image. Measured in bench/hashset-import.ts
 *    (hashset_commit_s: the time other writers wait).
 */
export function importHashSet(
  db: Database.Database,
  input: HashSetInput,
  records: Iterable<HashSetRecord>,
): HashSetRow {
  const name = input.name.trim();
  if (!name) throw new CatalogError('invalid', 'name', 'importHashSet: name must be non-empty');
  const cacheBefore = db.pragma('cache_size', { simple: true }) as number;
  db.prepare(`ATTACH DATABASE '' AS ${STAGING}`).run();
  try {
    db.pragma(`${STAGING}.cache_size = -${IMPORT_CACHE_KIB}`);
    db.exec(`CREATE TABLE ${STAGING}.entries (hash BLOB NOT NULL, hash_type INTEGER NOT NULL, category TEXT,
      PRIMARY KEY (hash, hash_type)) WITHOUT ROWID`);
    const insert = db.prepare(`INSERT INTO ${STAGING}.entries (hash, hash_type, category) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`);
    // A deferred transaction that writes only the staging database locks only the staging database.
    const count = db.transaction((): number => {
      let n = 0;
      for (const r of records) {
        insert.run(r.hash, r.type, r.category);
        n++;
      }
      return n;
    })();
    // The version is known only once the whole source is read (a VICS file may name it last).
    const version = input.resolveVersion?.() ?? input.version ?? null;
    db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`);
    return db
      .transaction((): HashSetRow => {
        if (db.prepare(`SELECT 1 FROM hash_sets WHERE name = ?`).get(name)) {
          throw new CatalogError('conflict', 'name', `hash set '${name}' already exists in this catalog; give the import another --name`);
        }
        const { id } = db
          .prepare(`INSERT INTO hash_sets (name, format, kind, version, source_file, source_sha256, source_bytes, records,
            hash_count, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?) RETURNING id`)
          .get(name, input.format, input.kind, version, input.sourceFile, input.sourceSha256, input.sourceBytes, count, new Date().toISOString()) as {
          id: number;
        };
        const stored = db
          .prepare(`INSERT INTO hash_set_entries (hash, hash_type, set_id, category)
            SELECT hash, hash_type, ?, category FROM ${STAGING}.entries ORDER BY hash, hash_type`)
          .run(id).changes;
        db.prepare(`UPDATE hash_sets SET hash_count = ? WHERE id = ?`).run(stored, id);
        matchSet(db, id);
        const set = getHashSet(db, id)!;
        // In the same transaction: a set is never in the catalog without the record of where it came from.
        appendSessionAudit(db, 'hashset.imported', {
          setId: set.id,
          name: set.name,
          format: set.format,
          kind: set.kind,
          version: set.version,
          sourceFile: set.sourceFile,
          sourceSha256: set.sourceSha256,
          sourceBytes: set.sourceBytes,
          records: set.records,
          hashes: set.hashCount,
          matchedImages: set.matchedImages,
        });
        return set;
      })
      .immediate();
  } finally {
    db.pragma(`cache_size = ${cacheBefore}`);
    db.prepare(`DETACH DATABASE ${STAGING}`).run();
  }
}

/** Matches every 'ok' image against set `setId`, one indexed lookup per image and hash kind. */
function matchSet(db: Database.Database, setId: number): void {
  for (const [column, type] of [['sha256', 3], ['sha1', 2], ['md5', 1]] as const) {
    db.prepare(`INSERT OR IGNORE INTO known_matches (image_id, set_id, category)
      SELECT i.id, e.set_id, e.category FROM images i
      JOIN hash_set_entries e ON e.hash = unhex(i.${column}) AND e.hash_type = ${type} AND e.set_id = ?
      WHERE i.status = 'ok' AND i.${column} IS NOT NULL`).run(setId);
  }
}

export function getHashSet(db: Database.Database, id: number): HashSetRow | undefined {
  return db.prepare(`SELECT ${SET_COLUMNS} FROM hash_sets s WHERE s.id = ?`).get(id) as HashSetRow | undefined;
}

export function listHashSets(db: Database.Database): HashSetRow[] {
  return db.prepare(`SELECT ${SET_COLUMNS} FROM hash_sets s ORDER BY s.id`).all() as HashSetRow[];
}

/** Deletes the set, its entries and its matches. */
export function deleteHashSet(db: Database.Database, id: number): void {
  checkId('deleteHashSet', id);
  audited(db, 'hashset.deleted', () => {
    const set = getHashSet(db, id);
    if (!set || db.prepare(`DELETE FROM hash_sets WHERE id = ?`).run(id).changes !== 1) throw new CatalogError('not-found', 'id', `deleteHashSet: no hash set with id ${id}`);
    return set;
  }, (set) => ({ setId: set.id, name: set.name, sourceSha256: set.sourceSha256, matchedImages: set.matchedImages }));
}

/** The sets image `imageId` is in, with the category each gives it. */
export function knownMatches(db: Database.Database, imageId: number): KnownMatch[] {
  return db
    .prepare(`SELECT s.id AS setId, s.name AS setName, s.format, s.kind, m.category FROM known_matches m
      JOIN hash_sets s ON s.id = m.set_id WHERE m.image_id = ? ORDER BY s.id`)
    .all(imageId) as KnownMatch[];
}

/**
 * Image counts by kind of set: an image in any of-interest set counts as of interest (flagging wins over hiding),
 * one only in ignorable sets as ignorable; unknown = 'ok' images in no set.
 */
export function knownStats(db: Database.Database): KnownStats {
  const row = db
    .prepare(`SELECT
      (SELECT count(*) FROM hash_sets) AS sets,
      (SELECT count(DISTINCT m.image_id) FROM known_matches m JOIN hash_sets s ON s.id = m.set_id WHERE s.kind = 'of-interest') AS ofInterest,
      (SELECT count(DISTINCT m.image_id) FROM known_matches m JOIN hash_sets s ON s.id = m.set_id WHERE s.kind = 'ignorable'
         AND NOT EXISTS (SELECT 1 FROM known_matches m2 JOIN hash_sets s2 ON s2.id = m2.set_id
                         WHERE m2.image_id = m.image_id AND s2.kind = 'of-interest')) AS ignorable,
      (SELECT count(*) FROM images i WHERE i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM known_matches m WHERE m.image_id = i.id)) AS unknown`)
    .get() as { sets: number; ofInterest: number; ignorable: number; unknown: number };
  const categories = db
    .prepare(`SELECT m.category, count(DISTINCT m.image_id) AS images FROM known_matches m JOIN hash_sets s ON s.id = m.set_id
      WHERE s.kind = 'of-interest' AND m.category IS NOT NULL GROUP BY m.category ORDER BY m.category`)
    .all() as { category: string; images: number }[];
  return { ...row, ofInterestByCategory: Object.fromEntries(categories.map((c) => [c.category, c.images])) };
}

/** 'ok' images still lacking MD5 or SHA-1 (catalogued before version 3), in id order after `afterId`. */
export function imagesMissingHashes(db: Database.Database, afterId: number, limit: number): { id: number; path: string; sha256: string }[] {
  return db
    .prepare(`SELECT id, path, sha256 FROM images WHERE status = 'ok' AND (md5 IS NULL OR sha1 IS NULL) AND id > ? ORDER BY id LIMIT ?`)
    .all(afterId, limit) as { id: number; path: string; sha256: string }[];
}

export function countImagesMissingHashes(db: Database.Database): number {
  return db.prepare(`SELECT count(*) FROM images WHERE status = 'ok' AND (md5 IS NULL OR sha1 IS NULL)`).pluck().get() as number;
}

/** Back-fills MD5 and SHA-1 of an 'ok' image whose SHA-256 they were computed with (refuses another SHA-256). */
export function setImageHashes(db: Database.Database, id: number, h: { sha256: string; md5: string; sha1: string }): void {
  checkId('setImageHashes', id);
  if (!/^[0-9a-f]{32}$/.test(h.md5)) throw new CatalogError('invalid', 'md5', `setImageHashes(${id}): md5 must be 32 lower-case hex digits`);
  if (!/^[0-9a-f]{40}$/.test(h.sha1)) throw new CatalogError('invalid', 'sha1', `setImageHashes(${id}): sha1 must be 40 lower-case hex digits`);
  const info = db.prepare(`UPDATE images SET md5 = ?, sha1 = ?, updated_at = ? WHERE id = ? AND status = 'ok' AND sha256 = ?`).run(h.md5, h.sha1, new Date().toISOString(), id, h.sha256);
  if (info.changes !== 1) throw new CatalogError('not-found', 'id', `setImageHashes(${id}): no 'ok' image with that id and SHA-256`);
}

export function listVicsCategories(db: Database.Database, caseId: number): VicsCategoryRow[] {
  return db
    .prepare(`SELECT id AS categoryId, name, vics_category AS vicsCategory FROM tag_categories WHERE case_id = ? ORDER BY hotkey`)
    .all(caseId) as VicsCategoryRow[];
}

/** Stores the VICS category case category `categoryId` exports as; null returns it to the default. */
export function setVicsCategory(db: Database.Database, categoryId: number, vicsCategory: number | null): void {
  checkId('setVicsCategory', categoryId);
  if (vicsCategory !== null && !(Number.isInteger(vicsCategory) && vicsCategory >= 0 && vicsCategory <= 99)) {
    throw new CatalogError('invalid', 'vicsCategory', `setVicsCategory(${categoryId}): VICS category must be an integer 0..99, got ${vicsCategory}`);
  }
  if (db.prepare(`UPDATE tag_categories SET vics_category = ? WHERE id = ?`).run(vicsCategory, categoryId).changes !== 1) {
    throw new CatalogError('not-found', 'categoryId', `setVicsCategory: no category with id ${categoryId}`);
  }
}
