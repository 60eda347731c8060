// Attacks on the real loopback web host (spawned as `npm run web` spawns it) over raw HTTP, one `it` per attack:
// issue 11 items 1 (export path), 2 (unvalidated API), 3 (token in a cookie) and 10 (media MIME), plus the
// guards that already held (token, Host, Origin, Sec-Fetch-Site, traversal on static and media routes).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { openCatalog } from '../../db/CatalogStore.ts';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import { startHost, type RunningHost } from '../e2e/support/webHost.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  raw: Buffer;
}

function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; host?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: opts.host ?? '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        // Event streams never end; the first bytes are enough.
        if (res.headers['content-type']?.startsWith('text/event-stream')) res.destroy();
      });
      res.on('close', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('loopback web host under attack', { timeout: 300_000 }, () => {
  let tmp: string;
  let evidence: string;
  let photo: string;
  let host: RunningHost;
  let own: Record<string, string>;
  let auth: Record<string, string>;
  let htmlThumbId: number;
  let htmlImageId: number;
  let photoId: number;

  const api = (method: string, args: unknown, headers: Record<string, string> = auth) =>
    send(host.port, { method: 'POST', path: `/api/${method}`, headers: { 'content-type': 'application/json', ...own, ...headers }, body: JSON.stringify({ args }) });

  /** A refused call: the status, {code, message} only, the message naming `field`, and no stack or internals. */
  async function refused(method: string, args: unknown, status: number, field: RegExp) {
    const r = await api(method, args);
    assert.equal(r.status, status, `${method}: ${r.body.slice(0, 300)}`);
    const error = JSON.parse(r.body);
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message'], method);
    assert.match(error.message, field, method);
    assert.ok(!/\n\s+at |node_modules|TypeError|\.ts:\d/.test(error.message), `${method}: no internals in ${error.message}`);
    return error;
  }

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-sec-web-'));
    evidence = path.join(tmp, 'evidence');
    await fs.mkdir(evidence);
    photo = path.join(evidence, 'photo.jpg');
    await fs.writeFile(photo, await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3060c0' } }).jpeg().toBuffer());
    // A hostile evidence folder: a "photo" that is HTML, and a thumbnail entry pointing at an HTML file.
    await fs.writeFile(path.join(evidence, 'page.html'), '<script>alert(1)</script>');
    const catalogPath = path.join(tmp, 'catalog.sqlite');
    const store = openCatalog(catalogPath);
    await fs.mkdir(path.join(catalogDataDir(catalogPath), 'thumbs'), { recursive: true });
    await fs.writeFile(path.join(catalogDataDir(catalogPath), 'thumbs', 'evil.html'), '<script>alert(2)</script>');
    const run = store.startIngestRun(evidence);
    const add = (file: string, thumbnail: string | null) => {
      const id = store.upsertPendingImage({ path: file, size: 10, mtimeMs: 1 });
      store.markImageOk(id, { sha256: sha256(file), width: 40, height: 30, format: 'jpeg', thumbnail });
      return id;
    };
    photoId = add(photo, null);
    htmlImageId = add(path.join(evidence, 'page.html'), null);
    await fs.copyFile(photo, path.join(evidence, 'photo2.jpg'));
    htmlThumbId = add(path.join(evidence, 'photo2.jpg'), 'thumbs/evil.html');
    store.finishIngestRun(run.id, 'done', { seen: 3, added: 3, updated: 0, moved: 0, unchanged: 0, failed: 0 });
    store.close();
    host = await startHost({ catalogPath });
    own = { host: `127.0.0.1:${host.port}` };
    auth = { 'x-quari-token': host.token };
  });

  after(async () => {
    await host?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  // ---- 11.3: the token never lives in a cookie ----

  it('prints the token in the URL fragment only (never sent to a server), 256 bits', () => {
    const url = new URL(host.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(url.search, '', 'no token in the query string');
    assert.ok(host.token.length >= 43 && url.hash.includes(host.token));
  });

  it('never sets a cookie, on any route, with or without the token', async () => {
    const paths = ['/', `/?token=${host.token}`, '/index.html', '/events', `/media/image/${photoId}`];
    for (const p of paths) {
      for (const headers of [own, { ...own, ...auth }]) {
        const r = await send(host.port, { path: p, headers });
        assert.equal(r.headers['set-cookie'], undefined, `${p} set a cookie`);
      }
    }
    const r = await api('getSettings', []);
    assert.equal(r.headers['set-cookie'], undefined);
  });

  it('refuses the API, events and media without the token header, whatever cookie is sent', async () => {
    const cookie = { cookie: `quari_session_${host.port}=${host.token}; session=${host.token}` };
    const r = await api('getCatalogInfo', [], cookie);
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), ['code', 'message']);
    assert.equal((await api('getCatalogInfo', [], { 'x-quari-token': 'wrong' })).status, 401);
    assert.equal((await send(host.port, { path: '/events', headers: { ...own, ...cookie } })).status, 401);
    assert.equal((await send(host.port, { path: `/media/image/${photoId}`, headers: { ...own, ...cookie } })).status, 401);
    assert.equal((await send(host.port, { path: `/media/image/${photoId}?k=${host.token}`, headers: own })).status, 401, 'the token is not the media key');
  });

  it('serves media with the media key, which opens nothing else', async () => {
    const key = encodeURIComponent(host.mediaKey);
    const media = await send(host.port, { path: `/media/image/${photoId}?k=${key}`, headers: own });
    assert.equal(media.status, 200);
    assert.equal(media.headers['content-type'], 'image/jpeg');
    assert.ok(media.raw.equals(readFileSync(photo)));
    assert.equal((await api('getCatalogInfo', [], { 'x-quari-token': host.mediaKey })).status, 401);
    assert.equal((await send(host.port, { path: `/events?k=${key}`, headers: own })).status, 401);
  });

  // ---- guards that held ----

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    assert.equal((await api('getCatalogInfo', [], { ...auth, host: `evil.example:${host.port}` })).status, 421);
    assert.equal((await send(host.port, { path: '/', headers: { host: `evil.example:${host.port}` } })).status, 421);
  });

  it('refuses other origins, other localhost ports and cross-site fetches even with the token', async () => {
    const origin = `http://127.0.0.1:${host.port}`;
    assert.equal((await api('getCatalogInfo', [], { ...auth, origin })).status, 200);
    assert.equal((await api('getCatalogInfo', [], { ...auth, origin: 'http://evil.example' })).status, 403);
    assert.equal((await api('getCatalogInfo', [], { ...auth, origin: 'http://127.0.0.1:1' })).status, 403, 'another localhost port');
    assert.equal((await api('getCatalogInfo', [], { ...auth, origin: 'null' })).status, 403);
    assert.equal((await api('getCatalogInfo', [], { ...auth, origin, 'sec-fetch-site': 'same-site' })).status, 403);
    assert.equal((await api('getCatalogInfo', [], { ...auth, 'sec-fetch-site': 'cross-site' })).status, 403);
  });

  it('answers the API to POST application/json only', async () => {
    assert.equal((await send(host.port, { path: '/api/getCatalogInfo', headers: { ...own, ...auth } })).status, 405);
    const form = await send(host.port, { method: 'POST', path: '/api/getCatalogInfo', headers: { ...own, ...auth, 'content-type': 'text/plain' }, body: '{"args":[]}' });
    assert.equal(form.status, 415);
  });

  it('refuses path traversal on static and media routes in every spelling', async () => {
    const key = `?k=${encodeURIComponent(host.mediaKey)}`;
    const attempts = [
      '/../../../../etc/passwd',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/%252e%252e%252f%252e%252e%252fetc%252fpasswd',
      '/..%5c..%5c..%5cetc%5cpasswd',
      '/index.html%00.png',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/assets/%E0%A4%A.js',
      `/media/image/..%2F..%2F..%2Fetc%2Fpasswd${key}`,
      `/media/image/%2e%2e%2f%2e%2e%2fetc%2fpasswd${key}`,
      `/media/image/%252e%252e%252fetc%252fpasswd${key}`,
      `/media/image/..%5c..%5cetc%5cpasswd${key}`,
      `/media/image/1%00${key}`,
      `/media/image/%2Fetc%2Fpasswd${key}`,
      `/media/query/..%2F..%2Fcatalog.sqlite${key}`,
      `/media/../../etc/passwd${key}`,
      `/media/file/1${key}`,
      `/media/thumb/%E0%A4%A${key}`,
      `/media/image/${photoId}/extra${key}`,
    ];
    for (const p of attempts) {
      const r = await send(host.port, { path: p, headers: { ...own, ...auth } });
      assert.equal(r.status, 404, `${p} answered ${r.status}`);
      assert.ok(!r.body.includes('root:') && !r.body.includes('SQLite format'), p);
    }
  });

  // ---- 11.10: media answers image types only ----

  it('never answers a media request with a non-image type (HTML planted as a photo or a thumbnail)', async () => {
    const key = `?k=${encodeURIComponent(host.mediaKey)}`;
    for (const p of [`/media/image/${htmlImageId}${key}`, `/media/thumb/${htmlThumbId}${key}`]) {
      const r = await send(host.port, { path: p, headers: own });
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.includes('<script>'), p);
    }
  });

  // ---- 11.1: export format as a path ----

  it('refuses an export format that is a path, and leaves the evidence untouched', async () => {
    const created = await api('createCase', [{ name: 'Export attack', categories: ['lamp'] }]);
    assert.equal(created.status, 200, created.body);
    const caseId = JSON.parse(created.body).result.caseId;
    const before = sha256(photo);
    const depth = '/..'.repeat(12);
    for (const format of [`${depth}${photo.replace(/\.jpg$/, '')}.jpg`, `/../../../../../${photo}`, 'html/../../x', 'HTML', 'exe', '']) {
      await refused('exportCase', [{ caseId, format }], 400, /argument 1\.format: must be one of "html", "csv", "json"/);
    }
    assert.equal(sha256(photo), before, 'the evidence JPEG is unchanged');
    const ok = await api('exportCase', [{ caseId, format: 'html' }]);
    assert.equal(ok.status, 200, ok.body);
    const written = JSON.parse(ok.body).result;
    assert.equal(path.dirname(written.path), path.join(catalogDataDir(path.join(tmp, 'catalog.sqlite')), 'exports'));
    const left = await fs.readdir(path.dirname(written.path));
    assert.deepEqual(left, [written.fileName], 'no temporary file is left beside the export');
  });

  // ---- 11.2: every call validated ----

  it('refuses a string where a list of categories belongs (no "abc" → a, b, c)', async () => {
    await refused('createCase', [{ name: 'Case A', categories: 'abc' }], 400, /createCase: argument 1\.categories: expected an array, got string/);
    assert.equal(JSON.parse((await api('listCases', [])).body).result.some((c: { name: string }) => c.name === 'Case A'), false);
  });

  it('refuses NUL and ESC in case names and category names', async () => {
    await refused('createCase', [{ name: 'a\u0000b', categories: [] }], 400, /argument 1\.name: contains control characters/);
    await refused('createCase', [{ name: 'a\u001b]52;c;aGk=\u0007', categories: [] }], 400, /argument 1\.name: contains control characters/);
    await refused('createCase', [{ name: 'ok', categories: ['x\u001b[2J'] }], 400, /argument 1\.categories\[0\]: contains control characters/);
  });

  it('answers a case name taken twice (in any letter case) as a 409 conflict naming the name, and keeps one case', async () => {
    const first = await api('createCase', [{ name: 'Operation Heron', categories: [] }]);
    assert.equal(first.status, 200, first.body.slice(0, 300));
    const error = await refused('createCase', [{ name: 'operation heron', categories: [] }], 409, /createCase: a case named 'operation heron' already exists/);
    assert.equal(error.code, 'conflict');
    const cases = JSON.parse((await api('listCases', [])).body).result as { name: string }[];
    assert.deepEqual(cases.filter((c) => c.name.toLowerCase() === 'operation heron').map((c) => c.name), ['Operation Heron']);
  });

  it('refuses a 500-crop search before any CPU is spent', async () => {
    const crops = Array.from({ length: 500 }, () => ({ x: 0, y: 0, w: 4, h: 4 }));
    const started = Date.now();
    await refused('search', [{ queryImageId: 'a'.repeat(64) + '.jpg', crops, mode: 'baseline' }], 400, /argument 1\.crops: must have at most 32 entries \(got 500\)/);
    console.log(`# 500-crop search refused in ${Date.now() - started} ms`);
  });

  it('refuses a 50 MB note by its body size, and a 30,000-character one naming the field (the limit is 20,000)', async () => {
    await refused('setNote', [{ caseId: 1, imageId: photoId, text: 'x'.repeat(50 * 1024 * 1024) }], 413, /Request body exceeds 1048576 bytes, the limit for setNote/);
    await refused('setNote', [{ caseId: 1, imageId: photoId, text: 'x'.repeat(30_000) }], 400, /argument 1\.text: must be at most 20000 characters/);
  });

  it('refuses settings keys outside the allow-list and does not persist them', async () => {
    await refused('setSettings', [{ blurAll: true, adminPassword: 'x' }], 400, /unknown field "adminPassword"/);
    const settings = JSON.parse((await api('getSettings', [])).body).result;
    assert.deepEqual(Object.keys(settings).sort(), ['blurAll', 'examiner', 'explicitThreshold']);
    assert.equal(settings.blurAll, false, 'the refused call changed nothing');
  });

  it('refuses relative ingest folders (".", "..", "evidence") instead of ingesting the host\'s working folder', async () => {
    for (const folder of ['.', '..', 'evidence', './', '~/']) {
      await refused('startIngest', [folder], 400, /startIngest: argument 1 \(folder\): must be an absolute folder path/);
    }
    assert.equal(JSON.parse((await api('getIngestProgress', [])).body).result, null, 'no ingest started');
  });

  it('answers bad types with a clean bad-request naming the field, never a 500', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['getCase', ['1'], /getCase: argument 1 \(caseId\): expected a positive integer id, got string/],
      ['getCase', [{ id: 1 }], /argument 1 \(caseId\): expected a positive integer id, got object/],
      ['getCase', [], /getCase: expected 1 argument, got 0/],
      ['tagImage', [{ caseId: 1, imageId: 'x', categoryId: 1, searchId: null }], /argument 1\.imageId: expected a positive integer id/],
      ['search', [{ queryImageId: 5, crops: [], mode: 'baseline' }], /argument 1\.queryImageId: expected a string, got number/],
      ['search', [{ queryImageId: 'q', crops: [{ x: 'a', y: 0, w: 1, h: 1 }], mode: 'baseline' }], /argument 1\.crops\[0\]\.x: expected a finite number/],
      ['search', [{ queryImageId: 'q', crops: [], mode: 'turbo' }], /argument 1\.mode: must be one of "baseline", "adaptive"/],
      ['search', [{ queryImageId: 'q', crops: [], mode: 'baseline', k: 1e12 }], /argument 1\.k: must be between 0 and 10000000/],
      ['setSettings', [{ explicitThreshold: 'high' }], /argument 1\.explicitThreshold: expected a finite number, got string/],
      ['addQueryImage', [{ name: 'q.jpg', bytes: 'not bytes' }], /argument 1\.bytes: expected bytes/],
      ['addQueryImage', [{ name: 'q.jpg', bytes: { $base64: 'ab$d' } }], /arguments\[0\]\.bytes: base64 payload has an invalid character/],
      ['setActivePack', [null], /argument 1 \(packId\): expected a string, got null/],
    ];
    for (const [method, args, field] of cases) await refused(method, args, 400, field);
    const notArgs = await send(host.port, { method: 'POST', path: '/api/getCase', headers: { ...own, ...auth, 'content-type': 'application/json' }, body: '{"args":{"0":1}}' });
    assert.equal(notArgs.status, 400);
    const notJson = await send(host.port, { method: 'POST', path: '/api/getCase', headers: { ...own, ...auth, 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(notJson.status, 400);
  });

  it('refuses __proto__ and constructor keys before they reach the engine', async () => {
    const body = (key: string) => `{"args":[{"name":"Polluted","categories":[],"${key}":{"isAdmin":true}}]}`;
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const r = await send(host.port, { method: 'POST', path: '/api/createCase', headers: { ...own, ...auth, 'content-type': 'application/json' }, body: body(key) });
      assert.equal(r.status, 400, r.body);
      assert.match(JSON.parse(r.body).message, new RegExp(`arguments\\[0\\]: the key "${key}" is refused`));
    }
    const settings = await send(host.port, { method: 'POST', path: '/api/setSettings', headers: { ...own, ...auth, 'content-type': 'application/json' }, body: '{"args":[{"__proto__":{"blurAll":true}}]}' });
    assert.equal(settings.status, 400);
    assert.equal(JSON.parse((await api('listCases', [])).body).result.some((c: { name: string }) => c.name === 'Polluted'), false);
  });

  it('answers unknown methods, including prototype names, with not-found', async () => {
    for (const method of ['deleteEverything', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'close', 'mediaPath', 'events']) {
      const r = await api(method, []);
      assert.equal(r.status, 404, `${method}: ${r.body}`);
      assert.equal(JSON.parse(r.body).code, 'not-found');
    }
  });

  it('serves query images back under their id with the media key, and streams events with the token', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c83232' } }).jpeg().toBuffer();
    const r = await api('addQueryImage', [{ name: 'red.jpg', bytes: { $base64: jpeg.toString('base64') } }]);
    assert.equal(r.status, 200, r.body);
    const q = JSON.parse(r.body).result;
    assert.equal(q.url, `/media/query/${encodeURIComponent(q.queryImageId)}?k=${encodeURIComponent(host.mediaKey)}`);
    const media = await send(host.port, { path: q.url, headers: own });
    assert.equal(media.status, 200);
    assert.ok(media.raw.equals(jpeg));
    const events = await send(host.port, { path: '/events', headers: { ...own, ...auth } });
    assert.equal(events.status, 200);
    assert.match(String(events.headers['content-type']), /^text\/event-stream/);
  });

  it('serves the app bundle with the one CSP and no inline script', async () => {
    const page = await send(host.port, { path: '/', headers: own });
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(page.body), 'index.html has no inline script');
  });

  it('is not reachable on other interfaces', async (t) => {
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) return t.skip('no non-loopback IPv4 interface on this machine');
    await assert.rejects(send(host.port, { path: '/', host: external.address, headers: own }));
  });
});
