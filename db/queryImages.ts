// Query photos of the search session: id (content address), the analyst's name for it, when it was first added.
// Plain functions over the catalog's connection (CatalogStore delegates here); schema in
// migrations/004_query_images.ts.
import type Database from 'better-sqlite3';
import type { QueryImageRow } from './Interface.ts';

/** Records a query photo; adding the same bytes again keeps the first row and renames it to the latest name. */
export function putQueryImage(db: Database.Database, id: string, name: string): QueryImageRow {
  return db
    .prepare(
      `INSERT INTO query_images (id, name, created_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name
       RETURNING id, name, created_at AS createdAt`,
    )
    .get(id, name, new Date().toISOString()) as QueryImageRow;
}

export function getQueryImage(db: Database.Database, id: string): QueryImageRow | undefined {
  return db.prepare(`SELECT id, name, created_at AS createdAt FROM query_images WHERE id = ?`).get(id) as QueryImageRow | undefined;
}
