// Brings a catalog's schema up to date. Each migration runs in its own transaction together with the bump of
// `PRAGMA user_version` (stored in the database header, so it commits or rolls back with the schema change):
// a crash or a failing migration leaves the catalog at the last version that fully applied.
import type BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

export function schemaVersion(db: BetterSqlite3.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the migrations `file` lacks; returns the resulting version. Refuses a catalog newer than this build. */
export function migrate(
  db: BetterSqlite3.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`Migration list is out of order: entry ${i} ('${m.name}') has version ${m.version}, expected ${i + 1}`);
    }
  });
  const latest = migrations.length;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new Error(
      `Catalog ${file} has schema version ${current}, newer than this build of QuARI workstation understands ` +
        `(${latest}); open it with the newer version that wrote it`,
    );
  }
  for (const m of migrations.slice(current)) {
    // IMMEDIATE: take the write lock before reading anything, so two processes opening the same old catalog
    // cannot both decide to apply the same migration.
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new Error(`Catalog ${file}: migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
