// Names and constants both hosts and both clients agree on: IPC channels and the IPC envelope, the web host's
// routes and token header, media kinds and ids, the image-only media MIME table, the query-image size cap and
// the one Content-Security-Policy. Pure data (no Node, no DOM): the sandboxed preload and the renderer bundle it.
import { MEDIA_SCHEME, type ApiError, type ApiMethod, type MediaKind } from '../api.ts';

// ---- IPC (Electron) ----

export const CHANNEL_PREFIX = 'quari:';
export const EVENT_CHANNEL = 'quari:event';

export function channelFor(method: ApiMethod): string {
  return `${CHANNEL_PREFIX}${method}`;
}

/**
 * The answer to every call on either host. Results travel as envelopes because Electron's IPC (and contextBridge)
 * copy only an Error's message; the code the UI acts on would otherwise be lost.
 */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiError };

// ---- Loopback web host ----

/** Header carrying the session token on every API and event request (never a cookie: cookies ignore ports). */
export const TOKEN_HEADER = 'x-quari-token';
/** Query parameter carrying the media key on media URLs (an <img> cannot send a header). */
export const MEDIA_KEY_PARAM = 'k';
/** Route prefixes of the loopback host. */
export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/events';
export const MEDIA_PREFIX = '/media/';
/** A media item's URL on the web host: by id, authorised by the session's media key. */
export const webMediaUrl = (kind: MediaKind, id: string | number, mediaKey: string): string =>
  `${MEDIA_PREFIX}${kind}/${encodeURIComponent(String(id))}?${MEDIA_KEY_PARAM}=${encodeURIComponent(mediaKey)}`;
/** The landing URL's fragment carries `token=…&media=…`; fragments are never sent to any server. */
export const TOKEN_FRAGMENT = 'token';
export const MEDIA_KEY_FRAGMENT = 'media';

// ---- Media ----

/** Media (thumbnails, catalog images, query images) is addressed by id, never by path. */
export const MEDIA_KINDS: readonly MediaKind[] = ['thumb', 'image', 'query'];
export const MEDIA_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const isMediaKind = (kind: unknown): kind is MediaKind => typeof kind === 'string' && (MEDIA_KINDS as readonly string[]).includes(kind);

/**
 * The only types a media route answers. A file of any other extension (an `.html` or `.svg` planted in an
 * evidence folder) is refused, so media can never be rendered as a document or run script.
 */
export const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
};

/** The image MIME type of a media file by its extension; null where the file must not be served. */
export function mediaType(file: string): string | null {
  const dot = file.lastIndexOf('.');
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  if (dot <= slash + 1) return null;
  return Object.hasOwn(MEDIA_TYPES, file.slice(dot).toLowerCase()) ? MEDIA_TYPES[file.slice(dot).toLowerCase()] : null;
}

// ---- Limits shared by hosts, validators and the engine ----

/** Query images are single photos: 200 MiB, checked by the validator and the engine alike. */
export const QUERY_IMAGE_MAX_BYTES = 200 * 1024 * 1024;

/**
 * Largest web request body of a method without bytes. The largest such arguments are 10,000 ids (≈ 170 KB) and
 * a 20,000-character note written entirely in \u escapes (120 KB): 1 MiB holds either with room to spare.
 */
const SMALL_BODY_BYTES = 1024 * 1024;
/** addQueryImage: the image base64-encoded (4 bytes per 3) plus its name and the envelope. */
const QUERY_IMAGE_BODY_BYTES = 4 * Math.ceil(QUERY_IMAGE_MAX_BYTES / 3) + 64 * 1024;

/**
 * The web host's body cap per method, checked against Content-Length before a byte is read and against the bytes
 * as they arrive. Only addQueryImage carries a large field; an unknown method gets the small cap.
 */
export const REQUEST_BODY_BYTES: Readonly<Record<ApiMethod, number>> = {
  getCatalogInfo: SMALL_BODY_BYTES,
  setActivePack: SMALL_BODY_BYTES,
  chooseFolder: SMALL_BODY_BYTES,
  startIngest: SMALL_BODY_BYTES,
  cancelIngest: SMALL_BODY_BYTES,
  getIngestProgress: SMALL_BODY_BYTES,
  listFailures: SMALL_BODY_BYTES,
  addQueryImage: QUERY_IMAGE_BODY_BYTES,
  queryFromImage: SMALL_BODY_BYTES,
  search: SMALL_BODY_BYTES,
  listSearches: SMALL_BODY_BYTES,
  getSearch: SMALL_BODY_BYTES,
  listCases: SMALL_BODY_BYTES,
  createCase: SMALL_BODY_BYTES,
  getCase: SMALL_BODY_BYTES,
  tagImage: SMALL_BODY_BYTES,
  untagImage: SMALL_BODY_BYTES,
  setNote: SMALL_BODY_BYTES,
  setRelevance: SMALL_BODY_BYTES,
  exportCase: SMALL_BODY_BYTES,
  tagStack: SMALL_BODY_BYTES,
  listDuplicateStacks: SMALL_BODY_BYTES,
  getImageDetails: SMALL_BODY_BYTES,
  browseImages: SMALL_BODY_BYTES,
  getSettings: SMALL_BODY_BYTES,
  setSettings: SMALL_BODY_BYTES,
  importHashSet: SMALL_BODY_BYTES,
  cancelHashSetImport: SMALL_BODY_BYTES,
  importPack: SMALL_BODY_BYTES,
  listHashSets: SMALL_BODY_BYTES,
  getKnownMatches: SMALL_BODY_BYTES,
};

/** The body cap for a method name as requested (not yet known to be a method). */
export const requestBodyBytes = (method: string): number =>
  Object.hasOwn(REQUEST_BODY_BYTES, method) ? REQUEST_BODY_BYTES[method as ApiMethod] : SMALL_BODY_BYTES;

// ---- Content-Security-Policy ----

/**
 * One policy for the Electron window and the web host. Scripts only from the app bundle (no inline script, no
 * eval); inline styles because Svelte templates carry style attributes; images from the bundle, the media scheme
 * (Electron) or the same origin (web host), and data:/blob: URLs built in-page; nothing may frame the app.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' ${MEDIA_SCHEME}: data: blob:`,
  `media-src 'self' ${MEDIA_SCHEME}: blob:`,
  "font-src 'self' data:",
  `connect-src 'self' ${MEDIA_SCHEME}:`,
  "worker-src 'self' blob:",
  "manifest-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
