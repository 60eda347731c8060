// Issue 11.3 in a real browser: the app is opened from the printed URL in Debian's Chromium, used (API calls,
// event stream, media), and then a page served by another server on 127.0.0.1 (another port: same site, since
// cookies ignore ports) is opened in the same browser profile. That server records every request it receives; it
// must receive no cookie and nothing carrying the token, and the token it might guess from nothing opens nothing.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser } from '../e2e/support/browser.ts';
import { startHost, type RunningHost } from '../e2e/support/webHost.ts';

describe('the session token stays out of reach of other loopback ports', { timeout: 300_000 }, () => {
  let tmp: string;
  let host: RunningHost;
  let browser: Browser;
  let context: BrowserContext;
  let other: Server;
  let otherPort: number;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-sec-ports-'));
    host = await startHost({ catalogPath: path.join(tmp, 'catalog.sqlite') });
    other = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/html' });
      // The hostile page tries what it can from its own origin: read cookies, call the app's API with them.
      res.end(`<!doctype html><title>other</title><script>
        window.probe = (async () => {
          const out = { cookie: document.cookie, storage: sessionStorage.length + localStorage.length };
          try {
            const r = await fetch('http://127.0.0.1:${host.port}/api/getCatalogInfo', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{"args":[]}' });
            out.api = r.status;
          } catch (e) { out.api = 'blocked'; }
          return out;
        })();
      </script>`);
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherPort = (other.address() as AddressInfo).port;
    browser = await launchBrowser();
    context = await browser.newContext();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await new Promise<void>((resolve) => (other ? other.close(() => resolve()) : resolve()));
    await host?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('the app works from the printed URL, drops the fragment and stores no cookie', async () => {
    const page = await context.newPage();
    const apiStatuses: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/')) apiStatuses.push(r.status());
    });
    await page.goto(host.url);
    await page.getByTestId('total-images').filter({ hasText: '0' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
    assert.ok(apiStatuses.length > 0 && apiStatuses.every((s) => s === 200), `API answers: ${apiStatuses.join(',')}`);
    assert.deepEqual(await context.cookies(), [], 'no cookie for any host or port');
    // A reload keeps the session (sessionStorage, this tab and origin only).
    await page.reload();
    await page.getByTestId('total-images').filter({ hasText: '0' }).waitFor();
  });

  it('a page on another 127.0.0.1 port receives no cookie and nothing carrying the token', async () => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${otherPort}/`);
    const probe = (await page.evaluate('window.probe')) as { cookie: string; storage: number; api: number | string };
    assert.equal(probe.cookie, '', 'document.cookie is empty');
    assert.equal(probe.storage, 0, 'the app\'s sessionStorage belongs to its own origin (port included)');
    assert.ok(probe.api === 401 || probe.api === 403 || probe.api === 'blocked', `the API refused the other page (${probe.api})`);
    assert.ok(seen.length > 0, 'the other server was reached');
    for (const request of seen) {
      assert.equal(request.headers.cookie, undefined, `${request.url} carried a cookie`);
      assert.ok(!JSON.stringify(request).includes(host.token), `${request.url} carried the token`);
      assert.ok(!JSON.stringify(request).includes(host.mediaKey), `${request.url} carried the media key`);
    }
  });
});
