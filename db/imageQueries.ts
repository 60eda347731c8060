// Reading the catalog by image facts: the search filters (which images a search may return — applied inside the
// search, before its top N is cut) and the image panel's facts. Plain functions over the database, reached
// through CatalogStore.imageQueries.
import type Database from 'better-sqlite3';
import type { SearchFilter } from '../electron/shared/api.ts';

/** The search filter of the API contract: its definition lives there, so the renderer and the engine share it. */
export type ImageFilter = SearchFilter;

/** A malformed filter field (named in the message): the caller's input, not the catalog's fault. */
export class FilterError extends Error {}

export const CAPTURE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?$/;

/** Everything the image panel shows about one image. */
export interface ImageFacts {
  imageId: number;
  path: string;
  size: number;
  format: string | null;
  width: number | null;
  height: number | null;
  sha256: string | null;
  phash: string | null;
  capturedAt: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  gpsLat: number | null;
  gpsLon: number | null;
  orientation: number | null;
}

export interface ImageQueryStore {
  /** True when the filter narrows nothing (the search then skips it). */
  isEmpty(filter: ImageFilter): boolean;
  /** Ids of the 'ok' images the filter allows, ascending. Throws naming the field for a malformed one. */
  matchingImageIds(filter: ImageFilter): number[];
  getImageFacts(imageId: number): ImageFacts | undefined;
}

export function imageQueryStore(db: Database.Database): ImageQueryStore {
  const facts = db.prepare(`SELECT i.id AS imageId, i.path, i.size, i.format, i.width, i.height, i.sha256, h.phash,
      i.captured_at AS capturedAt, i.camera_make AS cameraMake, i.camera_model AS cameraModel, i.gps_lat AS gpsLat,
      i.gps_lon AS gpsLon, i.orientation
    FROM images i LEFT JOIN perceptual_hashes h ON h.sha256 = i.sha256 WHERE i.id = ?`);
  return {
    isEmpty: (filter) => Object.values(filter).every((v) => v === undefined),
    matchingImageIds(filter) {
      const { where, params } = filterSql(filter);
      return db.prepare(`SELECT id FROM images i WHERE ${where.join(' AND ')} ORDER BY id`).pluck().all(...params) as number[];
    },
    getImageFacts: (imageId) => facts.get(imageId) as ImageFacts | undefined,
  };
}

/** The filter as SQL conditions over `images i` with bound parameters (never interpolated values). */
export function filterSql(filter: ImageFilter): { where: string[]; params: (string | number)[] } {
  const where = [`i.status = 'ok'`];
  const params: (string | number)[] = [];
  if (filter.folderPrefix !== undefined) {
    const f = filter.folderPrefix;
    if (typeof f !== 'string' || !f.startsWith('/')) throw new FilterError(`filter.folderPrefix must be an absolute folder path, got ${JSON.stringify(f)}`);
    const prefix = f.endsWith('/') ? f : `${f}/`;
    where.push(`substr(i.path, 1, ?) = ?`);
    params.push(prefix.length, prefix);
  }
  for (const [field, op] of [['capturedFrom', '>='], ['capturedTo', '<=']] as const) {
    const v = filter[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !CAPTURE_TIME.test(v)) throw new FilterError(`filter.${field} must be YYYY-MM-DD[THH[:MM[:SS]]], got ${JSON.stringify(v)}`);
    where.push(`i.captured_at IS NOT NULL AND substr(i.captured_at, 1, ?) ${op} ?`);
    params.push(v.length, v);
  }
  for (const [field, column] of [['cameraMake', 'camera_make'], ['cameraModel', 'camera_model']] as const) {
    const v = filter[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') throw new FilterError(`filter.${field} must be a non-empty string`);
    where.push(`instr(lower(i.${column}), lower(?)) > 0`);
    params.push(v.trim());
  }
  if (filter.hasGps !== undefined) {
    if (typeof filter.hasGps !== 'boolean') throw new FilterError('filter.hasGps must be true or false');
    where.push(filter.hasGps ? 'i.gps_lat IS NOT NULL' : 'i.gps_lat IS NULL');
  }
  if (filter.tagged !== undefined) {
    const { caseId, state, categoryId } = filter.tagged;
    if (!Number.isSafeInteger(caseId) || caseId < 1) throw new FilterError(`filter.tagged.caseId must be a case id, got ${JSON.stringify(caseId)}`);
    if (state !== 'tagged' && state !== 'untagged') throw new FilterError(`filter.tagged.state must be "tagged" or "untagged", got ${JSON.stringify(state)}`);
    if (categoryId !== undefined && (!Number.isSafeInteger(categoryId) || categoryId < 1)) throw new FilterError(`filter.tagged.categoryId must be a category id, got ${JSON.stringify(categoryId)}`);
    where.push(`${state === 'untagged' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.case_id = ?${categoryId === undefined ? '' : ' AND t.category_id = ?'})`);
    params.push(caseId, ...(categoryId === undefined ? [] : [categoryId]));
  }
  return { where, params };
}
