// Opening a catalog: the one connection to the SQLite file (configured, migrated, interrupted runs marked) and the
// typed CatalogStore (Interface.ts) over it. The SQL lives in the per-domain modules this delegates to — images,
// packs, embeddings, cases, searches, ingestRuns, session (settings, examiner, audited writes), audit, hashsets,
// duplicates, imageQueries, queryImages — each a set of plain functions taking the database. Evidence folders
// are never touched here; the store writes only the catalog (and its -wal/-shm companions).
import { endianness } from 'node:os';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { auditHead, listAudit, verifyAudit } from './audit.ts';
import * as cases from './cases.ts';
import { checkPaging, read } from './connection.ts';
import { duplicateStore } from './duplicates.ts';
import * as embeddings from './embeddings.ts';
import * as hashsets from './hashsets.ts';
import { imageQueryStore } from './imageQueries.ts';
import * as images from './images.ts';
import * as ingestRuns from './ingestRuns.ts';
import type { CatalogStats, CatalogStore } from './Interface.ts';
import { migrate } from './migrate.ts';
import * as packs from './packs.ts';
import * as queryImages from './queryImages.ts';
import * as searches from './searches.ts';
import * as session from './session.ts';

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
    ingestRuns.markInterruptedRuns(db);
    if (options.examiner !== undefined && options.examiner.trim() !== '') session.useExaminer(db, options.examiner);
    return catalogStore(db, abs);
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

/** The typed interface over an open, migrated connection: each method is its domain module's function. */
function catalogStore(db: Database.Database, file: string): CatalogStore {
  const duplicates = duplicateStore(db);
  const store: CatalogStore = {
    file,
    duplicates,
    imageQueries: imageQueryStore(db),
    snapshot: (fn) => read(db, fn),

    getImage: (id) => images.getImage(db, id),
    getImageByPath: (path) => images.getImageByPath(db, path),
    getImages: (ids) => images.getImages(db, ids),
    findImagesBySha256: (sha256) => images.findImagesBySha256(db, sha256),
    upsertPendingImage: (f) => images.upsertPendingImage(db, f),
    markImageOk: (id, meta) => images.markImageOk(db, id, meta),
    markImageFailed: (id, error) => images.markImageFailed(db, id, error),
    moveImage: (id, newPath, size, mtimeMs) => images.moveImage(db, id, newPath, size, mtimeMs),
    deleteImage: (id) => images.deleteImage(db, id),
    listImages: (options) => images.listImages(db, options),
    countImages: () => images.countImages(db),
    listFailures: (options) => images.listFailures(db, options),
    commitIngestedImage: (image) => images.commitIngestedImages(db, [image], duplicates)[0],
    commitIngestedImages: (batch) => images.commitIngestedImages(db, batch, duplicates),
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,

    registerPack: (pack) => packs.registerPack(db, file, pack),
    getPack: (id) => packs.getPack(db, id),
    listPacks: () => packs.listPacks(db),
    countEmbeddings: (packId) => packs.countEmbeddings(db, packId),

    putEmbedding: (imageId, embedding) => embeddings.putEmbedding(db, imageId, embedding),
    getEmbedding: (imageId, packId) => embeddings.getEmbedding(db, imageId, packId),
    loadEmbeddings: (packId, options) => embeddings.loadEmbeddings(db, packId, options),
    loadEmbeddingsOf: (packId, imageIds) => embeddings.loadEmbeddingsOf(db, packId, imageIds),
    embeddedImageIds: (packId) => embeddings.embeddedImageIds(db, packId),

    createCase: (input) => cases.createCase(db, input),
    getCase: (id) => cases.getCase(db, id),
    listCases: () => cases.listCases(db),
    updateCase: (id, changes) => cases.updateCase(db, id, changes),
    deleteCase: (id) => cases.deleteCase(db, id),
    createCategory: (caseId, input) => cases.createCategory(db, caseId, input),
    listCategories: (caseId) => cases.listCategories(db, caseId),
    updateCategory: (id, changes) => cases.updateCategory(db, id, changes),
    deleteCategory: (id) => cases.deleteCategory(db, id),
    tagImage: (tag) => cases.tagImage(db, tag),
    untagImage: (tag) => cases.untagImage(db, tag),
    getImageTags: (caseId, imageId) => cases.getImageTags(db, caseId, imageId),
    listCaseItems: (caseId) => cases.listCaseItems(db, caseId),
    setNote: (caseId, imageId, text) => cases.setNote(db, caseId, imageId, text),
    getNote: (caseId, imageId) => cases.getNote(db, caseId, imageId),
    deleteNote: (caseId, imageId) => cases.deleteNote(db, caseId, imageId),
    setRelevance: (input) => cases.setRelevance(db, input),
    listRelevance: (caseId) => cases.listRelevance(db, caseId),

    recordSearch: (search) => searches.recordSearch(db, search),
    getSearch: (id) => searches.getSearch(db, id),
    listSearches: (options) => searches.listSearches(db, options),
    getSearchHits: (searchId) => searches.getSearchHits(db, searchId),

    startIngestRun: (root, options) => ingestRuns.startIngestRun(db, root, options),
    updateIngestRun: (id, counts) => ingestRuns.updateIngestRun(db, id, counts),
    finishIngestRun: (id, status, counts, error) => ingestRuns.finishIngestRun(db, id, status, counts, error),
    listIngestRuns: (options) => ingestRuns.listIngestRuns(db, options),

    getSetting: (key) => session.getSetting(db, key),
    setSetting: (key, value) => session.setSetting(db, key, value),
    examiner: () => session.examiner(db),
    setExaminer: (name) => session.setExaminer(db, name),
    appendAudit: (event, data) => session.appendSessionAudit(db, event, data),
    listAudit: (options) => {
      const { limit, offset } = checkPaging('listAudit', options);
      return listAudit(db, limit, offset);
    },
    auditHead: () => read(db, () => auditHead(db)),
    verifyAudit: () => read(db, () => verifyAudit(db)),

    putQueryImage: (id, name) => queryImages.putQueryImage(db, id, name),
    getQueryImage: (id) => queryImages.getQueryImage(db, id),

    importHashSet: (input, records) => hashsets.importHashSet(db, input, records),
    listHashSets: () => hashsets.listHashSets(db),
    deleteHashSet: (id) => hashsets.deleteHashSet(db, id),
    getKnownMatches: (imageId) => hashsets.knownMatches(db, imageId),
    knownStats: () => read(db, () => hashsets.knownStats(db)),
    listImagesMissingHashes: (afterId, limit) => hashsets.imagesMissingHashes(db, afterId, limit),
    countImagesMissingHashes: () => hashsets.countImagesMissingHashes(db),
    setImageHashes: (id, hashes) => hashsets.setImageHashes(db, id, hashes),
    listVicsCategories: (caseId) => hashsets.listVicsCategories(db, caseId),
    setVicsCategory: (categoryId, vicsCategory) => hashsets.setVicsCategory(db, categoryId, vicsCategory),

    stats: () => read(db, (): CatalogStats => {
      const c = images.countImages(db);
      const packRows = packs.listPacks(db).map((p) => ({ ...p, embeddings: packs.countEmbeddings(db, p.id) }));
      return { images: c.total, pending: c.pending, ok: c.ok, failed: c.failed, embeddings: packs.countEmbeddings(db), packs: packRows };
    }),
    close: () => {
      if (!db.open) return;
      // Keeps the query planner's statistics fresh at almost no cost (SQLite's recommendation at close).
      db.pragma('optimize');
      db.close();
    },
  };
  return store;
}
