// The two custom schemes the window loads from. `quari-app://ui/…` serves the built renderer (dist/renderer) and
// `quari-media://<kind>/<id>` serves thumbnails, catalog images and query images. Media is looked up by id through
// the engine, never by a path from the renderer, and the resolved file must really lie inside the catalog's data
// folder or an evidence root, and be an image type (media never answers a document or script type).
// Handlers take and return fetch Request/Response, as protocol.handle does.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { MEDIA_SCHEME, type MediaKind } from '../shared/api.ts';
import { MEDIA_ID, isMediaKind, mediaType } from '../shared/protocol/routes.ts';
import type { AppService } from '../shared/protocol/service.ts';
import type { Logger } from './log.ts';
import { isPathInside, openServableFile } from '../shared/paths.ts';

export { MEDIA_SCHEME, type MediaKind };
export const APP_SCHEME = 'quari-app';
export const APP_HOST = 'ui';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** What the media handler needs from the engine. */
export type MediaSource = Pick<AppService, 'mediaPath' | 'mediaRoots'>;

/** Types of the app bundle's own files (never used for media). */
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

export function mimeType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...extra },
  });
}

/** Parses `quari-media://<kind>/<id>`; null for anything else. */
export function parseMediaUrl(url: string): { kind: MediaKind; id: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${MEDIA_SCHEME}:` || parsed.search || parsed.username || parsed.password || parsed.port) return null;
  const kind = parsed.hostname;
  if (!isMediaKind(kind)) return null;
  let id: string;
  try {
    id = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    return null;
  }
  return MEDIA_ID.test(id) ? { kind, id } : null;
}

export interface MediaHandlerOptions {
  source: MediaSource;
  log: Logger;
}

export function createMediaHandler(options: MediaHandlerOptions): (request: Request) => Promise<Response> {
  const { source, log } = options;
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed', { allow: 'GET, HEAD' });
    const target = parseMediaUrl(request.url);
    if (!target) {
      log.warn(`media: refused malformed URL ${request.url.slice(0, 300)}`);
      return plain(400, 'bad media URL');
    }
    let candidate: string | null;
    try {
      candidate = source.mediaPath(target.kind, target.id);
    } catch (err) {
      log.error(`media: ${target.kind}/${target.id}: ${(err as Error).message}`);
      return plain(500, 'media lookup failed');
    }
    if (candidate === null) return plain(404, 'not found');
    // Read through the descriptor checked to be a regular file inside a root: an evidence file swapped meanwhile
    // for a FIFO, a device or a link is refused, never waited on (openServableFile).
    const checked = await openServableFile(candidate, source.mediaRoots());
    if (!checked.ok) {
      // A file outside every root means a catalog pointing somewhere it should not: worth an examiner's attention.
      const line = `media: refused ${target.kind}/${target.id} -> ${candidate}: ${checked.reason}`;
      if (checked.reason === 'outside') log.warn(line);
      else log.info(line);
      return plain(checked.reason === 'missing' ? 404 : 403, checked.reason === 'missing' ? 'not found' : 'forbidden');
    }
    const { handle, size } = checked;
    const type = mediaType(checked.realPath);
    if (!type) {
      await handle.close();
      log.warn(`media: refused ${target.kind}/${target.id} -> ${checked.realPath}: not an image type`);
      return plain(403, 'forbidden');
    }
    const body = new Uint8Array(size);
    try {
      // Never past the size checked on the descriptor, even if the file grows meanwhile.
      for (let n = 0; n < size; ) {
        const { bytesRead } = await handle.read(body, n, size - n, n);
        if (bytesRead === 0) throw new Error(`shrank to ${n} of ${size} bytes while being read`);
        n += bytesRead;
      }
    } catch (err) {
      log.warn(`media: cannot read ${checked.realPath}: ${(err as Error).message}`);
      return plain(404, 'not found');
    } finally {
      await handle.close();
    }
    return new Response(request.method === 'HEAD' ? null : body, {
      status: 200,
      headers: {
        'content-type': type,
        'content-length': String(body.byteLength),
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      },
    });
  };
}

export interface AppHandlerOptions {
  /** The built renderer (dist/renderer); inside app.asar once packaged. */
  root: string;
  csp: string;
  log: Logger;
  readFile?: (p: string) => Promise<Uint8Array<ArrayBuffer>>;
}

/** Security headers on every document and asset the app scheme serves. */
export function appResponseHeaders(csp: string, file: string): Record<string, string> {
  return {
    'content-type': mimeType(file),
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
}

/** Maps `quari-app://ui/<path>` to a file under `root`; null when the URL is not one the app serves. */
export function appFileFor(url: string, root: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.hostname !== APP_HOST || parsed.port || parsed.username) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = path.resolve(root, `.${rel}`);
  // The renderer bundle is ours (and read-only inside app.asar), so a lexical check suffices here.
  return isPathInside(file, path.resolve(root)) ? file : null;
}

export function createAppHandler(options: AppHandlerOptions): (request: Request) => Promise<Response> {
  const readFile = options.readFile ?? ((p: string) => fsp.readFile(p));
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed', { allow: 'GET, HEAD' });
    const file = appFileFor(request.url, options.root);
    if (!file) {
      options.log.warn(`app: refused ${request.url.slice(0, 300)}`);
      return plain(404, 'not found');
    }
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readFile(file);
    } catch {
      return plain(404, 'not found');
    }
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: appResponseHeaders(options.csp, file) });
  };
}
