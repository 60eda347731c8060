// The search history: each search run (pack, checkpoint, mode, the request as JSON, timing) with its ranking
// (search_hits), recorded and audited in one transaction with the ranking's image ids. Plain functions taking the
// database (CatalogStore delegates here); schema in migrations/001_initial.ts and 007_investigation.ts.
import { checkId, checkPaging, now, sql, type Db } from './connection.ts';
import { CatalogError, onConstraint } from './errors.ts';
import type { Paging, SearchHitRecord, SearchInput, SearchRow } from './Interface.ts';
import { getPack, manifestHash } from './packs.ts';
import { audited } from './session.ts';

const SEARCH_COLUMNS = `id, case_id AS caseId, pack_id AS packId, checkpoint_hash AS checkpointHash, mode, params,
  result_count AS resultCount, duration_ms AS durationMs, created_at AS createdAt`;

type SearchDbRow = Omit<SearchRow, 'params'> & { params: string };

function searchFromDb(r: SearchDbRow): SearchRow {
  return { ...r, params: JSON.parse(r.params) as Record<string, unknown> };
}

function checkHit(what: string, h: SearchHitRecord, rank: number): void {
  const invalid = (field: string, message: string) => new CatalogError('invalid', field, `${what}: ${message}`);
  if (h.rank !== rank) throw invalid('rank', `rank ${h.rank} out of order (expected ${rank})`);
  checkId(what, h.imageId, 'imageId');
  if (!Number.isFinite(h.score) || !Number.isFinite(h.baselineScore)) throw invalid('score', 'scores must be finite');
  if (!(h.explicitScore >= 0 && h.explicitScore <= 1)) throw invalid('explicitScore', 'explicitScore must lie in 0..1');
  for (const b of [h.box, ...h.regionBoxes]) {
    if (![b.x, b.y, b.w, b.h].every(Number.isFinite)) throw invalid('box', 'a box has a non-finite coordinate');
  }
}

export function recordSearch(db: Db, search: SearchInput): SearchRow {
  const what = `recordSearch(pack ${search.packId})`;
  const invalid = (field: string, message: string) => new CatalogError('invalid', field, `${what}: ${message}`);
  if (search.mode !== 'baseline' && search.mode !== 'adaptive') throw invalid('mode', `unknown mode '${String(search.mode)}'`);
  if (!Number.isSafeInteger(search.resultCount) || search.resultCount < 0) throw invalid('resultCount', `invalid resultCount ${search.resultCount}`);
  if (!(Number.isFinite(search.durationMs) && search.durationMs >= 0)) throw invalid('durationMs', `invalid durationMs ${search.durationMs}`);
  const params = JSON.stringify(search.params);
  if (params === undefined || params[0] !== '{') throw invalid('params', 'params must be a JSON object');
  const caseId = search.caseId ?? null;
  const hits = search.hits ?? [];
  hits.forEach((h, i) => checkHit(`${what}: hits[${i}]`, h, i + 1));
  const row = audited(db, 'search.run', () => {
    const r = onConstraint(
      'FOREIGNKEY',
      'packId',
      () => `${what}: pack '${search.packId}'${caseId === null ? '' : ` or case ${caseId}`} does not exist`,
      () =>
        sql(db, `INSERT INTO searches (case_id, pack_id, checkpoint_hash, mode, params, result_count,
      duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${SEARCH_COLUMNS}`).get(
          caseId,
          search.packId,
          search.checkpointHash,
          search.mode,
          params,
          search.resultCount,
          search.durationMs,
          now(),
        ) as SearchDbRow,
    );
    const insertHit = sql(db, `INSERT INTO search_hits (search_id, rank, image_id, score, baseline_score, explicit_score, box, region_boxes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const h of hits) {
      onConstraint('FOREIGNKEY', 'imageId', () => `${what}: hit image ${h.imageId} is not in the catalog`, () =>
        insertHit.run(r.id, h.rank, h.imageId, h.score, h.baselineScore, h.explicitScore, JSON.stringify(h.box), JSON.stringify(h.regionBoxes)));
    }
    return r;
  }, (r) => ({
    searchId: r.id,
    caseId,
    packId: search.packId,
    packManifestSha256: manifestHash(getPack(db, search.packId)?.manifest ?? null),
    checkpointHash: search.checkpointHash,
    mode: search.mode,
    params: search.params,
    resultCount: search.resultCount,
    resultImageIds: hits.map((h) => h.imageId),
  }));
  return searchFromDb(row);
}

export function getSearch(db: Db, id: number): SearchRow | undefined {
  const r = sql(db, `SELECT ${SEARCH_COLUMNS} FROM searches WHERE id = ?`).get(id) as SearchDbRow | undefined;
  return r && searchFromDb(r);
}

/** Newest first; default limit 100. */
export function listSearches(db: Db, options?: Paging & { caseId?: number }): SearchRow[] {
  const { limit, offset } = checkPaging('listSearches', options);
  const caseId = options?.caseId;
  const rows =
    caseId === undefined
      ? sql(db, `SELECT ${SEARCH_COLUMNS} FROM searches ORDER BY id DESC LIMIT ? OFFSET ?`).all(limit, offset)
      : sql(db, `SELECT ${SEARCH_COLUMNS} FROM searches WHERE case_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`).all(caseId, limit, offset);
  return (rows as SearchDbRow[]).map(searchFromDb);
}

/** The recorded ranking of a search, best first (images deleted since are gone). */
export function getSearchHits(db: Db, searchId: number): SearchHitRecord[] {
  checkId('getSearchHits', searchId);
  type HitDbRow = Omit<SearchHitRecord, 'box' | 'regionBoxes'> & { box: string; regionBoxes: string };
  const rows = sql(db, `SELECT image_id AS imageId, rank, score, baseline_score AS baselineScore, explicit_score AS explicitScore, box, region_boxes AS regionBoxes
      FROM search_hits WHERE search_id = ? ORDER BY rank`).all(searchId) as HitDbRow[];
  return rows.map((r) => ({ ...r, box: JSON.parse(r.box), regionBoxes: JSON.parse(r.regionBoxes) }));
}
