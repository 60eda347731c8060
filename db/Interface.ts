// The catalog's typed interface: the only way the rest of the engine reads or writes the SQLite catalog.
// Timestamps are ISO-8601 UTC strings (`new Date().toISOString()`); ids are SQLite integer rowids.
import type { DuplicateStore, DuplicateTier } from './duplicates.ts';

import type { ImageQueryStore } from './imageQueries.ts';

export type { DuplicateStore, DuplicateTier, ImageStack, NewStack, StackInput, StackRow, StackTagInput } from './duplicates.ts';
export type { ImageFacts, ImageFilter, ImageQueryStore } from './imageQueries.ts';

export type ImageStatus = 'pending' | 'ok' | 'failed';

export interface ImageRow {
  id: number;
  /** Absolute path of the evidence file; unique in the catalog. */
  path: string;
  size: number;
  mtimeMs: number;
  status: ImageStatus;
  /** Why ingest failed; null unless status is 'failed'. */
  error: string | null;
  /** Lower-case hex SHA-256 of the file bytes; null until ingested. */
  sha256: string | null;
  /** Lower-case hex MD5 and SHA-1 of the same bytes; null until ingested (or for rows catalogued before they existed). */
  md5: string | null;
  sha1: string | null;
  /** Pixel size with EXIF orientation applied. */
  width: number | null;
  height: number | null;
  format: string | null;
  /** EXIF capture time as ISO text, as the camera recorded it. */
  capturedAt: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  gpsLat: number | null;
  gpsLon: number | null;
  /** EXIF orientation tag, 1..8. */
  orientation: number | null;
  /** Thumbnail path relative to the catalog data folder (electron/engine/catalogData.ts). */
  thumbnail: string | null;
  addedAt: string;
  updatedAt: string;
}

/** What `fs.stat` says about a file: enough to tell whether it changed since it was catalogued. */
export interface FileStat {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What ingest learned about a decoded image. */
export interface ImageMetadata {
  sha256: string;
  /** Computed in the same pass as sha256; optional only for writers that copy a row catalogued without them. */
  md5?: string | null;
  sha1?: string | null;
  width: number;
  height: number;
  format: string;
  capturedAt?: string | null;
  cameraMake?: string | null;
  cameraModel?: string | null;
  gpsLat?: number | null;
  gpsLon?: number | null;
  orientation?: number | null;
  thumbnail?: string | null;
}

export interface ImageCounts {
  total: number;
  pending: number;
  ok: number;
  failed: number;
}

export interface FailureRow {
  imageId: number;
  path: string;
  error: string;
  updatedAt: string;
}

export interface PackInput {
  id: string;
  version: string;
  name: string;
  /** Dimension of every stored vector of this pack. */
  dim: number;
  /** The pack's manifest, stored as JSON for provenance. */
  manifest: unknown;
  /**
   * SHA-256 of what makes the pack's vectors (packs/manifest.ts encoderFingerprint). Once a catalog holds one for an
   * id, registering that id with another fingerprint is refused: a pack id is immutable in a catalog.
   */
  fingerprint?: string;
}

export interface PackRow extends PackInput {
  registeredAt: string;
}

export type EmbeddingDtype = 'float16' | 'float32';

/**
 * One image's vectors for one pack. Row 0 is the whole-image vector, rows 1.. region vectors.
 * float16 vectors are IEEE half-precision bit patterns (Uint16Array); both are little-endian in the BLOB.
 */
export type EmbeddingVectors =
  | { dtype: 'float32'; vectors: Float32Array }
  | { dtype: 'float16'; vectors: Uint16Array };

export type EmbeddingInput = EmbeddingVectors & {
  packId: string;
  nVectors: number;
  dim: number;
  /** nVectors × (x, y, w, h), normalised to [0, 1]; row 0 must be (0, 0, 1, 1). */
  boxes: Float32Array;
  /** Content-classifier probabilities in the order of the pack manifest's `content.labels`. */
  contentScores: readonly number[] | null;
  /** 0..1 share of the explicit classes, for blurring thumbnails. */
  explicitScore: number | null;
};

export type EmbeddingRow = EmbeddingInput & { imageId: number; createdAt: string };

/**
 * A pack's embeddings in columnar form, for loading a whole catalog into memory without per-image objects.
 * Image i owns vector rows offsets[i] .. offsets[i+1]-1 of `vectors` (each `dim` wide) and of `boxes` (each 4 wide).
 */
export type LoadedEmbeddings = EmbeddingVectors & {
  packId: string;
  dim: number;
  /** Number of images loaded. */
  count: number;
  /** Total vector rows, = offsets[count]. */
  totalVectors: number;
  /** Ascending. */
  imageIds: Uint32Array;
  offsets: Uint32Array;
  boxes: Float32Array;
  /** NaN where the image has no score. */
  explicitScores: Float32Array;
};

export interface LoadEmbeddingsOptions {
  /** Keyset paging: only images with id > afterImageId. */
  afterImageId?: number;
  /** At most this many images. */
  limit?: number;
}

export interface IngestedImage extends FileStat {
  meta: ImageMetadata;
  /** Zero or more packs' embeddings of this image, written in the same transaction as the image row. */
  embeddings: readonly EmbeddingInput[];
  /** pHash of the decoded pixels (16 hex digits), stored for meta.sha256 in the same transaction. */
  perceptualHash?: string;
}

export interface CaseRow {
  id: number;
  name: string;
  description: string;
  createdAt: string;
}

export interface CaseSummary extends CaseRow {
  /** Distinct images with at least one tag in the case. */
  taggedCount: number;
}

export interface CategoryRow {
  id: number;
  caseId: number;
  name: string;
  /** 1..9: the number key that applies this category; unique within the case. */
  hotkey: number;
  /** '#rrggbb', lower case. */
  colour: string;
  createdAt: string;
}

/** hotkey and colour default to the lowest free hotkey and a palette colour. */
export interface CategoryInput {
  name: string;
  hotkey?: number;
  colour?: string;
}

export interface TagInput {
  caseId: number;
  imageId: number;
  categoryId: number;
  /** The search whose results the analyst tagged from; null for tags made outside a search. */
  searchId?: number | null;
}

export interface ImageTag {
  categoryId: number;
  name: string;
  hotkey: number;
  colour: string;
  taggedAt: string;
  searchId: number | null;
  /** Set when the tag was applied to a whole duplicate stack: its tier and the member it was applied from. */
  stackTier: DuplicateTier | null;
  stackOf: number | null;
}

/** An image with the analyst's work on it in one case: its tags (with the search that found it) and note. */
export interface CaseItem {
  imageId: number;
  path: string;
  sha256: string | null;
  thumbnail: string | null;
  tags: ImageTag[];
  note: string | null;
  /** The analyst's relevance mark; null when not judged. */
  relevant: boolean | null;
}

export interface NoteRow {
  caseId: number;
  imageId: number;
  text: string;
  updatedAt: string;
}

export type { SearchMode } from '../electron/shared/constants.ts';
import type { SearchMode } from '../electron/shared/constants.ts';

export interface SearchInput {
  /** The case the analyst was working on, if any. */
  caseId?: number | null;
  packId: string;
  /** SHA-256 of the QuARI checkpoint used; null in baseline mode or without one. */
  checkpointHash: string | null;
  mode: SearchMode;
  /** The request as JSON (query image, crops, text, k, top…); its shape belongs to the search engine. */
  params: Record<string, unknown>;
  resultCount: number;
  durationMs: number;
  /** The ranking, best first: kept with the search (search_hits) and its image ids written to the audit log. */
  hits?: readonly SearchHitRecord[];
}

/** One ranked hit of a recorded search. Boxes are in the hit image's pixels. */
export interface SearchHitRecord {
  imageId: number;
  rank: number;
  score: number;
  baselineScore: number;
  /** The content classifier's explicit share at search time (blurring a restored result needs it). */
  explicitScore: number;
  box: { x: number; y: number; w: number; h: number };
  /** One box per query crop, in the request's order. */
  regionBoxes: { x: number; y: number; w: number; h: number }[];
}

/** An analyst's judgement of one image in one case, for relevance feedback and the report. */
export interface RelevanceRow {
  caseId: number;
  imageId: number;
  relevant: boolean;
  searchId: number | null;
  judgedAt: string;
}

export interface SearchRow extends Required<Omit<SearchInput, 'hits'>> {
  id: number;
  createdAt: string;
}

/** One record of the hash-chained audit log (db/audit.ts). */
export interface AuditRecord {
  seq: number;
  at: string;
  examiner: string;
  /** 'catalog.opened', 'search.run', 'case.tagged'…: subject.verb. */
  event: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The result of walking the chain: intact, or the first record that fails and why. */
export type AuditVerification =
  | { ok: true; records: number; headHash: string; appendOnlyTriggers: boolean }
  | {
      ok: false;
      /** Records read up to and including the first bad one. */
      records: number;
      appendOnlyTriggers: boolean;
      firstBad: { seq: number; at: string; examiner: string; event: string; reason: string };
    };


/** 'interrupted': its process ended without finishing it (killed, crashed), found at the next open. */
export type IngestRunStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

/** A query photo: `<sha256>.<ext>` (its file under `<catalog>.data/queries/`) and the name the analyst gave it. */
export interface QueryImageRow {
  id: string;
  name: string;
  createdAt: string;
}

export interface IngestCounts {
  seen: number;
  added: number;
  updated: number;
  moved: number;
  unchanged: number;
  failed: number;
}

/** How a run treated what it found (recorded with the run, so a report can say what was followed). */
export interface IngestRunOptions {
  /** Symbolic links inside the evidence folder pointing outside it were followed (else recorded as failures). */
  followLinks: boolean;
  /** Files above this many bytes were refused from their size. */
  maxFileBytes: number;
  maxPixels: number;
}

export interface IngestRunRow extends IngestCounts {
  id: number;
  root: string;
  /** null for runs recorded before options were (schema < 4). */
  options: IngestRunOptions | null;
  status: IngestRunStatus;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface CatalogStats {
  images: number;
  pending: number;
  ok: number;
  failed: number;
  embeddings: number;
  packs: (PackRow & { embeddings: number })[];
}

export type HashSetFormat = 'nsrl-rds3' | 'vics' | 'text';
/** ignorable: known files to hide (NSRL); of-interest: pre-categorised files to flag (VICS, most lists). */
export type HashSetKind = 'ignorable' | 'of-interest';

export interface HashSetInput {
  name: string;
  format: HashSetFormat;
  kind: HashSetKind;
  /** What the source says its version is, when known before reading. */
  version?: string | null;
  /** Called after every record was read, for sources that state their version late (VICS metadata). */
  resolveVersion?: () => string | null;
  sourceFile: string;
  sourceSha256: string;
  sourceBytes: number;
}

/** One record of a set: its strongest hash (1 MD5, 2 SHA-1, 3 SHA-256) as bytes and its category, if any. */
export interface HashSetRecord {
  type: 1 | 2 | 3;
  hash: Buffer;
  category: string | null;
}

export interface HashSetRow {
  id: number;
  name: string;
  format: HashSetFormat;
  kind: HashSetKind;
  version: string | null;
  sourceFile: string;
  sourceSha256: string;
  sourceBytes: number;
  /** Records read from the source. */
  records: number;
  /** Distinct hashes stored (records repeating a hash count once). */
  hashCount: number;
  importedAt: string;
  /** Catalogued images the set matches now. */
  matchedImages: number;
}

export interface KnownMatch {
  setId: number;
  setName: string;
  format: HashSetFormat;
  kind: HashSetKind;
  category: string | null;
}

export interface KnownStats {
  sets: number;
  /** Images in at least one of-interest set. */
  ofInterest: number;
  /** Images only in ignorable sets. */
  ignorable: number;
  /** 'ok' images in no set. */
  unknown: number;
  /** Of-interest images per category the sets give them. */
  ofInterestByCategory: Record<string, number>;
}

export interface VicsCategoryRow {
  categoryId: number;
  name: string;
  /** The stored mapping; null = the documented default for the name. */
  vicsCategory: number | null;
}

export interface Paging {
  limit?: number;
  offset?: number;
}

export interface CatalogStore {
  /** The catalog file's absolute path. */
  readonly file: string;
  /** Perceptual hashes, duplicate stacks and stack tags (db/duplicates.ts). */
  readonly duplicates: DuplicateStore;
  /** Search filters and the image panel's facts (db/imageQueries.ts). */
  readonly imageQueries: ImageQueryStore;
  /**
   * Runs `fn` in one read transaction, so every read it makes sees the same catalog state (a case and its items,
   * a report): a write committed by another connection meanwhile is either wholly in it or wholly absent. `fn`
   * must be synchronous and must not write.
   */
  snapshot<T>(fn: () => T): T;

  // Images
  getImage(id: number): ImageRow | undefined;
  getImageByPath(path: string): ImageRow | undefined;
  /** Rows for `ids` in the same order; ids not in the catalog are skipped. */
  getImages(ids: readonly number[]): ImageRow[];
  findImagesBySha256(sha256: string): ImageRow[];
  /**
   * Catalogues a file as pending and returns its id. A path already present keeps its id; if its size or mtime
   * changed, the row goes back to pending, its derived fields and embeddings are dropped (tags and notes stay).
   */
  upsertPendingImage(file: FileStat): number;
  markImageOk(id: number, meta: ImageMetadata): void;
  markImageFailed(id: number, error: string): void;
  /**
   * Re-points a catalogued image at the path it was moved to (same bytes, so embeddings stay valid). A pending or
   * failed row already at newPath (queued by a scan before hashing revealed the move) is replaced; an ok one refuses.
   */
  moveImage(id: number, newPath: string, size: number, mtimeMs: number): void;
  /** Refuses (with an Error naming the image) while a case has tagged or annotated it. */
  deleteImage(id: number): void;
  /** Ordered by id; default limit 100. */
  listImages(options?: Paging & { status?: ImageStatus }): ImageRow[];
  countImages(): ImageCounts;
  listFailures(options?: Paging): FailureRow[];
  /** One transaction: the image row (inserted or updated by path, status ok) and its embeddings. Returns its id. */
  commitIngestedImage(image: IngestedImage): number;
  /** Like commitIngestedImage for a batch, in one transaction; ids in input order. */
  commitIngestedImages(images: readonly IngestedImage[]): number[];

  /**
   * SQLite's PRAGMA data_version for this connection: it changes whenever another connection (another process:
   * the CLI ingesting while the app is open) commits to the catalog, and never for this connection's own commits.
   * Caches built from the catalog compare it to notice changes made elsewhere.
   */
  dataVersion(): number;

  // Model packs
  /** Inserts or refreshes a pack; refuses to change the dim of a pack that has embeddings. */
  registerPack(pack: PackInput): PackRow;
  getPack(id: string): PackRow | undefined;
  listPacks(): PackRow[];

  // Embeddings
  /** Inserts or replaces the (image, pack) embedding. */
  putEmbedding(imageId: number, embedding: EmbeddingInput): void;
  getEmbedding(imageId: number, packId: string): EmbeddingRow | undefined;
  countEmbeddings(packId?: string): number;
  /** Columnar bulk load in image-id order from one consistent snapshot; all rows of a pack must share a dtype. */
  loadEmbeddings(packId: string, options?: LoadEmbeddingsOptions): LoadedEmbeddings;
  /** The embeddings of the given images (ascending id; images without one are left out): stage 2 over a disk index. */
  loadEmbeddingsOf(packId: string, imageIds: readonly number[]): LoadedEmbeddings;
  /** The ids of the images with an embedding of the pack, ascending (no vectors read). */
  embeddedImageIds(packId: string): Uint32Array;

  // Cases, categories, tags, notes
  /** Creates the case and its categories atomically. */
  createCase(input: { name: string; description?: string; categories?: readonly (string | CategoryInput)[] }): CaseRow;
  getCase(id: number): CaseSummary | undefined;
  listCases(): CaseSummary[];
  updateCase(id: number, changes: { name?: string; description?: string }): CaseRow;
  /** Deletes the case with its categories, tags and notes; its searches stay, detached. */
  deleteCase(id: number): void;
  createCategory(caseId: number, input: CategoryInput): CategoryRow;
  listCategories(caseId: number): CategoryRow[];
  updateCategory(id: number, changes: Partial<CategoryInput>): CategoryRow;
  /** Deletes the category and every tag made with it. */
  deleteCategory(id: number): void;
  /** True if the tag is new; re-tagging keeps the original tag (and the search that first found the image). */
  tagImage(tag: TagInput): boolean;
  /** True if a tag was removed. */
  untagImage(tag: Omit<TagInput, 'searchId'>): boolean;
  getImageTags(caseId: number, imageId: number): ImageTag[];
  /** Every image tagged, annotated or judged in the case: tagged ones in order of their first tag, then note-only, then judged-only ones. */
  listCaseItems(caseId: number): CaseItem[];
  /** Upserts the note; returns it. */
  setNote(caseId: number, imageId: number, text: string): NoteRow;
  getNote(caseId: number, imageId: number): NoteRow | undefined;
  deleteNote(caseId: number, imageId: number): boolean;

  // Searches
  recordSearch(search: SearchInput): SearchRow;
  getSearch(id: number): SearchRow | undefined;
  /** Newest first; default limit 100. */
  listSearches(options?: Paging & { caseId?: number }): SearchRow[];
  /** The recorded ranking of a search, best first (images deleted since are gone). */
  getSearchHits(searchId: number): SearchHitRecord[];

  // Relevance judgements
  /** relevant true/false marks the image; null removes the mark. True if something changed. */
  setRelevance(input: { caseId: number; imageId: number; relevant: boolean | null; searchId?: number | null }): boolean;
  listRelevance(caseId: number): RelevanceRow[];

  // Ingest runs
  startIngestRun(root: string, options?: IngestRunOptions): IngestRunRow;
  /** Records progress counts of a running run (for the UI and for post-mortems of an interrupted run). */
  updateIngestRun(id: number, counts: IngestCounts): void;
  finishIngestRun(id: number, status: Exclude<IngestRunStatus, 'running' | 'interrupted'>, counts: IngestCounts, error?: string | null): IngestRunRow;
  /** Newest first; default limit 100. */
  listIngestRuns(options?: Paging): IngestRunRow[];

  // Settings of this catalog (JSON values; the keys and their shapes belong to the callers)
  /** undefined when the key was never set. */
  getSetting(key: string): unknown;
  setSetting(key: string, value: unknown): void;

  // Query images of the search session (db/queryImages.ts)

  /** Records a query photo under its content address; the same bytes added again take the latest name. */
  putQueryImage(id: string, name: string): QueryImageRow;
  getQueryImage(id: string): QueryImageRow | undefined;

  // Known files (db/hashsets.ts)
  /** One transaction: the set, every record (a throw while reading them rolls all back), the match of every image. */
  importHashSet(input: HashSetInput, records: Iterable<HashSetRecord>): HashSetRow;
  listHashSets(): HashSetRow[];
  deleteHashSet(id: number): void;
  /** The sets an image is in, with their categories. */
  getKnownMatches(imageId: number): KnownMatch[];
  knownStats(): KnownStats;
  /** 'ok' images lacking MD5/SHA-1, in id order after `afterId` (keyset paging). */
  listImagesMissingHashes(afterId: number, limit: number): { id: number; path: string; sha256: string }[];
  countImagesMissingHashes(): number;
  /** Back-fills MD5/SHA-1 of an 'ok' image; refuses when its SHA-256 is not `sha256`. */
  setImageHashes(id: number, hashes: { sha256: string; md5: string; sha1: string }): void;
  listVicsCategories(caseId: number): VicsCategoryRow[];
  setVicsCategory(categoryId: number, vicsCategory: number | null): void;

  // Audit log: every change above is recorded by the store itself, in its own transaction, as the examiner of
  // this session. Front ends add what the store cannot see (catalog opened, exports).
  /** The examiner records are written as: setExaminer's name, else the catalog's stored one, else the OS user. */
  examiner(): string;
  /** Sets this session's examiner and stores the name in the catalog for the next session. */
  setExaminer(name: string): void;
  appendAudit(event: string, data: Record<string, unknown>): AuditRecord;
  /** Newest first; default limit 100. */
  listAudit(options?: Paging): AuditRecord[];
  auditHead(): { records: number; headHash: string };
  verifyAudit(): AuditVerification;

  stats(): CatalogStats;
  close(): void;
}
