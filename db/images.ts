// The catalog's images: one row per evidence file (path, stat, status, hashes and EXIF facts), from pending to
// ok or failed, moves, and the ingest commit that writes an image with its embeddings in one transaction. Plain
// functions taking the database (CatalogStore delegates here); schema in migrations/001_initial.ts.
import { isAbsolute } from 'node:path';
import { checkId, checkPaging, checkRange, now, sql, write, type Db } from './connection.ts';
import type { DuplicateStore } from './duplicates.ts';
import { checkEmbedding, writeEmbedding } from './embeddings.ts';
import { CatalogError, onConstraint } from './errors.ts';
import { packDim } from './packs.ts';
import type { FailureRow, FileStat, ImageCounts, ImageMetadata, ImageRow, ImageStatus, IngestedImage, Paging } from './Interface.ts';

const IMAGE_COLUMNS = `id, path, size, mtime_ms AS mtimeMs, status, error, sha256, md5, sha1, width, height, format,
  captured_at AS capturedAt, camera_make AS cameraMake, camera_model AS cameraModel, gps_lat AS gpsLat,
  gps_lon AS gpsLon, orientation, thumbnail, added_at AS addedAt, updated_at AS updatedAt`;

const invalid = (field: string, message: string) => new CatalogError('invalid', field, message);

function checkFileStat(what: string, f: FileStat): void {
  if (typeof f.path !== 'string' || !isAbsolute(f.path)) throw invalid('path', `${what}: path must be absolute, got '${f.path}'`);
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw invalid('size', `${what}: invalid size ${f.size} for ${f.path}`);
  if (!Number.isFinite(f.mtimeMs)) throw invalid('mtimeMs', `${what}: invalid mtimeMs ${f.mtimeMs} for ${f.path}`);
}

function checkMeta(what: string, m: ImageMetadata): void {
  if (!/^[0-9a-f]{64}$/.test(m.sha256)) throw invalid('sha256', `${what}: sha256 must be 64 lower-case hex digits, got '${m.sha256}'`);
  if (m.md5 != null && !/^[0-9a-f]{32}$/.test(m.md5)) throw invalid('md5', `${what}: md5 must be 32 lower-case hex digits, got '${m.md5}'`);
  if (m.sha1 != null && !/^[0-9a-f]{40}$/.test(m.sha1)) throw invalid('sha1', `${what}: sha1 must be 40 lower-case hex digits, got '${m.sha1}'`);
  for (const k of ['width', 'height'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 1) throw invalid(k, `${what}: invalid ${k} ${m[k]}`);
  }
  if (typeof m.format !== 'string' || m.format === '') throw invalid('format', `${what}: format must be a non-empty string`);
  checkRange(what, 'gpsLat', m.gpsLat, -90, 90);
  checkRange(what, 'gpsLon', m.gpsLon, -180, 180);
  if (m.orientation != null && !(Number.isInteger(m.orientation) && m.orientation >= 1 && m.orientation <= 8)) {
    throw invalid('orientation', `${what}: orientation ${m.orientation} is not an EXIF orientation (1..8)`);
  }
  const t = m.thumbnail;
  if (t != null && (t === '' || isAbsolute(t) || t.split(/[\\/]/).includes('..'))) {
    throw invalid('thumbnail', `${what}: thumbnail must be a path relative to the catalog data folder, got '${t}'`);
  }
}

export function getImage(db: Db, id: number): ImageRow | undefined {
  return sql(db, `SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ?`).get(id) as ImageRow | undefined;
}

export function getImageByPath(db: Db, path: string): ImageRow | undefined {
  return sql(db, `SELECT ${IMAGE_COLUMNS} FROM images WHERE path = ?`).get(path) as ImageRow | undefined;
}

/** Rows for `ids` in the same order; ids not in the catalog are skipped. */
export function getImages(db: Db, ids: readonly number[]): ImageRow[] {
  for (const id of ids) checkId('getImages', id);
  const rows = sql(db, `SELECT ${IMAGE_COLUMNS} FROM images WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as ImageRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export function findImagesBySha256(db: Db, sha256: string): ImageRow[] {
  return sql(db, `SELECT ${IMAGE_COLUMNS} FROM images WHERE sha256 = ? ORDER BY id`).all(sha256) as ImageRow[];
}

export function upsertPendingImage(db: Db, file: FileStat): number {
  checkFileStat('upsertPendingImage', file);
  return write(db, () => upsertPending(db, file));
}

/** Must run inside a transaction. */
function upsertPending(db: Db, file: FileStat): number {
  const t = now();
  const existing = getImageByPath(db, file.path);
  if (existing === undefined) {
    return (sql(db, `INSERT INTO images (path, size, mtime_ms, status, added_at, updated_at)
      VALUES (?, ?, ?, 'pending', ?, ?) RETURNING id`).get(file.path, file.size, file.mtimeMs, t, t) as { id: number }).id;
  }
  if (existing.size !== file.size || existing.mtimeMs !== file.mtimeMs) {
    // The bytes changed: everything derived from them is stale.
    deleteImageEmbeddings(db, existing.id);
    sql(db, `UPDATE images SET size = ?, mtime_ms = ?, status = 'pending', error = NULL, sha256 = NULL,
      md5 = NULL, sha1 = NULL, width = NULL, height = NULL, format = NULL, captured_at = NULL, camera_make = NULL, camera_model = NULL,
      gps_lat = NULL, gps_lon = NULL, orientation = NULL, thumbnail = NULL, updated_at = ? WHERE id = ?`).run(file.size, file.mtimeMs, t, existing.id);
  }
  return existing.id;
}

function deleteImageEmbeddings(db: Db, imageId: number): void {
  sql(db, `DELETE FROM embeddings WHERE image_id = ?`).run(imageId);
}

export function markImageOk(db: Db, id: number, meta: ImageMetadata): void {
  checkId('markImageOk', id);
  checkMeta(`markImageOk(${id})`, meta);
  markOk(db, id, meta);
}

function markOk(db: Db, id: number, m: ImageMetadata): void {
  const info = sql(db, `UPDATE images SET status = 'ok', error = NULL, sha256 = @sha256, md5 = @md5, sha1 = @sha1, width = @width, height = @height,
      format = @format, captured_at = @capturedAt, camera_make = @cameraMake, camera_model = @cameraModel,
      gps_lat = @gpsLat, gps_lon = @gpsLon, orientation = @orientation, thumbnail = @thumbnail,
      updated_at = @updatedAt WHERE id = @id`).run({
    id,
    sha256: m.sha256,
    md5: m.md5 ?? null,
    sha1: m.sha1 ?? null,
    width: m.width,
    height: m.height,
    format: m.format,
    capturedAt: m.capturedAt ?? null,
    cameraMake: m.cameraMake ?? null,
    cameraModel: m.cameraModel ?? null,
    gpsLat: m.gpsLat ?? null,
    gpsLon: m.gpsLon ?? null,
    orientation: m.orientation ?? null,
    thumbnail: m.thumbnail ?? null,
    updatedAt: now(),
  });
  if (info.changes !== 1) throw new CatalogError('not-found', 'id', `markImageOk: no image with id ${id}`);
}

export function markImageFailed(db: Db, id: number, error: string): void {
  checkId('markImageFailed', id);
  if (typeof error !== 'string' || error === '') throw invalid('error', `markImageFailed(${id}): error text must be non-empty`);
  write(db, () => {
    if (sql(db, `UPDATE images SET status = 'failed', error = ?, updated_at = ? WHERE id = ?`).run(error, now(), id).changes !== 1) {
      throw new CatalogError('not-found', 'id', `markImageFailed: no image with id ${id}`);
    }
    // A file that no longer decodes must not be searchable through vectors of its former bytes.
    deleteImageEmbeddings(db, id);
  });
}

export function moveImage(db: Db, id: number, newPath: string, size: number, mtimeMs: number): void {
  checkId('moveImage', id);
  checkFileStat('moveImage', { path: newPath, size, mtimeMs });
  write(db, () => {
    if (!getImage(db, id)) throw new CatalogError('not-found', 'id', `moveImage: no image with id ${id}`);
    const occupant = getImageByPath(db, newPath);
    if (occupant && occupant.id !== id) {
      // A scan may have queued the new path before hashing revealed the move: that placeholder gives way.
      if (occupant.status === 'ok') throw new CatalogError('conflict', 'path', `moveImage(${id}): ${newPath} is already catalogued as image ${occupant.id}`);
      onConstraint(
        'RESTRICT',
        'path',
        () => `moveImage(${id}): ${newPath} is held by image ${occupant.id}, which a case has tagged or annotated`,
        () => sql(db, `DELETE FROM images WHERE id = ?`).run(occupant.id),
      );
    }
    sql(db, `UPDATE images SET path = ?, size = ?, mtime_ms = ?, updated_at = ? WHERE id = ?`).run(newPath, size, mtimeMs, now(), id);
  });
}

export function deleteImage(db: Db, id: number): void {
  checkId('deleteImage', id);
  onConstraint(
    'RESTRICT',
    'id',
    () => `deleteImage(${id}): the image is tagged or annotated in a case; remove those first`,
    () => sql(db, `DELETE FROM images WHERE id = ?`).run(id),
  );
}

export function listImages(db: Db, options?: Paging & { status?: ImageStatus }): ImageRow[] {
  const { limit, offset } = checkPaging('listImages', options);
  const status = options?.status;
  return (
    status === undefined
      ? sql(db, `SELECT ${IMAGE_COLUMNS} FROM images ORDER BY id LIMIT ? OFFSET ?`).all(limit, offset)
      : sql(db, `SELECT ${IMAGE_COLUMNS} FROM images WHERE status = ? ORDER BY id LIMIT ? OFFSET ?`).all(status, limit, offset)
  ) as ImageRow[];
}

export function countImages(db: Db): ImageCounts {
  const counts: ImageCounts = { total: 0, pending: 0, ok: 0, failed: 0 };
  for (const r of sql(db, `SELECT status, count(*) AS n FROM images GROUP BY status`).all() as { status: ImageStatus; n: number }[]) {
    counts[r.status] = r.n;
    counts.total += r.n;
  }
  return counts;
}

export function listFailures(db: Db, options?: Paging): FailureRow[] {
  const { limit, offset } = checkPaging('listFailures', options);
  return sql(db, `SELECT id AS imageId, path, error, updated_at AS updatedAt FROM images
      WHERE status = 'failed' ORDER BY id LIMIT ? OFFSET ?`).all(limit, offset) as FailureRow[];
}

/** Each image row (inserted or updated by path, status ok) with its embeddings and pHash, in one transaction; ids in input order. */
export function commitIngestedImages(db: Db, images: readonly IngestedImage[], duplicates: Pick<DuplicateStore, 'putPerceptualHash'>): number[] {
  return write(db, () => {
    // Validate every item before writing any, so a bad one fails fast without touching the batch.
    for (const img of images) {
      const what = `commitIngestedImage(${img.path})`;
      checkFileStat(what, img);
      checkMeta(what, img.meta);
      for (const e of img.embeddings) checkEmbedding(what, e, packDim(db, what, e.packId));
      if (img.perceptualHash !== undefined && !/^[0-9a-f]{16}$/.test(img.perceptualHash)) {
        throw invalid('perceptualHash', `${what}: perceptualHash must be 16 lower-case hex digits`);
      }
    }
    return images.map((img) => {
      const id = upsertPending(db, img);
      markOk(db, id, img.meta);
      const t = now();
      for (const e of img.embeddings) writeEmbedding(db, id, e, t);
      if (img.perceptualHash !== undefined) duplicates.putPerceptualHash(img.meta.sha256, img.perceptualHash);
      return id;
    });
  });
}
