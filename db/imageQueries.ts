// Reading the catalog by image facts: the search filters (which images a search may return — applied inside the
// search, before its top N is cut) and the image panel's facts. Plain functions over the database, reached
// through CatalogStore.imageQueries.
import type Database from 'better-sqlite3';
import type { SearchFilter } from '../electron/shared/api.ts';
import { CatalogError } from './errors.ts';
import type { ImageRow, KnownMatch } from './Interface.ts';

/** The search filter of the API contract: its definition lives there, so the renderer and the engine share it. */
export type ImageFilter = SearchFilter;


export const CAPTURE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?$/;

/** Everything the image panel shows about one image: the image row's facts (one definition, in Interface.ts) and its pHash. */
export type ImageFacts = Pick<
  ImageRow,
  'path' | 'size' | 'format' | 'width' | 'height' | 'md5' | 'sha1' | 'sha256' | 'capturedAt' | 'cameraMake' | 'cameraModel' | 'gpsLat' | 'gpsLon' | 'orientation'
> & { imageId: number; phash: string | null };

export interface ImageQueryStore {
  /** True when the filter narrows nothing (the search then skips it). */
  isEmpty(filter: ImageFilter): boolean;
  /** Ids of the 'ok' images the filter allows, ascending. Throws naming the field for a malformed one. */
  matchingImageIds(filter: ImageFilter): number[];
  getImageFacts(imageId: number): ImageFacts | undefined;
  /** One page of the 'ok' images the filter allows, in id order, and how many it allows in all. */
  browse(filter: ImageFilter, page: { offset: number; limit: number }): { total: number; imageIds: number[] };
  /** The hash sets each given image is in (images in none are left out). */
  knownMatchesOf(imageIds: readonly number[]): Map<number, KnownMatch[]>;
}

export function imageQueryStore(db: Database.Database): ImageQueryStore {
  const facts = db.prepare(`SELECT i.id AS imageId, i.path, i.size, i.format, i.width, i.height, i.md5, i.sha1, i.sha256, h.phash,
      i.captured_at AS capturedAt, i.camera_make AS cameraMake, i.camera_model AS cameraModel, i.gps_lat AS gpsLat,
      i.gps_lon AS gpsLon, i.orientation
    FROM images i LEFT JOIN perceptual_hashes h ON h.sha256 = i.sha256 WHERE i.id = ?`);
  const known = db.prepare(`SELECT m.image_id AS imageId, s.id AS setId, s.name AS setName, s.format, s.kind, m.category
    FROM known_matches m JOIN hash_sets s ON s.id = m.set_id WHERE m.image_id IN (SELECT value FROM json_each(?)) ORDER BY m.image_id, s.id`);
  return {
    isEmpty: (filter) => Object.values(filter).every((v) => v === undefined),
    matchingImageIds(filter) {
      const { where, params } = filterSql(filter);
      return db.prepare(`SELECT id FROM images i WHERE ${where.join(' AND ')} ORDER BY id`).pluck().all(...params) as number[];
    },
    getImageFacts: (imageId) => facts.get(imageId) as ImageFacts | undefined,
    browse(filter, { offset, limit }) {
      const { where, params } = filterSql(filter);
      const sql = `FROM images i WHERE ${where.join(' AND ')}`;
      return db.transaction(() => ({
        total: db.prepare(`SELECT count(*) ${sql}`).pluck().get(...params) as number,
        imageIds: db.prepare(`SELECT id ${sql} ORDER BY id LIMIT ? OFFSET ?`).pluck().all(...params, limit, offset) as number[],
      }))();
    },
    knownMatchesOf(imageIds) {
      const out = new Map<number, KnownMatch[]>();
      for (const r of known.all(JSON.stringify(imageIds)) as (KnownMatch & { imageId: number })[]) {
        const { imageId, ...match } = r;
        const list = out.get(imageId);
        if (list) list.push(match);
        else out.set(imageId, [match]);
      }
      return out;
    },
  };
}

/** The filter as SQL conditions over `images i` with bound parameters (never interpolated values). */
export function filterSql(filter: ImageFilter): { where: string[]; params: (string | number)[] } {
  const where = [`i.status = 'ok'`];
  const params: (string | number)[] = [];
  if (filter.folderPrefix !== undefined) {
    const f = filter.folderPrefix;
    if (typeof f !== 'string' || !f.startsWith('/')) throw new CatalogError('invalid', 'filter.folderPrefix', `filter.folderPrefix must be an absolute folder path, got ${JSON.stringify(f)}`);
    const prefix = f.endsWith('/') ? f : `${f}/`;
    where.push(`substr(i.path, 1, ?) = ?`);
    params.push(prefix.length, prefix);
  }
  for (const [field, op] of [['capturedFrom', '>='], ['capturedTo', '<=']] as const) {
    const v = filter[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !CAPTURE_TIME.test(v)) throw new CatalogError('invalid', `filter.${field}`, `filter.${field} must be YYYY-MM-DD[THH[:MM[:SS]]], got ${JSON.stringify(v)}`);
    where.push(`i.captured_at IS NOT NULL AND substr(i.captured_at, 1, ?) ${op} ?`);
    params.push(v.length, v);
  }
  for (const [field, column] of [['cameraMake', 'camera_make'], ['cameraModel', 'camera_model']] as const) {
    const v = filter[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') throw new CatalogError('invalid', `filter.${field}`, `filter.${field} must be a non-empty string`);
    where.push(`instr(lower(i.${column}), lower(?)) > 0`);
    params.push(v.trim());
  }
  if (filter.hasGps !== undefined) {
    if (typeof filter.hasGps !== 'boolean') throw new CatalogError('invalid', 'filter.hasGps', 'filter.hasGps must be true or false');
    where.push(filter.hasGps ? 'i.gps_lat IS NOT NULL' : 'i.gps_lat IS NULL');
  }
  if (filter.tagged !== undefined) {
    const { caseId, state, categoryId } = filter.tagged;
    if (!Number.isSafeInteger(caseId) || caseId < 1) throw new CatalogError('invalid', 'filter.tagged.caseId', `filter.tagged.caseId must be a case id, got ${JSON.stringify(caseId)}`);
    if (state !== 'tagged' && state !== 'untagged') throw new CatalogError('invalid', 'filter.tagged.state', `filter.tagged.state must be "tagged" or "untagged", got ${JSON.stringify(state)}`);
    if (categoryId !== undefined && (!Number.isSafeInteger(categoryId) || categoryId < 1)) throw new CatalogError('invalid', 'filter.tagged.categoryId', `filter.tagged.categoryId must be a category id, got ${JSON.stringify(categoryId)}`);
    where.push(`${state === 'untagged' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.case_id = ?${categoryId === undefined ? '' : ' AND t.category_id = ?'})`);
    params.push(caseId, ...(categoryId === undefined ? [] : [categoryId]));
  }
  if (filter.known !== undefined) {
    const kind = (k: string) => `EXISTS (SELECT 1 FROM known_matches m JOIN hash_sets s ON s.id = m.set_id WHERE m.image_id = i.id AND s.kind = '${k}')`;
    if (filter.known === 'unknown') where.push('NOT EXISTS (SELECT 1 FROM known_matches m WHERE m.image_id = i.id)');
    // An image in an of-interest set stays, even when an ignorable set also lists it (flagging wins over hiding).
    else if (filter.known === 'not-ignorable') where.push(`(NOT ${kind('ignorable')} OR ${kind('of-interest')})`);
    else if (filter.known === 'of-interest') where.push(kind('of-interest'));
    else throw new CatalogError('invalid', 'filter.known', `filter.known must be "unknown", "not-ignorable" or "of-interest", got ${JSON.stringify(filter.known)}`);
  }
  return { where, params };
}
