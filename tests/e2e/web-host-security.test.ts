// The loopback host's guard rails, probed over raw HTTP against the real host and a real (empty) catalog:
// token exchange, cookie flags, Host/Origin/Sec-Fetch-Site refusal, typed errors without stacks, id-only media.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import os from 'node:os';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startHost, type RunningHost } from './support/webHost.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string; host?: string }): Promise<Reply & { raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: opts.host ?? '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers },
      (res) => {
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
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

describe('loopback web host security', { timeout: 300_000 }, () => {
  let tmp: string;
  let host: RunningHost;
  let own: Record<string, string>;
  let cookieHeader = '';

  const api = (method: string, args: unknown[], headers: Record<string, string>) =>
    send(host.port, { method: 'POST', path: `/api/${method}`, headers: { 'content-type': 'application/json', ...own, ...headers }, body: JSON.stringify({ args }) });

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-web-'));
    host = await startHost({ catalogPath: path.join(tmp, 'catalog.sqlite') });
    own = { host: `127.0.0.1:${host.port}` };
  });

  after(async () => {
    await host?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('prints a 127.0.0.1 URL with a long random token', () => {
    assert.equal(new URL(host.url).hostname, '127.0.0.1');
    assert.ok(host.token.length >= 40, 'at least 256 bits, base64url');
  });

  it('refuses pages, assets and the API without the token', async () => {
    assert.equal((await send(host.port, { path: '/', headers: own })).status, 401);
    assert.equal((await send(host.port, { path: '/?token=wrong', headers: own })).status, 401);
    const r = await api('getCatalogInfo', [], {});
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), ['code', 'message']);
  });

  it('trades the URL token for an HttpOnly SameSite=Strict cookie and redirects to /', async () => {
    const r = await send(host.port, { path: `/?token=${host.token}`, headers: own });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const setCookie = String(r.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    cookieHeader = setCookie.split(';')[0];
    const page = await send(host.port, { path: '/', headers: { ...own, cookie: cookieHeader } });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(page.body), 'index.html has no inline script');
  });

  it('answers API calls with the cookie from its own origin only', async () => {
    const origin = `http://127.0.0.1:${host.port}`;
    const ok = await api('getCatalogInfo', [], { cookie: cookieHeader, origin });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).result.catalogPath, path.join(tmp, 'catalog.sqlite'));
    assert.equal((await api('getCatalogInfo', [], { cookie: cookieHeader })).status, 403, 'no Origin');
    assert.equal((await api('getCatalogInfo', [], { cookie: cookieHeader, origin: 'http://evil.example' })).status, 403);
    assert.equal((await api('getCatalogInfo', [], { cookie: cookieHeader, origin: 'http://127.0.0.1:1' })).status, 403, 'another localhost port');
    assert.equal((await api('getCatalogInfo', [], { cookie: cookieHeader, origin, 'sec-fetch-site': 'same-site' })).status, 403);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const r = await api('getCatalogInfo', [], { 'x-quari-token': host.token, host: `evil.example:${host.port}` });
    assert.equal(r.status, 421);
  });

  it('accepts the token header from non-browser clients', async () => {
    const r = await api('getSettings', [], { 'x-quari-token': host.token });
    assert.equal(r.status, 200);
    assert.equal(typeof JSON.parse(r.body).result.blurAll, 'boolean');
  });

  it('returns typed errors as {code, message} without stacks', async () => {
    const auth = { 'x-quari-token': host.token };
    const unknown = await api('deleteEverything', [], auth);
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).code, 'not-found');
    const get = await send(host.port, { path: '/api/getCatalogInfo', headers: { ...own, ...auth } });
    assert.equal(get.status, 405);
    const bad = await send(host.port, { method: 'POST', path: '/api/getCase', headers: { ...own, ...auth, 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(bad.status, 400);
    const missing = await api('getCase', [987654], auth);
    assert.ok(missing.status >= 400 && missing.status < 600, `status ${missing.status}`);
    const err = JSON.parse(missing.body);
    assert.deepEqual(Object.keys(err).sort(), ['code', 'message']);
    assert.ok(!/\n\s+at /.test(err.message), 'no stack trace');
  });

  it('serves media by catalog id only', async () => {
    const auth = { ...own, 'x-quari-token': host.token };
    for (const p of ['/media/thumb/987654', '/media/image/..%2F..%2F..%2Fetc%2Fpasswd', '/media/../../etc/passwd', '/media/file/1', '/..%2F..%2Fetc%2Fpasswd', '/media/thumb/%E0%A4%A', '/assets/%E0%A4%A.js']) {
      const r = await send(host.port, { path: p, headers: auth });
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.includes('root:'), p);
    }
    assert.equal((await send(host.port, { path: '/media/thumb/1', headers: own })).status, 401);
  });

  it('takes a query image as base64 and serves it back under its id', async () => {
    const auth = { 'x-quari-token': host.token };
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c83232' } }).jpeg().toBuffer();
    const r = await api('addQueryImage', [{ name: 'red.jpg', bytes: { $base64: jpeg.toString('base64') } }], auth);
    assert.equal(r.status, 200, r.body);
    const q = JSON.parse(r.body).result;
    assert.deepEqual([q.name, q.width, q.height], ['red.jpg', 64, 48]);
    assert.equal(q.url, `/media/query/${encodeURIComponent(q.queryImageId)}`, 'media URLs point at this host, by id');
    const media = await send(host.port, { path: q.url, headers: { ...own, ...auth } });
    assert.equal(media.status, 200);
    assert.equal(media.headers['content-type'], 'image/jpeg');
    assert.ok(media.raw.equals(jpeg), 'the stored query image is served byte for byte');
  });

  it('streams events to an authenticated client', async () => {
    const r = await send(host.port, { path: '/events', headers: { ...own, 'x-quari-token': host.token } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  });

  it('is not reachable on other interfaces', async (t) => {
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) return t.skip('no non-loopback IPv4 interface on this machine');
    await assert.rejects(send(host.port, { path: '/', host: external.address, headers: own }));
  });
});
