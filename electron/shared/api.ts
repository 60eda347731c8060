// The one contract between the renderer and the main process. The renderer sees only `window.quari: QuariApi`;
// Electron's preload and the loopback web host (electron/web/) both serve exactly this interface.
// Everything here must be structured-clone/JSON friendly: plain objects, strings, numbers, Uint8Array.
import type { SearchMode } from './constants.ts';

export type { SearchMode };

/** Pixel rectangle in the coordinates of an image as stored (EXIF orientation applied). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PackSummary {
  id: string;
  name: string;
  version: string;
  embeddingDim: number;
  hasQuariCheckpoint: boolean;
  /** SHA-256 of the QuARI weights.pt, recorded with every search. */
  checkpointHash: string | null;
  source: 'built-in' | 'user';
  error?: string;
}

export interface CatalogInfo {
  catalogPath: string;
  images: number;
  embeddings: number;
  failed: number;
  activePackId: string | null;
  packs: PackSummary[];
}

export interface IngestProgress {
  runId: string;
  root: string;
  /** 'indexing': the files are catalogued; the on-disk search index is being built (`index` says how far). */
  state: 'scanning' | 'running' | 'indexing' | 'done' | 'cancelled' | 'failed';
  total: number;
  done: number;
  added: number;
  skipped: number;
  failed: number;
  filesPerSecond: number;
  etaSeconds: number | null;
  currentPath?: string;
  error?: string;
  /** While indexing: the build's phase and its progress in images (or coarse cells, while training). */
  index?: { phase: 'sample' | 'train' | 'assign' | 'write'; done: number; total: number };
}

export interface FailureRow {
  imageId: number;
  path: string;
  error: string;
}

export interface QueryImage {
  queryImageId: string;
  name: string;
  width: number;
  height: number;
  url: string;
}

/** Duplicate tiers, tightest first: identical bytes, pHash near-duplicates, whole-image embedding near-duplicates. */
export const STACK_TIERS = ['exact', 'perceptual', 'embedding'] as const;
export type StackTier = (typeof STACK_TIERS)[number];

/**
 * Which images a search may return, applied inside the search before its top N is cut. Every field narrows; none
 * given allows every catalogued image.
 */
export interface SearchFilter {
  /** Absolute folder: images at or below it (whole path components). */
  folderPrefix?: string;
  /**
   * EXIF capture time (the camera's clock) at or after / at or before, compared at the precision given:
   * "2024-05-01" takes the whole day, "2024-05-01T13:00" the whole minute.
   */
  capturedFrom?: string;
  capturedTo?: string;
  /** Case-insensitive substrings of the EXIF make / model. */
  cameraMake?: string;
  cameraModel?: string;
  /** true: only images with GPS coordinates; false: only those without. */
  hasGps?: boolean;
  /** Tagged (optionally with one category) or untagged in one case. */
  tagged?: { caseId: number; state: 'tagged' | 'untagged'; categoryId?: number };
  /**
   * Known-file status from the imported hash sets: 'unknown' keeps files in no set; 'not-ignorable' hides files
   * only in ignorable sets (NSRL); 'of-interest' keeps files in an of-interest set (VICS).
   */
  known?: KnownFilter;
}

export const KNOWN_FILTERS = ['unknown', 'not-ignorable', 'of-interest'] as const;
export type KnownFilter = (typeof KNOWN_FILTERS)[number];

export interface SearchRequest {
  queryImageId: string;
  /** Zero or more crop regions; none means the whole image. */
  crops: Box[];
  mode: SearchMode;
  /** Stage-1 candidates rescored by QuARI; 0 rescores the whole catalog. */
  k?: number;
  top?: number;
  filter?: SearchFilter;
  /** Duplicates of a higher-ranked hit in this tier (or a tighter one) fold under it; 'none' shows every copy. Default 'perceptual'. */
  stackTier?: StackTier | 'none';
  /** Relevance feedback: the regions where relevant hits matched join the query; not-relevant images are excluded. */
  feedback?: SearchFeedback;
}

export interface SearchFeedback {
  relevant: { imageId: number; box: Box }[];
  excludeImageIds: number[];
  /** 'regions': further regions of one search; 'queries': one search per region, fused by best score. */
  strategy: 'regions' | 'queries';
}

/** The duplicate stack a hit stands for: the hit is the stack's best-ranked member in this search. */
export interface HitStack {
  stackId: number;
  tier: StackTier;
  /** Members in the catalog, the hit included. */
  size: number;
  /** Lower-ranked members of this search folded under the hit (not shown as hits of their own). */
  folded: number[];
}

export interface SearchHit {
  rank: number;
  imageId: number;
  path: string;
  sha256: string;
  width: number;
  height: number;
  /** The score the ranking used (adaptive in adaptive mode). */
  score: number;
  baselineScore: number;
  /** The region of the hit image that matched: the verified outline's bounding box, else the best window's box. */
  box: Box;
  /** Per query crop, in the request's order, the region that matched that crop best (one entry for a one-crop query). */
  regionBoxes: Box[];
  /** Stage 3, geometric verification of the hit against the query crop. */
  verification: HitVerification;
  /** 0..1: share of the content classifier's explicit classes; thumbnails above the threshold are blurred. */
  explicitScore: number;
  /** Null when the hit has no duplicate in the request's stack tier. */
  stack: HitStack | null;
  /** The hash sets the file is in (empty: unknown), each with the category it gives. */
  known: KnownMatchInfo[];
  thumbnailUrl: string;
  imageUrl: string;
}

export interface Point {
  x: number;
  y: number;
}

/**
 * - verified: a homography with at least minInliers inliers; `quad` is the query crop's outline in the hit (pixels,
 *   corners top-left, top-right, bottom-right, bottom-left of the crop) and `box` its bounding box. Verified hits
 *   rank first. `mirrored`: the hit shows the crop mirrored left–right (a selfie camera, a mirror, a flipped
 *   repost), so its outline turns the other way.
 * - unverified: checked, no plausible fit; the hit keeps its window box and model score order.
 * - failed: the image's features could not be computed (`error` says why); treated as unverified.
 * - not-checked: ranked below the verification depth K, or verification turned off.
 * - query-too-few-features: the crop (flat colour, tiny) has too few keypoints; the model order is kept.
 * - multi-region: searches with several crops keep the model order (each hit has one window box).
 */
export type VerificationStatus = 'verified' | 'unverified' | 'failed' | 'not-checked' | 'query-too-few-features' | 'multi-region';

export interface HitVerification {
  status: VerificationStatus;
  inliers: number;
  matches: number;
  quad: Point[] | null;
  mirrored: boolean;
  error?: string;
}

export interface SearchResponse {
  searchId: number;
  packId: string;
  checkpointHash: string | null;
  mode: SearchMode;
  hits: SearchHit[];
  candidates: number;
  durationMs: number;
}

export interface SearchRecord {
  searchId: number;
  createdAt: string;
  packId: string;
  checkpointHash: string | null;
  mode: SearchMode;
  request: SearchRequest & { queryName: string };
  resultCount: number;
  durationMs: number;
}

export interface TagCategory {
  categoryId: number;
  name: string;
  /** 1..9: the number key that applies this category. */
  hotkey: number;
}

export interface CaseSummary {
  caseId: number;
  name: string;
  description: string;
  createdAt: string;
  taggedCount: number;
}

export interface TaggedItem {
  imageId: number;
  /** The analyst's relevance mark in this case; null when not judged. Judged-only images are items too. */
  relevant: boolean | null;
  path: string;
  sha256: string;
  thumbnailUrl: string;
  /** stackTier/stackOf: the tag was applied to a whole duplicate stack of that tier, from that member. */
  categories: { categoryId: number; name: string; taggedAt: string; searchId: number | null; stackTier: StackTier | null; stackOf: number | null }[];
  note: string;
}

export interface StackMember {
  imageId: number;
  path: string;
  width: number;
  height: number;
  size: number;
  thumbnailUrl: string;
  /** The tightest tier in which this member and the stack's best member share a stack. */
  link: StackTier;
}

export interface DuplicateStack {
  stackId: number;
  tier: StackTier;
  size: number;
  /** Best member first (most pixels, then most bytes). */
  members: StackMember[];
}

export interface DuplicateStacks {
  /** Stacks and the images in them, per tier. */
  counts: Record<StackTier, { stacks: number; images: number }>;
  tier: StackTier;
  /** Largest first. */
  stacks: DuplicateStack[];
}

/** One image of the catalog browser. */
export interface BrowsedImage {
  imageId: number;
  path: string;
  width: number;
  height: number;
  thumbnailUrl: string;
  known: KnownMatchInfo[];
}

/** The image panel: everything the catalog knows about one file. */
export interface ImageDetails {
  imageId: number;
  path: string;
  fileName: string;
  size: number;
  format: string | null;
  width: number | null;
  height: number | null;
  hashes: { md5: string | null; sha1: string | null; sha256: string | null; phash: string | null };
  capturedAt: string | null;
  camera: { make: string | null; model: string | null };
  gps: { lat: number; lon: number } | null;
  orientation: number | null;
  /** Its stack in each tier where it has one. */
  stacks: { tier: StackTier; stackId: number; size: number }[];
  /** The hash sets it is in, with their categories. */
  known: KnownMatchInfo[];
  thumbnailUrl: string;
  imageUrl: string;
}

export interface CaseDetails extends CaseSummary {
  categories: TagCategory[];
  items: TaggedItem[];
}

/** The allow-list of export formats: a format is never anything else (it names the export file's extension). */
export const EXPORT_FORMATS = ['html', 'csv', 'json', 'vics'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportResult {
  /** Where the main process wrote the export (next to the catalog, never inside an evidence folder). */
  path: string;
  fileName: string;
  mimeType: string;
  bytes: number;
}

/** Hash-set formats `importHashSet` reads; kinds: ignorable files are hidden (NSRL), of-interest ones flagged (VICS). */
export const HASH_SET_FORMATS = ['nsrl-rds3', 'vics', 'text'] as const;
export type HashSetFormat = (typeof HASH_SET_FORMATS)[number];
export const HASH_SET_KINDS = ['ignorable', 'of-interest'] as const;
export type HashSetKind = (typeof HASH_SET_KINDS)[number];

export interface HashSetInfo {
  id: number;
  name: string;
  format: HashSetFormat;
  kind: HashSetKind;
  /** What the source says its version is (RDS VERSION, VICS data model); null when it says nothing. */
  version: string | null;
  sourceFile: string;
  sourceSha256: string;
  records: number;
  /** Distinct hashes stored. */
  hashCount: number;
  importedAt: string;
  matchedImages: number;
}

export interface KnownFileCounts {
  sets: number;
  /** Images in at least one of-interest set. */
  ofInterest: number;
  /** Images only in ignorable sets. */
  ignorable: number;
  /** Catalogued ('ok') images in no set. */
  unknown: number;
  ofInterestByCategory: Record<string, number>;
}

/** One set an image is in, with the category that set gives it (VICS: the category number as text). */
export interface KnownMatchInfo {
  setId: number;
  setName: string;
  format: HashSetFormat;
  kind: HashSetKind;
  category: string | null;
}

export interface Settings {
  /** Blur every thumbnail until clicked, not only those flagged explicit. */
  blurAll: boolean;
  /** Explicit score above which a thumbnail is blurred. */
  explicitThreshold: number;
  /** Who the audit log records this session's actions as; kept in the catalog for the next session. */
  examiner: string;
}

/**
 * A hash-set import as it runs on the engine's worker thread: `reading` the source (records read, the share of
 * it read, records/s), `committing` (the one catalog transaction), then `done` with the set, `failed` with the
 * reason, or `cancelled` (nothing imported).
 */
export interface HashSetImportProgress {
  path: string;
  name: string;
  state: 'reading' | 'committing' | 'done' | 'failed' | 'cancelled';
  records: number;
  /** 0..1: bytes for JSON and lists, the position in hash order for an NSRL RDS. */
  fraction: number;
  recordsPerSecond: number;
  seconds: number;
  set?: HashSetInfo;
  error?: string;
}

export type QuariEvent = { type: 'ingest-progress'; progress: IngestProgress } | { type: 'hashset-import-progress'; progress: HashSetImportProgress };

/** Errors crossing the boundary: a code the UI can act on and a message for the analyst; never a stack. */
export interface ApiError {
  code: 'bad-request' | 'not-found' | 'conflict' | 'unavailable' | 'internal';
  message: string;
}

export const API_ERROR_CODES: ReadonlySet<ApiError['code']> = new Set(['bad-request', 'not-found', 'conflict', 'unavailable', 'internal']);

export const isApiErrorCode = (code: unknown): code is ApiError['code'] => typeof code === 'string' && API_ERROR_CODES.has(code as ApiError['code']);

/** An ApiError as a throwable: thrown by the engine, re-created on the renderer's side of either host. */
export class QuariApiError extends Error implements ApiError {
  readonly code: ApiError['code'];
  constructor(code: ApiError['code'], message: string) {
    super(message);
    this.name = 'QuariApiError';
    this.code = code;
  }
}

export interface QuariApi {
  getCatalogInfo(): Promise<CatalogInfo>;
  setActivePack(packId: string): Promise<CatalogInfo>;
  /** Verifies a model pack folder, installs it for every catalog and records the import in this catalog's audit log. */
  importPack(folder: string): Promise<CatalogInfo>;

  /** Native folder picker where the host has one; null where it has not (the UI then asks for a path). */
  chooseFolder(): Promise<string | null>;
  startIngest(folder: string): Promise<IngestProgress>;
  cancelIngest(runId: string): Promise<void>;
  getIngestProgress(): Promise<IngestProgress | null>;
  listFailures(): Promise<FailureRow[]>;

  addQueryImage(file: { name: string; bytes: Uint8Array }): Promise<QueryImage>;
  /** A catalogued image as the query photo ("search from this image"), checked as an uploaded photo would be. */
  queryFromImage(imageId: number): Promise<QueryImage>;
  search(request: SearchRequest): Promise<SearchResponse>;
  listSearches(): Promise<SearchRecord[]>;
  /** A recorded search and its recorded ranking, without searching again (a reloaded window gets its results back). */
  getSearch(searchId: number): Promise<{ record: SearchRecord; response: SearchResponse }>;

  listCases(): Promise<CaseSummary[]>;
  createCase(input: { name: string; description?: string; categories: string[] }): Promise<CaseDetails>;
  getCase(caseId: number): Promise<CaseDetails>;
  tagImage(input: { caseId: number; imageId: number; categoryId: number; searchId: number | null }): Promise<CaseDetails>;
  untagImage(input: { caseId: number; imageId: number; categoryId: number }): Promise<CaseDetails>;
  setNote(input: { caseId: number; imageId: number; text: string }): Promise<CaseDetails>;
  /** Marks an image relevant (true) or not relevant (false) in a case, or clears the mark (null). */
  setRelevance(input: { caseId: number; imageId: number; relevant: boolean | null; searchId: number | null }): Promise<CaseDetails>;
  /** hideKnownIgnorable (html, csv, json): leaves out files in known-ignorable sets only; the report states how many. */
  exportCase(input: { caseId: number; format: ExportFormat; hideKnownIgnorable?: boolean }): Promise<ExportResult>;
  /** Tags every member of the image's stack in `tier`, each tag recording the stack tier and the member it came from. */
  tagStack(input: { caseId: number; imageId: number; tier: StackTier; categoryId: number; searchId: number | null }): Promise<CaseDetails>;

  listDuplicateStacks(input: { tier: StackTier; offset?: number; limit?: number }): Promise<DuplicateStacks>;
  getImageDetails(imageId: number): Promise<ImageDetails>;
  /** The catalog browser: a page of the images the filter allows (the search filters), in catalog order. */
  browseImages(input: { filter?: SearchFilter; offset?: number; limit?: number }): Promise<{ total: number; images: BrowsedImage[] }>;

  getSettings(): Promise<Settings>;
  setSettings(settings: Partial<Settings>): Promise<Settings>;

  /**
   * Imports a hash-set file (format told from its first bytes unless given) and matches it against the catalog;
   * resolves when it is imported. It runs off the engine's thread (other calls keep answering), one at a time,
   * reporting 'hashset-import-progress' events; cancelled, it rejects with 'conflict' and imports nothing.
   */
  importHashSet(input: { path: string; name?: string; format?: HashSetFormat; kind?: HashSetKind }): Promise<HashSetInfo>;
  /** Cancels the running hash-set import ('not-found' when none runs); resolves once it stopped. */
  cancelHashSetImport(): Promise<void>;
  /** The catalog's sets and its image counts by kind of set (the Catalog view). */
  listHashSets(): Promise<{ sets: HashSetInfo[]; known: KnownFileCounts }>;
  /** The sets each image is in (badges, the image panel); images in none are listed with no matches. */
  getKnownMatches(imageIds: number[]): Promise<{ imageId: number; matches: KnownMatchInfo[] }[]>;

  /** Subscribes to main-process events; returns the unsubscribe function. */
  onEvent(listener: (event: QuariEvent) => void): () => void;
}

/** Method names, for hosts that register one handler per method (IPC channels, HTTP routes). */
export const API_METHODS = [
  'getCatalogInfo',
  'setActivePack',
  'importPack',
  'chooseFolder',
  'startIngest',
  'cancelIngest',
  'getIngestProgress',
  'listFailures',
  'addQueryImage',
  'queryFromImage',
  'search',
  'listSearches',
  'getSearch',
  'listCases',
  'createCase',
  'getCase',
  'tagImage',
  'untagImage',
  'setNote',
  'setRelevance',
  'exportCase',
  'tagStack',
  'listDuplicateStacks',
  'getImageDetails',
  'browseImages',
  'getSettings',
  'setSettings',
  'importHashSet',
  'cancelHashSetImport',
  'listHashSets',
  'getKnownMatches',
] as const satisfies readonly Exclude<keyof QuariApi, 'onEvent'>[];

export type ApiMethod = (typeof API_METHODS)[number];

/** Media (thumbnails, catalog images, query images) is addressed by id, never by path: `quari-media://<kind>/<id>`. */
export const MEDIA_SCHEME = 'quari-media';
export type MediaKind = 'thumb' | 'image' | 'query';
export const mediaUrl = (kind: MediaKind, id: string | number): string => `${MEDIA_SCHEME}://${kind}/${encodeURIComponent(String(id))}`;
