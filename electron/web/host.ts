// Loopback web host: serves the built renderer and QuariApi to a browser on the same machine.
//
// Security model. Binds 127.0.0.1 only. A 256-bit token is minted per run and printed in the URL's fragment
// (`/#token=…&media=…`), which browsers never send to any server; the page keeps it in sessionStorage (scoped to
// this origin, port included) and sends it as the X-Quari-Token header on every API and event request. No cookie
// is ever set: cookies ignore ports, so any other server on 127.0.0.1 would receive one. Media URLs (an <img>
// cannot send a header) carry a media key derived from the token, which grants image reads only. The app's
// static bundle holds no data and is served without the token. DNS rebinding is refused by checking Host;
// other sites (including other localhost ports, which count as same-site) by checking Origin and Sec-Fetch-Site.
// API calls are POST with a JSON body, bounded per method and checked for depth and size as its bytes arrive
// (before any parsing), and go through the shared dispatch (validation, limits, error mapping). Media routes
// resolve catalog ids only, answer image types only, and stream from the descriptor checked to lie in a root.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import path from 'node:path';
import type { ApiError, MediaKind, QuariEvent } from '../shared/api.ts';
import { dispatch } from '../shared/protocol/dispatch.ts';
import { HTTP_STATUS, ValidationError } from '../shared/protocol/errors.ts';
import { isPathInside, openServableFile } from '../shared/paths.ts';
import {
  API_PREFIX,
  CONTENT_SECURITY_POLICY,
  EVENTS_PATH,
  MEDIA_ID,
  MEDIA_KEY_FRAGMENT,
  MEDIA_KEY_PARAM,
  MEDIA_PREFIX,
  TOKEN_FRAGMENT,
  TOKEN_HEADER,
  isMediaKind,
  mediaType,
  requestBodyBytes,
  webMediaUrl,
} from '../shared/protocol/routes.ts';
import type { AppService } from '../shared/protocol/service.ts';
import { decodeWire, encodeWire, JsonShapeGuard } from '../shared/protocol/wire.ts';

/** One run's secrets and the media URLs they authorise; the service is built with `mediaUrl` (serve.ts). */
export interface WebSession {
  /** 256 bits, base64url: the X-Quari-Token of every API and event request. */
  token: string;
  /** HMAC-SHA-256 of a fixed label under the token: authorises GET of media URLs only. */
  mediaKey: string;
  /** `/media/<kind>/<id>?k=<media key>`: how this host spells a media URL. */
  mediaUrl(kind: MediaKind, id: string | number): string;
}

export function createWebSession(): WebSession {
  const token = randomBytes(32).toString('base64url');
  const mediaKey = createHmac('sha256', token).update('quari-media').digest('base64url');
  return {
    token,
    mediaKey,
    mediaUrl: (kind, id) => webMediaUrl(kind, id, mediaKey),
  };
}

export interface WebHostOptions {
  /** The service, built with `session.mediaUrl` so every URL it answers points at this host. */
  backend: AppService;
  session: WebSession;
  /** The built renderer (dist/renderer). */
  distDir: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface WebHost {
  url: string;
  port: number;
  token: string;
  /** Derived from the token; authorises GET of media URLs only. */
  mediaKey: string;
  close(): Promise<void>;
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Event streams open at once: one per tab of the UI; each holds a listener and a connection. */
const MAX_EVENT_STREAMS = 16;
/** Unsent event bytes a stream may hold before its client, no longer reading, is dropped. */
const EVENT_BACKLOG_BYTES = 1024 * 1024;

/** How long the rest of a refused request body is read and dropped, so its client sees the refusal. */
const LINGER_MS = 2000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
  }
}

/** decodeURIComponent that answers 404 for a malformed escape instead of throwing a URIError. */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(404, 'not-found', 'Not found');
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const { backend } = options;
  const distDir = path.resolve(options.distDir);
  await fs.access(path.join(distDir, 'index.html')).catch(() => {
    throw new Error(`${path.join(distDir, 'index.html')} is missing: build the renderer first (vite build --config renderer/vite.config.ts)`);
  });

  const { token, mediaKey } = options.session;
  const streams = new Set<ServerResponse>();
  let port = 0;
  let origins: ReadonlySet<string> = new Set();
  let hosts: ReadonlySet<string> = new Set();

  const dispatchContext = {
    // A browser page cannot open a native picker on the host; the UI falls back to a typed path.
    chooseFolder: async () => null,
    log: { warn: (line: string) => console.warn(`quari web: ${line}`), error: (line: string) => console.error(`quari web: ${line}`) },
  };

  function baseHeaders(res: ServerResponse) {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  }

  function sendJson(res: ServerResponse, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendError(req: IncomingMessage, res: ServerResponse, status: number, error: ApiError) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before its body was read (too big, too deep, no token): nothing more of it is kept. Closing at once
    // would reset a client still sending before it reads the answer, so the rest is read and dropped for at most
    // LINGER_MS after the answer is out (the connection goes on if the body ends by then), then the connection closes.
    if (!req.complete) {
      const socket = req.socket;
      res.once('finish', () => {
        if (req.complete) return;
        const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
        req.once('end', () => clearTimeout(timer));
        req.resume();
      });
    }
    sendJson(res, status, error);
  }

  /** Host/Origin/Sec-Fetch-Site checks; throws 403 (421 for a foreign Host). */
  function checkOrigin(req: IncomingMessage) {
    if (!hosts.has(req.headers.host ?? '')) throw new HttpError(421, 'bad-request', 'Request Host is not this QuARI host');
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) throw new HttpError(403, 'bad-request', 'Cross-origin request refused');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'bad-request', 'Cross-site request refused');
  }

  /** The X-Quari-Token header must carry the session token; throws 401. */
  function authenticate(req: IncomingMessage) {
    const header = req.headers[TOKEN_HEADER];
    if (typeof header === 'string' && sameToken(header, token)) return;
    throw new HttpError(401, 'unavailable', 'Missing or wrong session token: open the URL the QuARI host printed');
  }

  /** Media: the media key in the URL, or the token header (non-browser clients); throws 401. */
  function authenticateMedia(req: IncomingMessage, url: URL) {
    const key = url.searchParams.get(MEDIA_KEY_PARAM);
    if (key !== null && sameToken(key, mediaKey)) return;
    authenticate(req);
  }

  /**
   * The body, bounded before it is parsed: over `method`'s cap (REQUEST_BODY_BYTES) by its Content-Length is 413
   * before a byte is read, a chunked body at the first byte past the cap; nesting and item count are checked as
   * the bytes arrive (JsonShapeGuard), so a hostile body is refused at its first offending byte, never buffered.
   */
  function readBody(req: IncomingMessage, method: string): Promise<Buffer> {
    const limit = requestBodyBytes(method);
    const tooBig = () => new HttpError(413, 'bad-request', `Request body exceeds ${limit} bytes, the limit for ${method.length > 100 ? 'this method' : method}`);
    if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooBig());
    const guard = new JsonShapeGuard();
    const chunks: Buffer[] = [];
    let size = 0;
    return new Promise((resolve, reject) => {
      // Stops reading without destroying the request, so the refusal can still be answered on its connection.
      const refuse = (err: HttpError) => {
        req.off('data', onData);
        req.pause();
        reject(err);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) return refuse(tooBig());
        try {
          guard.push(chunk);
        } catch (err) {
          return refuse(new HttpError(400, 'bad-request', (err as Error).message));
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks)));
      req.once('error', reject);
    });
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string) {
    if (req.method !== 'POST') throw new HttpError(405, 'bad-request', 'API routes accept POST only');
    authenticate(req);
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      throw new HttpError(415, 'bad-request', 'API requests must be application/json');
    }
    let parsed: unknown;
    const body = (await readBody(req, method)).toString('utf8');
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'bad-request', 'The body must be JSON {"args": [...]}');
    }
    const rawArgs = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as { args?: unknown }).args : undefined;
    if (!Array.isArray(rawArgs)) throw new HttpError(400, 'bad-request', 'The body must be JSON {"args": [...]}');
    let args: unknown;
    try {
      args = decodeWire(rawArgs);
    } catch (err) {
      if (err instanceof ValidationError) throw new HttpError(400, 'bad-request', err.message);
      throw err;
    }
    const answer = await dispatch(backend, method, args, dispatchContext);
    if (!answer.ok) {
      sendError(req, res, HTTP_STATUS[answer.error.code], answer.error);
      return;
    }
    sendJson(res, 200, { result: encodeWire(answer.value) });
  }

  function handleEvents(req: IncomingMessage, res: ServerResponse) {
    if (streams.size >= MAX_EVENT_STREAMS) throw new HttpError(503, 'unavailable', `At most ${MAX_EVENT_STREAMS} event streams at once`);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    // A client that stops reading is dropped rather than buffered for without end; EventSource reconnects.
    const send = (text: string) => (res.writableLength > EVENT_BACKLOG_BYTES ? res.destroy() : res.write(text));
    const listener = (event: QuariEvent) => send(`data: ${JSON.stringify(event)}\n\n`);
    // Comments keep idle connections from being reaped by anything in between.
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), 15_000);
    backend.events.on('event', listener);
    streams.add(res);
    const done = () => {
      clearInterval(heartbeat);
      backend.events.off('event', listener);
      streams.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  }

  /**
   * 304 when the client's ETag matches, else the headers and, for a GET of a non-empty file, the bytes `open`
   * streams (a client that hangs up destroys the stream, which closes its file). True when `open` was called.
   */
  function sendBytes(req: IncomingMessage, res: ServerResponse, st: { size: number; mtimeMs: number }, type: string, cache: string, open: () => Readable): boolean {
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag, 'Cache-Control': cache });
      res.end();
      return false;
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': st.size, ETag: etag, 'Cache-Control': cache });
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return false;
    }
    pipeline(open(), res, (err) => {
      if (err) res.destroy();
    });
    return true;
  }

  /** The app bundle's own files (ours, never evidence). */
  async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, type: string, cache: string) {
    let stat;
    try {
      stat = await fs.stat(file);
      if (!stat.isFile()) throw new Error('not a file');
    } catch {
      throw new HttpError(404, 'not-found', 'File not found');
    }
    sendBytes(req, res, stat, type, cache, () => createReadStream(file));
  }

  async function handleMedia(req: IncomingMessage, res: ServerResponse, rest: string) {
    const [kind, rawId, extra] = rest.split('/');
    const id = rawId ? decodePathPart(rawId) : '';
    if (extra !== undefined || !isMediaKind(kind) || !MEDIA_ID.test(id)) {
      throw new HttpError(404, 'not-found', 'No such media');
    }
    const file = backend.mediaPath(kind, id);
    if (!file) throw new HttpError(404, 'not-found', `No ${kind} with id ${id}`);
    // Defence in depth, as in the Electron shell: the real path must lie inside a media root, and the bytes are
    // read through the descriptor checked to be that regular file (an evidence file swapped meanwhile is refused).
    const opened = await openServableFile(file, backend.mediaRoots());
    if (!opened.ok) throw new HttpError(404, 'not-found', `No ${kind} with id ${id}`);
    const { handle, size } = opened;
    let streaming = false;
    try {
      // Media only ever answers an image type: a planted .html or .svg is refused, never rendered.
      const type = mediaType(opened.realPath);
      if (!type) throw new HttpError(404, 'not-found', `No ${kind} with id ${id}`);
      // Never past the size checked on the descriptor, even if the file grows meanwhile.
      streaming = sendBytes(req, res, opened, type, 'private, no-cache', () => handle.createReadStream({ start: 0, end: size - 1 }));
    } finally {
      if (!streaming) await handle.close();
    }
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const rel = pathname === '/' ? 'index.html' : decodePathPart(pathname.slice(1));
    const file = path.resolve(distDir, rel);
    if (rel.includes('\0') || !isPathInside(file, distDir)) throw new HttpError(404, 'not-found', 'Not found');
    const type = STATIC_TYPES[path.extname(file).toLowerCase()];
    if (!type) throw new HttpError(404, 'not-found', 'Not found');
    // Hashed assets never change under one name; index.html must always be fresh.
    const cache = rel.startsWith('assets/') ? 'private, max-age=31536000, immutable' : 'no-store';
    await sendFile(req, res, file, type, cache);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    baseHeaders(res);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    checkOrigin(req);

    if (url.pathname.startsWith(API_PREFIX)) return handleApi(req, res, url.pathname.slice(API_PREFIX.length));
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'bad-request', 'Method not allowed');
    if (url.pathname === EVENTS_PATH) {
      authenticate(req);
      return handleEvents(req, res);
    }
    if (url.pathname.startsWith(MEDIA_PREFIX)) {
      authenticateMedia(req, url);
      return handleMedia(req, res, url.pathname.slice(MEDIA_PREFIX.length));
    }
    return handleStatic(req, res, url.pathname);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        sendError(req, res, err.status, { code: err.code, message: err.message });
        return;
      }
      console.error('quari web: request failed:', err);
      sendError(req, res, 500, { code: 'internal', message: 'Internal error' });
    });
  });
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  return {
    url: `http://127.0.0.1:${port}/#${TOKEN_FRAGMENT}=${token}&${MEDIA_KEY_FRAGMENT}=${mediaKey}`,
    port,
    token,
    mediaKey,
    async close() {
      for (const s of streams) s.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
