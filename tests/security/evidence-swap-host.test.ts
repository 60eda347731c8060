// Evidence files swapped after ingest, attacked through the real loopback web host: a catalogued photo replaced by a
// FIFO (queryFromImage read it with a blocking open, holding a libuv thread and the request forever), and a photo
// swapped for a FIFO and back, over and over, while its media URL is fetched (the host checked the path, then
// opened it again by name to stream it), and the same through the Electron shell's media scheme handler. Every
// request is answered; a FIFO is never opened for reading.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, linkSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { openCatalog } from '../../db/CatalogStore.ts';
import { createMediaHandler } from '../../electron/main/protocol.ts';
import { startHost, type RunningHost } from '../e2e/support/webHost.ts';
import { haveMkfifo, mkfifo, startSwapping, stopSwapping } from '../helpers/fifo-swap.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('evidence swapped after ingest, through the web host', { skip: !haveMkfifo && 'mkfifo is not available', timeout: 300_000 }, () => {
  let tmp: string;
  let evidence: string;
  let host: RunningHost;
  const ids: Record<string, number> = {};
  const photos: Record<string, Buffer> = {};

  /** The call's answer, or 'hung' when none came within 20 s (the request is aborted). */
  async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Buffer } | 'hung'> {
    try {
      const r = await fetch(`http://127.0.0.1:${host.port}${url}`, { ...init, signal: AbortSignal.timeout(20_000) });
      return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return 'hung';
      throw err;
    }
  }
  const api = (method: string, args: unknown[]) =>
    call(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-quari-token': host.token }, body: JSON.stringify({ args }) });

  before(async () => {
    tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'quari-sec-swap-')));
    evidence = path.join(tmp, 'evidence');
    await fs.mkdir(evidence);
    const catalogPath = path.join(tmp, 'catalog.sqlite');
    const store = openCatalog(catalogPath);
    const run = store.startIngestRun(evidence);
    for (const [name, colour] of [['fifo', '#204080'], ['swapped', '#802040']] as const) {
      const file = path.join(evidence, `${name}.jpg`);
      photos[name] = await sharp({ create: { width: 40, height: 30, channels: 3, background: colour } }).jpeg().toBuffer();
      await fs.writeFile(file, photos[name]);
      ids[name] = store.upsertPendingImage({ path: file, size: photos[name].length, mtimeMs: 1 });
      store.markImageOk(ids[name], { sha256: sha256(photos[name]), width: 40, height: 30, format: 'jpeg', thumbnail: null });
    }
    // What the swapping process renames over swapped.jpg, turn about: the photo itself (a second link) and a FIFO.
    await fs.mkdir(path.join(tmp, 'parts'));
    linkSync(path.join(evidence, 'swapped.jpg'), path.join(tmp, 'parts', 'regular'));
    mkfifo(path.join(tmp, 'parts', 'fifo'));
    store.finishIngestRun(run.id, 'done', { seen: 2, added: 2, updated: 0, moved: 0, unchanged: 0, failed: 0 });
    store.close();
    host = await startHost({ catalogPath, dataHome: path.join(tmp, 'home') });
  });

  after(async () => {
    await host?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('answers "search from this image" on a photo replaced by a FIFO at once, and keeps serving', async () => {
    const file = path.join(evidence, 'fifo.jpg');
    rmSync(file);
    mkfifo(file);
    const r = await api('queryFromImage', [ids.fifo]);
    assert.notEqual(r, 'hung', 'queryFromImage waited on the FIFO');
    if (r === 'hung') return;
    assert.equal(r.status, 503, r.body.toString());
    assert.match(JSON.parse(r.body.toString()).message, /cannot use image \d+ as the query photo: .*fifo\.jpg: is a FIFO; only regular files are accepted/);
    const info = await api('getCatalogInfo', []);
    assert.ok(info !== 'hung' && info.status === 200, 'the host still answers');
  });

  it('streams a photo swapped for a FIFO and back, over and over, from the descriptor it checked: every request answered', async () => {
    const file = path.join(evidence, 'swapped.jpg');
    const parts = path.join(tmp, 'parts');
    const swapper = await startSwapping(parts, file);
    const outcomes = { served: 0, refused: 0 };
    try {
      for (let i = 0; i < 300; i++) {
        const r = await call(`/media/image/${ids.swapped}?k=${host.mediaKey}`);
        assert.notEqual(r, 'hung', `media request ${i + 1} waited on the FIFO`);
        if (r === 'hung') return;
        if (r.status === 200) {
          assert.ok(r.body.equals(photos.swapped), 'the photo\'s bytes, whole');
          outcomes.served++;
        } else {
          assert.equal(r.status, 404);
          outcomes.refused++;
        }
      }
    } finally {
      await stopSwapping(swapper);
    }
    console.log(`# media under the FIFO swap: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.served > 0 && outcomes.refused > 0, `both states were met: ${JSON.stringify(outcomes)}`);
    assert.ok(readFileSync(path.join(parts, 'regular')).equals(photos.swapped));
  });
  it('the Electron media scheme reads the same swapped photo through the descriptor it checked: every request answered', async () => {
    const file = path.join(evidence, 'swapped.jpg');
    const parts = path.join(tmp, 'parts');
    const quiet = { info() {}, warn() {}, error() {} };
    const handler = createMediaHandler({ source: { mediaPath: () => file, mediaRoots: () => [evidence] }, log: quiet });
    const swapper = await startSwapping(parts, file);
    const outcomes = { served: 0, refused: 0 };
    try {
      for (let i = 0; i < 300; i++) {
        const answer = await Promise.race([
          handler(new Request(`quari-media://image/${ids.swapped}`)),
          new Promise<'hung'>((resolve) => setTimeout(resolve, 20_000, 'hung').unref()),
        ]);
        assert.notEqual(answer, 'hung', `media request ${i + 1} waited on the FIFO`);
        if (answer === 'hung') return;
        if (answer.status === 200) {
          assert.ok(Buffer.from(await answer.arrayBuffer()).equals(photos.swapped), 'the photo\'s bytes, whole');
          outcomes.served++;
        } else {
          assert.ok(answer.status === 403 || answer.status === 404, `status ${answer.status}`);
          outcomes.refused++;
        }
      }
    } finally {
      await stopSwapping(swapper);
    }
    console.log(`# Electron media under the FIFO swap: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.served > 0 && outcomes.refused > 0, `both states were met: ${JSON.stringify(outcomes)}`);
  });
});
