// The SQLite implementation of CatalogStore: the one module that owns the catalog file and every SQL statement.
// Evidence folders are never touched here; the store writes only the catalog (and its -wal/-shm companions).
import { endianness, userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { appendAudit, auditHead, canonicalJson, canonicalSha256, listAudit, verifyAudit } from './audit.ts';
import type {
  AuditRecord,
  AuditVerification,
  CaseItem,
  CaseRow,
  CaseSummary,
  CatalogStats,
  CatalogStore,
  CategoryInput,
  CategoryRow,
  EmbeddingInput,
  EmbeddingRow,
  FailureRow,
  FileStat,
  HashSetInput,
  HashSetRecord,
  HashSetRow,
  QueryImageRow,
  ImageCounts,
  ImageMetadata,
  ImageRow,
  ImageStatus,
  ImageTag,
  IngestCounts,
  IngestedImage,
  IngestRunOptions,
  IngestRunRow,
  KnownMatch,
  KnownStats,
  IngestRunStatus,
  LoadedEmbeddings,
  LoadEmbeddingsOptions,
  NoteRow,
  PackInput,
  PackRow,
  Paging,
  RelevanceRow,
  SearchHitRecord,
  SearchInput,
  SearchRow,
  TagInput,
  VicsCategoryRow,
} from './Interface.ts';
import { duplicateStore, type DuplicateStore } from './duplicates.ts';
import { imageQueryStore, type ImageQueryStore } from './imageQueries.ts';
import * as hashsets from './hashsets.ts';
import * as queryImages from './queryImages.ts';
import { markInterruptedRuns, runOwner } from './ingestRuns.ts';
import { migrate } from './migrate.ts';

/** Folder next to the catalog for files the catalog refers to (thumbnails): `<catalog>.data`. */
export function catalogDataDir(catalogFile: string): string {
  return `${resolve(catalogFile)}.data`;
}

/** Opens (creating if needed) and migrates the catalog at `file`. `examiner` names who this session's audit records are by. */
export function openCatalog(file: string, options: { examiner?: string } = {}): CatalogStore {
  // Vectors and boxes are stored as the host's typed-array bytes; the format is little-endian.
  if (endianness() !== 'LE') throw new Error(`Cannot open catalog ${file}: this host is big-endian`);
  const abs = resolve(file);
  let db: Database.Database;
  try {
    db = new Database(abs);
    configureConnection(db);
  } catch (err) {
    throw new Error(`Cannot open catalog ${abs}: ${(err as Error).message}`, { cause: err });
  }
  try {
    migrate(db, abs);
    markInterruptedRuns(db);
    const store = new SqliteCatalogStore(db, abs);
    if (options.examiner !== undefined && options.examiner.trim() !== '') store.useExaminer(options.examiner);
    return store;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Per-connection settings every catalog connection needs. WAL lets searches read while ingest writes; NORMAL
 * sync in WAL mode can lose the last commits on power loss but never corrupts; foreign keys are off by default.
 */
export function configureConnection(db: Database.Database): void {
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}

const IMAGE_COLUMNS = `id, path, size, mtime_ms AS mtimeMs, status, error, sha256, md5, sha1, width, height, format,
  captured_at AS capturedAt, camera_make AS cameraMake, camera_model AS cameraModel, gps_lat AS gpsLat,
  gps_lon AS gpsLon, orientation, thumbnail, added_at AS addedAt, updated_at AS updatedAt`;
const PACK_COLUMNS = `id, version, name, dim, manifest, fingerprint, registered_at AS registeredAt`;
const CASE_COLUMNS = `id, name, description, created_at AS createdAt`;
const CATEGORY_COLUMNS = `id, case_id AS caseId, name, hotkey, colour, created_at AS createdAt`;
const SEARCH_COLUMNS = `id, case_id AS caseId, pack_id AS packId, checkpoint_hash AS checkpointHash, mode, params,
  result_count AS resultCount, duration_ms AS durationMs, created_at AS createdAt`;
const RUN_COLUMNS = `id, root, options, status, started_at AS startedAt, finished_at AS finishedAt, seen, added, updated,
  moved, unchanged, failed, error`;
const NOTE_COLUMNS = `case_id AS caseId, image_id AS imageId, text, updated_at AS updatedAt`;
const EMBEDDING_COLUMNS = `image_id, pack_id, n_vectors, dim, dtype, explicit_score, content_scores, created_at,
  boxes, vectors`;

/** One colour per hotkey, distinguishable on light and dark backgrounds. */
const CATEGORY_PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];
const DEFAULT_LIMIT = 100;

type PackDbRow = Omit<PackRow, 'manifest' | 'fingerprint'> & { manifest: string; fingerprint: string | null };
type SearchDbRow = Omit<SearchRow, 'params'> & { params: string };
type RunDbRow = Omit<IngestRunRow, 'options'> & { options: string | null };
type EmbeddingDbRow = {
  image_id: number;
  pack_id: string;
  n_vectors: number;
  dim: number;
  dtype: 'float16' | 'float32';
  explicit_score: number | null;
  content_scores: string | null;
  created_at: string;
  boxes: Buffer;
  vectors: Buffer;
};
type LoadSummary = { count: number; total: number; minDtype: string | null; maxDtype: string | null; minDim: number; maxDim: number };
type Stmt = Database.Statement<unknown[], unknown>;

function now(): string {
  return new Date().toISOString();
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/**
 * Runs `fn`, turning a SQLite constraint failure of kind `kind` into an Error with `message`. SQLite reports an
 * ON DELETE RESTRICT foreign key as SQLITE_CONSTRAINT_TRIGGER, hence the separate 'RESTRICT'.
 */
function onConstraint<T>(kind: 'UNIQUE' | 'FOREIGNKEY' | 'RESTRICT', message: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = sqliteCode(err);
    const hit =
      kind === 'UNIQUE'
        ? code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
        : code === (kind === 'FOREIGNKEY' ? 'SQLITE_CONSTRAINT_FOREIGNKEY' : 'SQLITE_CONSTRAINT_TRIGGER');
    if (hit) throw new Error(message(), { cause: err });
    throw err;
  }
}

function bytesOf(a: Float32Array | Uint16Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies a BLOB into a fresh, aligned typed array (a Buffer's byteOffset need not be aligned). */
function copyFloat32(buf: Buffer): Float32Array {
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function copyUint16(buf: Buffer): Uint16Array {
  const out = new Uint16Array(buf.byteLength / 2);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function checkId(what: string, id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new Error(`${what}: invalid id ${id}`);
}

function checkPaging(what: string, p: Paging | undefined): { limit: number; offset: number } {
  const limit = p?.limit ?? DEFAULT_LIMIT;
  const offset = p?.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`${what}: invalid limit ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${what}: invalid offset ${offset}`);
  return { limit, offset };
}

function checkFileStat(what: string, f: FileStat): void {
  if (typeof f.path !== 'string' || !isAbsolute(f.path)) throw new Error(`${what}: path must be absolute, got '${f.path}'`);
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw new Error(`${what}: invalid size ${f.size} for ${f.path}`);
  if (!Number.isFinite(f.mtimeMs)) throw new Error(`${what}: invalid mtimeMs ${f.mtimeMs} for ${f.path}`);
}

function checkRange(what: string, name: string, v: number | null | undefined, lo: number, hi: number): void {
  if (v != null && !(Number.isFinite(v) && v >= lo && v <= hi)) throw new Error(`${what}: ${name} ${v} is outside ${lo}..${hi}`);
}

function checkMeta(what: string, m: ImageMetadata): void {
  if (!/^[0-9a-f]{64}$/.test(m.sha256)) throw new Error(`${what}: sha256 must be 64 lower-case hex digits, got '${m.sha256}'`);
  if (m.md5 != null && !/^[0-9a-f]{32}$/.test(m.md5)) throw new Error(`${what}: md5 must be 32 lower-case hex digits, got '${m.md5}'`);
  if (m.sha1 != null && !/^[0-9a-f]{40}$/.test(m.sha1)) throw new Error(`${what}: sha1 must be 40 lower-case hex digits, got '${m.sha1}'`);
  for (const k of ['width', 'height'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 1) throw new Error(`${what}: invalid ${k} ${m[k]}`);
  }
  if (typeof m.format !== 'string' || m.format === '') throw new Error(`${what}: format must be a non-empty string`);
  checkRange(what, 'gpsLat', m.gpsLat, -90, 90);
  checkRange(what, 'gpsLon', m.gpsLon, -180, 180);
  if (m.orientation != null && !(Number.isInteger(m.orientation) && m.orientation >= 1 && m.orientation <= 8)) {
    throw new Error(`${what}: orientation ${m.orientation} is not an EXIF orientation (1..8)`);
  }
  const t = m.thumbnail;
  if (t != null && (t === '' || isAbsolute(t) || t.split(/[\\/]/).includes('..'))) {
    throw new Error(`${what}: thumbnail must be a path relative to the catalog data folder, got '${t}'`);
  }
}

function checkEmbedding(what: string, e: EmbeddingInput, packDim: number): void {
  const where = `${what} (pack ${e.packId})`;
  if (!Number.isSafeInteger(e.nVectors) || e.nVectors < 1) throw new Error(`${where}: invalid nVectors ${e.nVectors}`);
  if (e.dim !== packDim) throw new Error(`${where}: dim ${e.dim} does not match the pack's dim ${packDim}`);
  const expectedType = e.dtype === 'float32' ? Float32Array : e.dtype === 'float16' ? Uint16Array : null;
  if (expectedType === null) throw new Error(`${where}: unknown dtype '${String(e.dtype)}'`);
  if (!(e.vectors instanceof expectedType)) {
    throw new Error(`${where}: ${e.dtype} vectors must be a ${expectedType.name}`);
  }
  if (e.vectors.length !== e.nVectors * e.dim) {
    throw new Error(`${where}: vectors has ${e.vectors.length} values, expected nVectors × dim = ${e.nVectors * e.dim}`);
  }
  if (!(e.boxes instanceof Float32Array) || e.boxes.length !== e.nVectors * 4) {
    throw new Error(`${where}: boxes must be a Float32Array of nVectors × 4 = ${e.nVectors * 4} values`);
  }
  for (let i = 0; i < e.boxes.length; i++) {
    const v = e.boxes[i];
    if (!(v >= 0 && v <= 1)) throw new Error(`${where}: box value ${v} (row ${i >> 2}) is outside [0, 1]`);
  }
  if (e.boxes[0] !== 0 || e.boxes[1] !== 0 || e.boxes[2] !== 1 || e.boxes[3] !== 1) {
    throw new Error(`${where}: box row 0 must be the whole image (0, 0, 1, 1)`);
  }
  if (e.contentScores !== null) {
    if (!Array.isArray(e.contentScores) || e.contentScores.some((s) => !(Number.isFinite(s) && s >= 0 && s <= 1))) {
      throw new Error(`${where}: contentScores must be null or an array of probabilities in [0, 1]`);
    }
  }
  checkRange(where, 'explicitScore', e.explicitScore, 0, 1);
}

function packFromDb({ fingerprint, ...r }: PackDbRow): PackRow {
  return { ...r, manifest: JSON.parse(r.manifest) as unknown, ...(fingerprint === null ? {} : { fingerprint }) };
}

function runFromDb(r: RunDbRow): IngestRunRow {
  return { ...r, options: r.options === null ? null : (JSON.parse(r.options) as IngestRunOptions) };
}

function searchFromDb(r: SearchDbRow): SearchRow {
  return { ...r, params: JSON.parse(r.params) as Record<string, unknown> };
}

/** Every statement the store runs, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    imageById: p(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ?`),
    imageByPath: p(`SELECT ${IMAGE_COLUMNS} FROM images WHERE path = ?`),
    imagesByIds: p(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id IN (SELECT value FROM json_each(?))`),
    imagesBySha: p(`SELECT ${IMAGE_COLUMNS} FROM images WHERE sha256 = ? ORDER BY id`),
    insertPending: p(`INSERT INTO images (path, size, mtime_ms, status, added_at, updated_at)
      VALUES (?, ?, ?, 'pending', ?, ?) RETURNING id`),
    resetPending: p(`UPDATE images SET size = ?, mtime_ms = ?, status = 'pending', error = NULL, sha256 = NULL,
      md5 = NULL, sha1 = NULL, width = NULL, height = NULL, format = NULL, captured_at = NULL, camera_make = NULL, camera_model = NULL,
      gps_lat = NULL, gps_lon = NULL, orientation = NULL, thumbnail = NULL, updated_at = ? WHERE id = ?`),
    markOk: p(`UPDATE images SET status = 'ok', error = NULL, sha256 = @sha256, md5 = @md5, sha1 = @sha1, width = @width, height = @height,
      format = @format, captured_at = @capturedAt, camera_make = @cameraMake, camera_model = @cameraModel,
      gps_lat = @gpsLat, gps_lon = @gpsLon, orientation = @orientation, thumbnail = @thumbnail,
      updated_at = @updatedAt WHERE id = @id`),
    markFailed: p(`UPDATE images SET status = 'failed', error = ?, updated_at = ? WHERE id = ?`),
    moveImage: p(`UPDATE images SET path = ?, size = ?, mtime_ms = ?, updated_at = ? WHERE id = ?`),
    deleteImage: p(`DELETE FROM images WHERE id = ?`),
    listImages: p(`SELECT ${IMAGE_COLUMNS} FROM images ORDER BY id LIMIT ? OFFSET ?`),
    listImagesByStatus: p(`SELECT ${IMAGE_COLUMNS} FROM images WHERE status = ? ORDER BY id LIMIT ? OFFSET ?`),
    countByStatus: p(`SELECT status, count(*) AS n FROM images GROUP BY status`),
    listFailures: p(`SELECT id AS imageId, path, error, updated_at AS updatedAt FROM images
      WHERE status = 'failed' ORDER BY id LIMIT ? OFFSET ?`),

    packById: p(`SELECT ${PACK_COLUMNS} FROM model_packs WHERE id = ?`),
    packDim: p(`SELECT dim FROM model_packs WHERE id = ?`).pluck(),
    listPacks: p(`SELECT ${PACK_COLUMNS} FROM model_packs ORDER BY id`),
    upsertPack: p(`INSERT INTO model_packs (id, version, name, dim, manifest, fingerprint, registered_at)
      VALUES (@id, @version, @name, @dim, @manifest, @fingerprint, @registeredAt)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name, dim = excluded.dim,
        manifest = excluded.manifest, fingerprint = coalesce(excluded.fingerprint, fingerprint)`),

    putEmbedding: p(`INSERT OR REPLACE INTO embeddings (${EMBEDDING_COLUMNS})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    getEmbedding: p(`SELECT ${EMBEDDING_COLUMNS} FROM embeddings WHERE image_id = ? AND pack_id = ?`),
    deleteImageEmbeddings: p(`DELETE FROM embeddings WHERE image_id = ?`),
    countEmbeddings: p(`SELECT count(*) FROM embeddings`).pluck(),
    countPackEmbeddings: p(`SELECT count(*) FROM embeddings WHERE pack_id = ?`).pluck(),
    loadSummary: p(`SELECT count(*) AS count, coalesce(sum(n_vectors), 0) AS total, min(dtype) AS minDtype,
      max(dtype) AS maxDtype, min(dim) AS minDim, max(dim) AS maxDim
      FROM (SELECT n_vectors, dtype, dim FROM embeddings WHERE pack_id = ? AND image_id > ? ORDER BY image_id LIMIT ?)`),
    loadRows: p(`SELECT image_id, n_vectors, explicit_score, boxes, vectors FROM embeddings
      WHERE pack_id = ? AND image_id > ? ORDER BY image_id LIMIT ?`).raw(true),
    // Stage 2 of a search over an on-disk index: the candidates' rows by primary key (a JSON array of ids).
    loadSummaryOf: p(`SELECT count(*) AS count, coalesce(sum(n_vectors), 0) AS total, min(dtype) AS minDtype,
      max(dtype) AS maxDtype, min(dim) AS minDim, max(dim) AS maxDim
      FROM embeddings WHERE pack_id = ? AND image_id IN (SELECT value FROM json_each(?))`),
    loadRowsOf: p(`SELECT image_id, n_vectors, explicit_score, boxes, vectors FROM embeddings
      WHERE pack_id = ? AND image_id IN (SELECT value FROM json_each(?)) ORDER BY image_id`).raw(true),

    insertCase: p(`INSERT INTO cases (name, description, created_at) VALUES (?, ?, ?) RETURNING ${CASE_COLUMNS}`),
    caseById: p(`SELECT ${CASE_COLUMNS},
      (SELECT count(DISTINCT image_id) FROM image_tags t WHERE t.case_id = cases.id) AS taggedCount
      FROM cases WHERE id = ?`),
    listCases: p(`SELECT ${CASE_COLUMNS},
      (SELECT count(DISTINCT image_id) FROM image_tags t WHERE t.case_id = cases.id) AS taggedCount
      FROM cases ORDER BY created_at DESC, id DESC`),
    updateCase: p(`UPDATE cases SET name = ?, description = ? WHERE id = ? RETURNING ${CASE_COLUMNS}`),
    deleteCase: p(`DELETE FROM cases WHERE id = ?`),
    usedHotkeys: p(`SELECT hotkey FROM tag_categories WHERE case_id = ?`).pluck(),
    insertCategory: p(`INSERT INTO tag_categories (case_id, name, hotkey, colour, created_at)
      VALUES (?, ?, ?, ?, ?) RETURNING ${CATEGORY_COLUMNS}`),
    categoryById: p(`SELECT ${CATEGORY_COLUMNS} FROM tag_categories WHERE id = ?`),
    listCategories: p(`SELECT ${CATEGORY_COLUMNS} FROM tag_categories WHERE case_id = ? ORDER BY hotkey`),
    updateCategory: p(`UPDATE tag_categories SET name = ?, hotkey = ?, colour = ? WHERE id = ?
      RETURNING ${CATEGORY_COLUMNS}`),
    deleteCategory: p(`DELETE FROM tag_categories WHERE id = ?`),
    tag: p(`INSERT INTO image_tags (case_id, image_id, category_id, search_id, tagged_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`),
    untag: p(`DELETE FROM image_tags WHERE case_id = ? AND image_id = ? AND category_id = ?`),
    imageTags: p(`SELECT t.category_id AS categoryId, c.name, c.hotkey, c.colour, t.tagged_at AS taggedAt,
      t.search_id AS searchId, t.stack_tier AS stackTier, t.stack_of AS stackOf
      FROM image_tags t JOIN tag_categories c ON c.id = t.category_id
      WHERE t.case_id = ? AND t.image_id = ? ORDER BY c.hotkey`),
    caseTags: p(`SELECT t.image_id AS imageId, i.path, i.sha256, i.thumbnail, t.category_id AS categoryId, c.name,
      c.hotkey, c.colour, t.tagged_at AS taggedAt, t.search_id AS searchId, t.stack_tier AS stackTier, t.stack_of AS stackOf
      FROM image_tags t JOIN images i ON i.id = t.image_id JOIN tag_categories c ON c.id = t.category_id
      WHERE t.case_id = ? ORDER BY t.tagged_at, t.rowid`),
    caseNotes: p(`SELECT n.image_id AS imageId, i.path, i.sha256, i.thumbnail, n.text, n.updated_at AS updatedAt
      FROM notes n JOIN images i ON i.id = n.image_id WHERE n.case_id = ? ORDER BY n.updated_at, n.rowid`),
    setNote: p(`INSERT INTO notes (case_id, image_id, text, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (case_id, image_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
      RETURNING ${NOTE_COLUMNS}`),
    getNote: p(`SELECT ${NOTE_COLUMNS} FROM notes WHERE case_id = ? AND image_id = ?`),
    deleteNote: p(`DELETE FROM notes WHERE case_id = ? AND image_id = ?`),

    insertSearch: p(`INSERT INTO searches (case_id, pack_id, checkpoint_hash, mode, params, result_count,
      duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${SEARCH_COLUMNS}`),
    searchById: p(`SELECT ${SEARCH_COLUMNS} FROM searches WHERE id = ?`),
    listSearches: p(`SELECT ${SEARCH_COLUMNS} FROM searches ORDER BY id DESC LIMIT ? OFFSET ?`),
    listCaseSearches: p(`SELECT ${SEARCH_COLUMNS} FROM searches WHERE case_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`),

    startRun: p(`INSERT INTO ingest_runs (root, options, status, started_at, owner_pid, owner_host)
      VALUES (?, ?, 'running', ?, ?, ?) RETURNING ${RUN_COLUMNS}`),
    updateRun: p(`UPDATE ingest_runs SET seen = @seen, added = @added, updated = @updated, moved = @moved,
      unchanged = @unchanged, failed = @failed WHERE id = @id AND status = 'running'`),
    finishRun: p(`UPDATE ingest_runs SET status = @status, finished_at = @finishedAt, error = @error, seen = @seen,
      added = @added, updated = @updated, moved = @moved, unchanged = @unchanged, failed = @failed
      WHERE id = @id AND status = 'running' RETURNING ${RUN_COLUMNS}`),
    getSetting: p(`SELECT value FROM settings WHERE key = ?`).pluck(),
    insertHit: p(`INSERT INTO search_hits (search_id, rank, image_id, score, baseline_score, explicit_score, box, region_boxes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    searchHits: p(`SELECT image_id AS imageId, rank, score, baseline_score AS baselineScore, explicit_score AS explicitScore, box, region_boxes AS regionBoxes
      FROM search_hits WHERE search_id = ? ORDER BY rank`),
    caseRelevance: p(`SELECT r.image_id AS imageId, i.path, i.sha256, i.thumbnail, r.relevant FROM relevance r
      JOIN images i ON i.id = r.image_id WHERE r.case_id = ? ORDER BY r.judged_at, r.image_id`),
    getRelevance: p(`SELECT relevant FROM relevance WHERE case_id = ? AND image_id = ?`),
    putRelevance: p(`INSERT INTO relevance (case_id, image_id, relevant, search_id, judged_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (case_id, image_id) DO UPDATE SET relevant = excluded.relevant, search_id = excluded.search_id, judged_at = excluded.judged_at`),
    deleteRelevance: p(`DELETE FROM relevance WHERE case_id = ? AND image_id = ?`),
    listRelevance: p(`SELECT case_id AS caseId, image_id AS imageId, relevant, search_id AS searchId, judged_at AS judgedAt
      FROM relevance WHERE case_id = ? ORDER BY judged_at, image_id`),
    setSetting: p(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
    listRuns: p(`SELECT ${RUN_COLUMNS} FROM ingest_runs ORDER BY id DESC LIMIT ? OFFSET ?`),
  };
}

class SqliteCatalogStore implements CatalogStore {
  readonly file: string;
  readonly duplicates: DuplicateStore;
  readonly imageQueries: ImageQueryStore;
  private readonly db: Database.Database;
  private readonly s: ReturnType<typeof prepareStatements>;
  private sessionExaminer: string | null = null;

  constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.s = prepareStatements(db);
    this.duplicates = duplicateStore(db);
    this.imageQueries = imageQueryStore(db);
  }

  /**
   * Write transactions take the write lock up front (BEGIN IMMEDIATE). A deferred one that reads first fails
   * with SQLITE_BUSY_SNAPSHOT, without waiting, when another connection commits in between.
   */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A write and its audit record in one transaction; `data` returns null when nothing changed (nothing recorded). */
  private audited<T>(event: string, fn: () => T, data: (result: T) => Record<string, unknown> | null): T {
    return this.write(() => {
      const result = fn();
      const record = data(result);
      if (record) appendAudit(this.db, { examiner: this.examiner(), event, data: record, at: now() });
      return result;
    });
  }

  /** Several reads from one snapshot. */
  private read<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- images

  getImage(id: number): ImageRow | undefined {
    return this.s.imageById.get(id) as ImageRow | undefined;
  }

  getImageByPath(path: string): ImageRow | undefined {
    return this.s.imageByPath.get(path) as ImageRow | undefined;
  }

  getImages(ids: readonly number[]): ImageRow[] {
    for (const id of ids) checkId('getImages', id);
    const byId = new Map((this.s.imagesByIds.all(JSON.stringify(ids)) as ImageRow[]).map((r) => [r.id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  findImagesBySha256(sha256: string): ImageRow[] {
    return this.s.imagesBySha.all(sha256) as ImageRow[];
  }

  upsertPendingImage(file: FileStat): number {
    checkFileStat('upsertPendingImage', file);
    return this.write(() => this.upsertPending(file));
  }

  /** Must run inside a transaction. */
  private upsertPending(file: FileStat): number {
    const t = now();
    const existing = this.s.imageByPath.get(file.path) as ImageRow | undefined;
    if (existing === undefined) {
      return (this.s.insertPending.get(file.path, file.size, file.mtimeMs, t, t) as { id: number }).id;
    }
    if (existing.size !== file.size || existing.mtimeMs !== file.mtimeMs) {
      // The bytes changed: everything derived from them is stale.
      this.s.deleteImageEmbeddings.run(existing.id);
      this.s.resetPending.run(file.size, file.mtimeMs, t, existing.id);
    }
    return existing.id;
  }

  markImageOk(id: number, meta: ImageMetadata): void {
    checkId('markImageOk', id);
    checkMeta(`markImageOk(${id})`, meta);
    this.markOk(id, meta);
  }

  private markOk(id: number, m: ImageMetadata): void {
    const info = this.s.markOk.run({
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
    if (info.changes !== 1) throw new Error(`markImageOk: no image with id ${id}`);
  }

  markImageFailed(id: number, error: string): void {
    checkId('markImageFailed', id);
    if (typeof error !== 'string' || error === '') throw new Error(`markImageFailed(${id}): error text must be non-empty`);
    this.write(() => {
      if (this.s.markFailed.run(error, now(), id).changes !== 1) throw new Error(`markImageFailed: no image with id ${id}`);
      // A file that no longer decodes must not be searchable through vectors of its former bytes.
      this.s.deleteImageEmbeddings.run(id);
    });
  }

  moveImage(id: number, newPath: string, size: number, mtimeMs: number): void {
    checkId('moveImage', id);
    checkFileStat('moveImage', { path: newPath, size, mtimeMs });
    this.write(() => {
      if (!this.getImage(id)) throw new Error(`moveImage: no image with id ${id}`);
      const occupant = this.getImageByPath(newPath);
      if (occupant && occupant.id !== id) {
        // A scan may have queued the new path before hashing revealed the move: that placeholder gives way.
        if (occupant.status === 'ok') throw new Error(`moveImage(${id}): ${newPath} is already catalogued as image ${occupant.id}`);
        onConstraint(
          'RESTRICT',
          () => `moveImage(${id}): ${newPath} is held by image ${occupant.id}, which a case has tagged or annotated`,
          () => this.s.deleteImage.run(occupant.id),
        );
      }
      this.s.moveImage.run(newPath, size, mtimeMs, now(), id);
    });
  }

  deleteImage(id: number): void {
    checkId('deleteImage', id);
    onConstraint(
      'RESTRICT',
      () => `deleteImage(${id}): the image is tagged or annotated in a case; remove those first`,
      () => this.s.deleteImage.run(id),
    );
  }

  listImages(options?: Paging & { status?: ImageStatus }): ImageRow[] {
    const { limit, offset } = checkPaging('listImages', options);
    const status = options?.status;
    return (
      status === undefined ? this.s.listImages.all(limit, offset) : this.s.listImagesByStatus.all(status, limit, offset)
    ) as ImageRow[];
  }

  countImages(): ImageCounts {
    const counts: ImageCounts = { total: 0, pending: 0, ok: 0, failed: 0 };
    for (const r of this.s.countByStatus.all() as { status: ImageStatus; n: number }[]) {
      counts[r.status] = r.n;
      counts.total += r.n;
    }
    return counts;
  }

  listFailures(options?: Paging): FailureRow[] {
    const { limit, offset } = checkPaging('listFailures', options);
    return this.s.listFailures.all(limit, offset) as FailureRow[];
  }

  commitIngestedImage(image: IngestedImage): number {
    return this.commitIngestedImages([image])[0];
  }

  commitIngestedImages(images: readonly IngestedImage[]): number[] {
    return this.write(() => {
      // Validate every item before writing any, so a bad one fails fast without touching the batch.
      for (const img of images) {
        const what = `commitIngestedImage(${img.path})`;
        checkFileStat(what, img);
        checkMeta(what, img.meta);
        for (const e of img.embeddings) checkEmbedding(what, e, this.packDim(what, e.packId));
        if (img.perceptualHash !== undefined && !/^[0-9a-f]{16}$/.test(img.perceptualHash)) {
          throw new Error(`${what}: perceptualHash must be 16 lower-case hex digits`);
        }
      }
      return images.map((img) => {
        const id = this.upsertPending(img);
        this.markOk(id, img.meta);
        const t = now();
        for (const e of img.embeddings) this.writeEmbedding(id, e, t);
        if (img.perceptualHash !== undefined) this.duplicates.putPerceptualHash(img.meta.sha256, img.perceptualHash);
        return id;
      });
    });
  }

  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  // ---- packs

  registerPack(pack: PackInput): PackRow {
    if (typeof pack.id !== 'string' || pack.id === '') throw new Error('registerPack: id must be a non-empty string');
    if (!Number.isSafeInteger(pack.dim) || pack.dim < 1) throw new Error(`registerPack(${pack.id}): invalid dim ${pack.dim}`);
    const manifest = JSON.stringify(pack.manifest);
    if (manifest === undefined) throw new Error(`registerPack(${pack.id}): manifest is not JSON-serialisable`);
    if (pack.fingerprint !== undefined && !/^[0-9a-f]{64}$/.test(pack.fingerprint)) {
      throw new Error(`registerPack(${pack.id}): fingerprint must be 64 hex digits`);
    }
    return this.audited('pack.registered', () => {
      const existing = this.getPack(pack.id);
      if (existing?.fingerprint !== undefined && pack.fingerprint !== undefined && existing.fingerprint !== pack.fingerprint) {
        throw new Error(
          `model pack "${pack.id}" is already in catalog ${this.file} with another encoder (fingerprint ` +
            `${existing.fingerprint.slice(0, 12)}…, this pack's is ${pack.fingerprint.slice(0, 12)}…); a pack id is immutable ` +
            'in a catalog, so vectors of two encoders never mix: give the new pack a new id',
        );
      }
      if (existing && existing.dim !== pack.dim && this.countEmbeddings(pack.id) > 0) {
        throw new Error(
          `registerPack(${pack.id}): dim ${pack.dim} differs from the catalogued ${existing.dim} and the pack has embeddings; ` +
            'give the new pack a new id',
        );
      }
      this.s.upsertPack.run({
        id: pack.id,
        version: pack.version,
        name: pack.name,
        dim: pack.dim,
        manifest,
        fingerprint: pack.fingerprint ?? null,
        registeredAt: now(),
      });
      return this.getPack(pack.id)!;
    }, (row) => ({ packId: row.id, version: row.version, fingerprint: row.fingerprint ?? null, manifestSha256: manifestHash(row.manifest) }));
  }

  getPack(id: string): PackRow | undefined {
    const r = this.s.packById.get(id) as PackDbRow | undefined;
    return r && packFromDb(r);
  }

  listPacks(): PackRow[] {
    return (this.s.listPacks.all() as PackDbRow[]).map(packFromDb);
  }

  /** The registered dim of `packId`, without parsing its manifest (this runs once per ingested embedding). */
  private packDim(what: string, packId: string): number {
    const dim = this.s.packDim.get(packId) as number | undefined;
    if (dim === undefined) throw new Error(`${what}: model pack '${packId}' is not registered in the catalog`);
    return dim;
  }

  // ---- embeddings

  putEmbedding(imageId: number, embedding: EmbeddingInput): void {
    checkId('putEmbedding', imageId);
    checkEmbedding(`putEmbedding(${imageId})`, embedding, this.packDim('putEmbedding', embedding.packId));
    this.writeEmbedding(imageId, embedding, now());
  }

  private writeEmbedding(imageId: number, e: EmbeddingInput, createdAt: string): void {
    onConstraint(
      'FOREIGNKEY',
      () => `putEmbedding: no image with id ${imageId}`,
      () =>
        this.s.putEmbedding.run(
          imageId,
          e.packId,
          e.nVectors,
          e.dim,
          e.dtype,
          e.explicitScore,
          e.contentScores === null ? null : JSON.stringify(e.contentScores),
          createdAt,
          bytesOf(e.boxes),
          bytesOf(e.vectors),
        ),
    );
  }

  getEmbedding(imageId: number, packId: string): EmbeddingRow | undefined {
    const r = this.s.getEmbedding.get(imageId, packId) as EmbeddingDbRow | undefined;
    if (!r) return undefined;
    const common = {
      imageId: r.image_id,
      packId: r.pack_id,
      nVectors: r.n_vectors,
      dim: r.dim,
      boxes: copyFloat32(r.boxes),
      contentScores: r.content_scores === null ? null : (JSON.parse(r.content_scores) as number[]),
      explicitScore: r.explicit_score,
      createdAt: r.created_at,
    };
    return r.dtype === 'float32'
      ? { ...common, dtype: 'float32', vectors: copyFloat32(r.vectors) }
      : { ...common, dtype: 'float16', vectors: copyUint16(r.vectors) };
  }

  countEmbeddings(packId?: string): number {
    return (packId === undefined ? this.s.countEmbeddings.get() : this.s.countPackEmbeddings.get(packId)) as number;
  }

  loadEmbeddings(packId: string, options?: LoadEmbeddingsOptions): LoadedEmbeddings {
    const dim = this.packDim('loadEmbeddings', packId);
    const after = options?.afterImageId ?? 0;
    const limit = options?.limit ?? -1; // SQLite: a negative LIMIT means none
    if (!Number.isSafeInteger(after) || after < 0) throw new Error(`loadEmbeddings(${packId}): invalid afterImageId ${after}`);
    if (!Number.isSafeInteger(limit) || (options?.limit !== undefined && limit < 0)) {
      throw new Error(`loadEmbeddings(${packId}): invalid limit ${options?.limit}`);
    }
    return this.collectEmbeddings('loadEmbeddings', packId, dim, [packId, after, limit], this.s.loadSummary, this.s.loadRows);
  }

  loadEmbeddingsOf(packId: string, imageIds: readonly number[]): LoadedEmbeddings {
    const dim = this.packDim('loadEmbeddingsOf', packId);
    for (const id of imageIds) if (!Number.isSafeInteger(id) || id < 1) throw new Error(`loadEmbeddingsOf(${packId}): invalid image id ${id}`);
    const ids = JSON.stringify(imageIds);
    return this.collectEmbeddings('loadEmbeddingsOf', packId, dim, [packId, ids], this.s.loadSummaryOf, this.s.loadRowsOf);
  }

  /** Sizes, then copies, the selected embeddings into typed arrays (one read transaction: one snapshot for both). */
  private collectEmbeddings(
    fn: string,
    packId: string,
    dim: number,
    params: unknown[],
    summary: Database.Statement,
    rowsStatement: Database.Statement,
  ): LoadedEmbeddings {
    return this.read((): LoadedEmbeddings => {
      const sum = summary.get(...params) as LoadSummary;
      if (sum.count > 0 && sum.minDtype !== sum.maxDtype) {
        throw new Error(`${fn}(${packId}): the pack's embeddings mix float16 and float32; re-embed one of them`);
      }
      if (sum.count > 0 && (sum.minDim !== dim || sum.maxDim !== dim)) {
        throw new Error(`${fn}(${packId}): stored dims ${sum.minDim}..${sum.maxDim} differ from the pack's ${dim}`);
      }
      const dtype = (sum.minDtype ?? 'float32') as 'float16' | 'float32';
      const imageIds = new Uint32Array(sum.count);
      const offsets = new Uint32Array(sum.count + 1);
      const boxes = new Float32Array(sum.total * 4);
      const explicitScores = new Float32Array(sum.count);
      const vectors = dtype === 'float32' ? new Float32Array(sum.total * dim) : new Uint16Array(sum.total * dim);
      const boxBytes = new Uint8Array(boxes.buffer);
      const vecBytes = new Uint8Array(vectors.buffer);
      let i = 0;
      let row = 0;
      let vecByte = 0;
      for (const r of rowsStatement.iterate(...params) as IterableIterator<
        [number, number, number | null, Buffer, Buffer]
      >) {
        imageIds[i] = r[0];
        offsets[i] = row;
        explicitScores[i] = r[2] ?? NaN;
        boxBytes.set(r[3], row * 16);
        vecBytes.set(r[4], vecByte);
        vecByte += r[4].byteLength;
        row += r[1];
        i++;
      }
      offsets[i] = row;
      if (i !== sum.count || row !== sum.total) {
        throw new Error(`${fn}(${packId}): catalog changed during the load (${i}/${sum.count} images)`);
      }
      const common = { packId, dim, count: i, totalVectors: row, imageIds, offsets, boxes, explicitScores };
      return vectors instanceof Float32Array
        ? { ...common, dtype: 'float32', vectors }
        : { ...common, dtype: 'float16', vectors };
    });
  }

  // ---- cases, categories, tags, notes

  createCase(input: { name: string; description?: string; categories?: readonly (string | CategoryInput)[] }): CaseRow {
    const name = input.name?.trim();
    if (!name) throw new Error('createCase: name must be non-empty');
    return this.audited('case.created', () => {
      const row = onConstraint(
        'UNIQUE',
        () => `createCase: a case named '${name}' already exists`,
        () => this.s.insertCase.get(name, input.description ?? '', now()) as CaseRow,
      );
      const categories = (input.categories ?? []).map((c) => this.insertCategory(row.id, typeof c === 'string' ? { name: c } : c));
      return { row, categories };
    }, ({ row, categories }) => ({
      caseId: row.id,
      name: row.name,
      description: row.description,
      categories: categories.map((c) => ({ categoryId: c.id, name: c.name, hotkey: c.hotkey })),
    })).row;
  }

  getCase(id: number): CaseSummary | undefined {
    return this.s.caseById.get(id) as CaseSummary | undefined;
  }

  listCases(): CaseSummary[] {
    return this.s.listCases.all() as CaseSummary[];
  }

  updateCase(id: number, changes: { name?: string; description?: string }): CaseRow {
    checkId('updateCase', id);
    const current = this.getCase(id);
    if (!current) throw new Error(`updateCase: no case with id ${id}`);
    const name = changes.name === undefined ? current.name : changes.name.trim();
    if (!name) throw new Error(`updateCase(${id}): name must be non-empty`);
    return this.audited('case.updated', () => onConstraint(
      'UNIQUE',
      () => `updateCase(${id}): a case named '${name}' already exists`,
      () => this.s.updateCase.get(name, changes.description ?? current.description, id) as CaseRow,
    ), (row) => ({ caseId: id, name: row.name, description: row.description, before: { name: current.name, description: current.description } }));
  }

  deleteCase(id: number): void {
    checkId('deleteCase', id);
    this.audited('case.deleted', () => {
      if (this.s.deleteCase.run(id).changes !== 1) throw new Error(`deleteCase: no case with id ${id}`);
    }, () => ({ caseId: id }));
  }

  createCategory(caseId: number, input: CategoryInput): CategoryRow {
    checkId('createCategory', caseId);
    return this.audited('category.created', () => this.insertCategory(caseId, input), (c) => ({ caseId, categoryId: c.id, name: c.name, hotkey: c.hotkey }));
  }

  /** Must run inside a transaction (the free-hotkey choice and the insert must see the same state). */
  private insertCategory(caseId: number, input: CategoryInput): CategoryRow {
    const what = `createCategory(case ${caseId})`;
    if (!this.getCase(caseId)) throw new Error(`${what}: no case with id ${caseId}`);
    const name = input.name?.trim();
    if (!name) throw new Error(`${what}: category name must be non-empty`);
    let hotkey = input.hotkey;
    if (hotkey === undefined) {
      const used = new Set(this.s.usedHotkeys.all(caseId) as number[]);
      hotkey = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((k) => !used.has(k));
      if (hotkey === undefined) throw new Error(`${what}: the case already has a category on each hotkey 1..9`);
    }
    checkHotkey(what, hotkey);
    const colour = normaliseColour(what, input.colour ?? CATEGORY_PALETTE[hotkey - 1]);
    return onConstraint(
      'UNIQUE',
      () => `${what}: category name '${name}' or hotkey ${hotkey} is already used in this case`,
      () => this.s.insertCategory.get(caseId, name, hotkey, colour, now()) as CategoryRow,
    );
  }

  listCategories(caseId: number): CategoryRow[] {
    return this.s.listCategories.all(caseId) as CategoryRow[];
  }

  updateCategory(id: number, changes: Partial<CategoryInput>): CategoryRow {
    checkId('updateCategory', id);
    const what = `updateCategory(${id})`;
    const current = this.s.categoryById.get(id) as CategoryRow | undefined;
    if (!current) throw new Error(`updateCategory: no category with id ${id}`);
    const name = changes.name === undefined ? current.name : changes.name.trim();
    if (!name) throw new Error(`${what}: name must be non-empty`);
    const hotkey = changes.hotkey ?? current.hotkey;
    checkHotkey(what, hotkey);
    const colour = normaliseColour(what, changes.colour ?? current.colour);
    return this.audited('category.updated', () => onConstraint(
      'UNIQUE',
      () => `${what}: category name '${name}' or hotkey ${hotkey} is already used in this case`,
      () => this.s.updateCategory.get(name, hotkey, colour, id) as CategoryRow,
    ), (c) => ({ caseId: c.caseId, categoryId: id, name: c.name, hotkey: c.hotkey, colour: c.colour, before: { name: current.name, hotkey: current.hotkey, colour: current.colour } }));
  }

  deleteCategory(id: number): void {
    checkId('deleteCategory', id);
    this.audited('category.deleted', () => {
      if (this.s.deleteCategory.run(id).changes !== 1) throw new Error(`deleteCategory: no category with id ${id}`);
    }, () => ({ categoryId: id }));
  }

  tagImage(tag: TagInput): boolean {
    const { caseId, imageId, categoryId } = tag;
    const searchId = tag.searchId ?? null;
    return onConstraint(
      'FOREIGNKEY',
      () =>
        `tagImage: case ${caseId}, image ${imageId}, category ${categoryId}` +
        `${searchId === null ? '' : ` or search ${searchId}`} does not exist, or the category belongs to another case`,
      () => this.audited('case.tagged', () => this.s.tag.run(caseId, imageId, categoryId, searchId, now()).changes === 1,
        (added) => (added ? { caseId, imageId, categoryId, searchId, sha256: this.getImage(imageId)?.sha256 ?? null } : null)),
    );
  }

  untagImage(tag: Omit<TagInput, 'searchId'>): boolean {
    const { caseId, imageId, categoryId } = tag;
    return this.audited('case.untagged', () => this.s.untag.run(caseId, imageId, categoryId).changes === 1,
      (removed) => (removed ? { caseId, imageId, categoryId } : null));
  }

  getImageTags(caseId: number, imageId: number): ImageTag[] {
    return this.s.imageTags.all(caseId, imageId) as ImageTag[];
  }

  listCaseItems(caseId: number): CaseItem[] {
    type ItemHead = { imageId: number; path: string; sha256: string | null; thumbnail: string | null };
    // Map order is the order of first appearance: tags come sorted by (tagged_at, rowid), then notes.
    const items = new Map<number, CaseItem>();
    const itemFor = (r: ItemHead): CaseItem => {
      let item = items.get(r.imageId);
      if (!item) {
        item = { imageId: r.imageId, path: r.path, sha256: r.sha256, thumbnail: r.thumbnail, tags: [], note: null, relevant: null };
        items.set(r.imageId, item);
      }
      return item;
    };
    return this.read(() => {
      for (const r of this.s.caseTags.all(caseId) as (ItemHead & ImageTag)[]) {
        const { categoryId, name, hotkey, colour, taggedAt, searchId, stackTier, stackOf } = r;
        itemFor(r).tags.push({ categoryId, name, hotkey, colour, taggedAt, searchId, stackTier, stackOf });
      }
      for (const r of this.s.caseNotes.all(caseId) as (ItemHead & { text: string })[]) itemFor(r).note = r.text;
      for (const r of this.s.caseRelevance.all(caseId) as (ItemHead & { relevant: number })[]) itemFor(r).relevant = r.relevant === 1;
      return [...items.values()];
    });
  }

  setNote(caseId: number, imageId: number, text: string): NoteRow {
    if (typeof text !== 'string') throw new Error(`setNote(case ${caseId}, image ${imageId}): text must be a string`);
    return onConstraint(
      'FOREIGNKEY',
      () => `setNote: case ${caseId} or image ${imageId} does not exist`,
      () => this.audited('note.set', () => {
        const before = this.getNote(caseId, imageId)?.text ?? null;
        return { before, row: this.s.setNote.get(caseId, imageId, text, now()) as NoteRow };
      }, ({ before }) => (before === text ? null : { caseId, imageId, text, previous: before })).row,
    );
  }

  getNote(caseId: number, imageId: number): NoteRow | undefined {
    return this.s.getNote.get(caseId, imageId) as NoteRow | undefined;
  }

  deleteNote(caseId: number, imageId: number): boolean {
    return this.audited('note.cleared', () => {
      const before = this.getNote(caseId, imageId)?.text ?? null;
      return { before, removed: this.s.deleteNote.run(caseId, imageId).changes === 1 };
    }, ({ before, removed }) => (removed ? { caseId, imageId, previous: before } : null)).removed;
  }

  // ---- searches

  recordSearch(search: SearchInput): SearchRow {
    const what = `recordSearch(pack ${search.packId})`;
    if (search.mode !== 'baseline' && search.mode !== 'adaptive') throw new Error(`${what}: unknown mode '${String(search.mode)}'`);
    if (!Number.isSafeInteger(search.resultCount) || search.resultCount < 0) {
      throw new Error(`${what}: invalid resultCount ${search.resultCount}`);
    }
    if (!(Number.isFinite(search.durationMs) && search.durationMs >= 0)) throw new Error(`${what}: invalid durationMs ${search.durationMs}`);
    const params = JSON.stringify(search.params);
    if (params === undefined || params[0] !== '{') throw new Error(`${what}: params must be a JSON object`);
    const caseId = search.caseId ?? null;
    const hits = search.hits ?? [];
    hits.forEach((h, i) => checkHit(`${what}: hits[${i}]`, h, i + 1));
    const row = this.audited('search.run', () => {
      const r = onConstraint(
      'FOREIGNKEY',
      () => `${what}: pack '${search.packId}'${caseId === null ? '' : ` or case ${caseId}`} does not exist`,
      () =>
        this.s.insertSearch.get(
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
      for (const h of hits) {
        onConstraint('FOREIGNKEY', () => `${what}: hit image ${h.imageId} is not in the catalog`, () =>
          this.s.insertHit.run(r.id, h.rank, h.imageId, h.score, h.baselineScore, h.explicitScore, JSON.stringify(h.box), JSON.stringify(h.regionBoxes)));
      }
      return r;
    }, (r) => ({
      searchId: r.id,
      caseId,
      packId: search.packId,
      packManifestSha256: manifestHash(this.getPack(search.packId)?.manifest ?? null),
      checkpointHash: search.checkpointHash,
      mode: search.mode,
      params: search.params,
      resultCount: search.resultCount,
      resultImageIds: hits.map((h) => h.imageId),
    }));
    return searchFromDb(row);
  }

  getSearch(id: number): SearchRow | undefined {
    const r = this.s.searchById.get(id) as SearchDbRow | undefined;
    return r && searchFromDb(r);
  }

  listSearches(options?: Paging & { caseId?: number }): SearchRow[] {
    const { limit, offset } = checkPaging('listSearches', options);
    const caseId = options?.caseId;
    const rows = caseId === undefined ? this.s.listSearches.all(limit, offset) : this.s.listCaseSearches.all(caseId, limit, offset);
    return (rows as SearchDbRow[]).map(searchFromDb);
  }

  getSearchHits(searchId: number): SearchHitRecord[] {
    checkId('getSearchHits', searchId);
    type HitDbRow = Omit<SearchHitRecord, 'box' | 'regionBoxes'> & { box: string; regionBoxes: string };
    return (this.s.searchHits.all(searchId) as HitDbRow[]).map((r) => ({ ...r, box: JSON.parse(r.box), regionBoxes: JSON.parse(r.regionBoxes) }));
  }

  // ---- relevance

  setRelevance(input: { caseId: number; imageId: number; relevant: boolean | null; searchId?: number | null }): boolean {
    const { caseId, imageId, relevant } = input;
    const searchId = input.searchId ?? null;
    checkId('setRelevance', caseId);
    checkId('setRelevance', imageId);
    if (relevant !== null && typeof relevant !== 'boolean') throw new Error(`setRelevance(case ${caseId}, image ${imageId}): relevant must be true, false or null`);
    return this.audited(relevant === null ? 'relevance.cleared' : 'relevance.marked', () => {
      const before = this.s.getRelevance.get(caseId, imageId) as { relevant: number } | undefined;
      if (relevant === null) return before ? this.s.deleteRelevance.run(caseId, imageId).changes === 1 : false;
      if (before && Boolean(before.relevant) === relevant) return false;
      onConstraint('FOREIGNKEY', () => `setRelevance: case ${caseId}, image ${imageId} or search ${searchId} does not exist`, () =>
        this.s.putRelevance.run(caseId, imageId, relevant ? 1 : 0, searchId, now()));
      return true;
    }, (changed) => (changed ? { caseId, imageId, relevant, searchId } : null));
  }

  listRelevance(caseId: number): RelevanceRow[] {
    return (this.s.listRelevance.all(caseId) as (Omit<RelevanceRow, 'relevant'> & { relevant: number })[]).map((r) => ({ ...r, relevant: r.relevant === 1 }));
  }

  // ---- ingest runs

  startIngestRun(root: string, options?: IngestRunOptions): IngestRunRow {
    if (typeof root !== 'string' || !isAbsolute(root)) throw new Error(`startIngestRun: root must be absolute, got '${root}'`);
    const owner = runOwner();
    return this.audited('ingest.started', () => runFromDb(this.s.startRun.get(root, options ? JSON.stringify(options) : null, now(), owner.pid, owner.host) as RunDbRow), (run) => ({ runId: run.id, root, options: options ?? null }));
  }

  updateIngestRun(id: number, counts: IngestCounts): void {
    checkId('updateIngestRun', id);
    checkCounts('updateIngestRun', counts);
    if (this.s.updateRun.run({ id, ...pickCounts(counts) }).changes !== 1) {
      throw new Error(`updateIngestRun: no running ingest run with id ${id}`);
    }
  }

  finishIngestRun(
    id: number,
    status: Exclude<IngestRunStatus, 'running' | 'interrupted'>,
    counts: IngestCounts,
    error: string | null = null,
  ): IngestRunRow {
    checkId('finishIngestRun', id);
    checkCounts('finishIngestRun', counts);
    if (!['done', 'cancelled', 'failed'].includes(status)) throw new Error(`finishIngestRun(${id}): invalid status '${status}'`);
    return this.audited('ingest.finished', () => {
      const row = this.s.finishRun.get({ id, status, finishedAt: now(), error, ...pickCounts(counts) }) as RunDbRow | undefined;
      if (!row) throw new Error(`finishIngestRun: no running ingest run with id ${id}`);
      return runFromDb(row);
    }, (run) => ({ runId: run.id, root: run.root, status, error, ...pickCounts(counts) }));
  }

  listIngestRuns(options?: Paging): IngestRunRow[] {
    const { limit, offset } = checkPaging('listIngestRuns', options);
    return (this.s.listRuns.all(limit, offset) as RunDbRow[]).map(runFromDb);
  }

  // ---- settings

  getSetting(key: string): unknown {
    const value = this.s.getSetting.get(key) as string | undefined;
    return value === undefined ? undefined : (JSON.parse(value) as unknown);
  }

  setSetting(key: string, value: unknown): void {
    if (typeof key !== 'string' || key === '') throw new Error('setSetting: key must be a non-empty string');
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`setSetting(${key}): value is not JSON-serialisable`);
    this.audited('setting.changed', () => {
      const before = this.s.getSetting.get(key) as string | undefined;
      this.s.setSetting.run(key, json, now());
      return before;
    }, (before) => (before !== undefined && canonicalJson(JSON.parse(before)) === canonicalJson(value) ? null : { key, value }));
  }

  // ---- audit log

  examiner(): string {
    if (this.sessionExaminer) return this.sessionExaminer;
    const stored = this.getSetting('examiner');
    if (typeof stored === 'string' && stored.trim()) return stored;
    return osUserName();
  }

  /** This session's examiner, without storing it (a CLI run names itself without changing the catalog's default). */
  useExaminer(name: string): void {
    this.sessionExaminer = checkExaminer(name);
  }

  setExaminer(name: string): void {
    const checked = checkExaminer(name);
    this.sessionExaminer = checked;
    this.setSetting('examiner', checked);
  }

  appendAudit(event: string, data: Record<string, unknown>): AuditRecord {
    return this.write(() => appendAudit(this.db, { examiner: this.examiner(), event, data, at: now() }));
  }

  listAudit(options?: Paging): AuditRecord[] {
    const { limit, offset } = checkPaging('listAudit', options);
    return listAudit(this.db, limit, offset);
  }

  auditHead(): { records: number; headHash: string } {
    return this.read(() => auditHead(this.db));
  }

  verifyAudit(): AuditVerification {
    return this.read(() => verifyAudit(this.db));
  }

  // ---- query images (db/queryImages.ts)

  putQueryImage(id: string, name: string): QueryImageRow {
    return queryImages.putQueryImage(this.db, id, name);
  }

  getQueryImage(id: string): QueryImageRow | undefined {
    return queryImages.getQueryImage(this.db, id);
  }

  // ---- known files (db/hashsets.ts)

  importHashSet(input: HashSetInput, records: Iterable<HashSetRecord>): HashSetRow {
    return hashsets.importHashSet(this.db, input, records);
  }

  listHashSets(): HashSetRow[] {
    return hashsets.listHashSets(this.db);
  }

  deleteHashSet(id: number): void {
    checkId('deleteHashSet', id);
    hashsets.deleteHashSet(this.db, id);
  }

  getKnownMatches(imageId: number): KnownMatch[] {
    return hashsets.knownMatches(this.db, imageId);
  }

  knownStats(): KnownStats {
    return this.read(() => hashsets.knownStats(this.db));
  }

  listImagesMissingHashes(afterId: number, limit: number): { id: number; path: string; sha256: string }[] {
    return hashsets.imagesMissingHashes(this.db, afterId, limit);
  }

  countImagesMissingHashes(): number {
    return hashsets.countImagesMissingHashes(this.db);
  }

  setImageHashes(id: number, hashes: { sha256: string; md5: string; sha1: string }): void {
    checkId('setImageHashes', id);
    hashsets.setImageHashes(this.db, id, hashes);
  }

  listVicsCategories(caseId: number): VicsCategoryRow[] {
    return hashsets.listVicsCategories(this.db, caseId);
  }

  setVicsCategory(categoryId: number, vicsCategory: number | null): void {
    checkId('setVicsCategory', categoryId);
    hashsets.setVicsCategory(this.db, categoryId, vicsCategory);
  }

  // ---- whole catalog

  stats(): CatalogStats {
    return this.read((): CatalogStats => {
      const c = this.countImages();
      return {
        images: c.total,
        pending: c.pending,
        ok: c.ok,
        failed: c.failed,
        embeddings: this.countEmbeddings(),
        packs: this.listPacks().map((p) => ({ ...p, embeddings: this.countEmbeddings(p.id) })),
      };
    });
  }

  close(): void {
    if (!this.db.open) return;
    // Keeps the query planner's statistics fresh at almost no cost (SQLite's recommendation at close).
    this.db.pragma('optimize');
    this.db.close();
  }
}

function checkHit(what: string, h: SearchHitRecord, rank: number): void {
  if (h.rank !== rank) throw new Error(`${what}: rank ${h.rank} out of order (expected ${rank})`);
  checkId(what, h.imageId);
  if (!Number.isFinite(h.score) || !Number.isFinite(h.baselineScore)) throw new Error(`${what}: scores must be finite`);
  if (!(h.explicitScore >= 0 && h.explicitScore <= 1)) throw new Error(`${what}: explicitScore must lie in 0..1`);
  for (const b of [h.box, ...h.regionBoxes]) {
    if (![b.x, b.y, b.w, b.h].every(Number.isFinite)) throw new Error(`${what}: a box has a non-finite coordinate`);
  }
}

/** SHA-256 of a pack manifest's canonical JSON: names exactly which pack build a search used. */
function manifestHash(manifest: unknown): string | null {
  return manifest === null || manifest === undefined ? null : canonicalSha256(manifest);
}

function checkExaminer(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!trimmed || trimmed.length > 200 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new Error('examiner: the name must be 1–200 printable characters');
  }
  return trimmed;
}

function osUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function checkHotkey(what: string, hotkey: number): void {
  if (!Number.isInteger(hotkey) || hotkey < 1 || hotkey > 9) throw new Error(`${what}: hotkey ${hotkey} is not 1..9`);
}

function normaliseColour(what: string, colour: string): string {
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new Error(`${what}: colour must be '#rrggbb', got '${colour}'`);
  return colour.toLowerCase();
}

function pickCounts(c: IngestCounts): IngestCounts {
  return { seen: c.seen, added: c.added, updated: c.updated, moved: c.moved, unchanged: c.unchanged, failed: c.failed };
}

function checkCounts(what: string, c: IngestCounts): void {
  for (const [k, v] of Object.entries(pickCounts(c))) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${what}: invalid count ${k} = ${v}`);
  }
}
