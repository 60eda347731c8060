// The Electron IPC handlers and media scheme in front of the REAL AppService on a real temp catalog: ingest of a
// small evidence folder with the default pack, search, cases, validation and error mapping, and media serving
// that refuses an evidence symlink pointing outside the folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openCatalog } from '../../db/CatalogStore.ts';
import { createAppService, type AppService } from '../../electron/engine/app/AppService.ts';
import type { IngestProgress, QuariEvent, SearchResponse } from '../../electron/shared/api.ts';
import type { Envelope } from '../../electron/shared/protocol/routes.ts';
import { registerApiHandlers, type InvokeEventLike, type IpcLike } from '../../electron/main/ipc.ts';
import type { Logger } from '../../electron/main/log.ts';
import { createMediaHandler } from '../../electron/main/protocol.ts';
import { isAppUrl } from '../../electron/main/security.ts';
import { defaultPack, noisePng } from './ingest-helpers.ts';

let dir: string;
let evidence: string;
let service: AppService;
const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
const logged: string[] = [];
const log: Logger = { info: (m) => logged.push(`info ${m}`), warn: (m) => logged.push(`warn ${m}`), error: (m) => logged.push(`error ${m}`) };

async function invoke<T = unknown>(method: string, ...args: unknown[]): Promise<Envelope<T>> {
  const handler = handlers.get(`quari:${method}`);
  assert.ok(handler, `no handler for ${method}`);
  return (await handler({ senderFrame: { url: 'quari-app://ui/index.html' } }, ...args)) as Envelope<T>;
}

async function value<T>(method: string, ...args: unknown[]): Promise<T> {
  const result = await invoke<T>(method, ...args);
  if (!result.ok) assert.fail(`${method} failed: ${result.error.code}: ${result.error.message}`);
  return result.value;
}

before(async () => {
  await defaultPack(); // builds the default pack from nsfwjs when `npm install` has not
  dir = mkdtempSync(path.join(tmpdir(), 'quari-electron-ipc-'));
  evidence = path.join(dir, 'evidence');
  mkdirSync(evidence);
  mkdirSync(path.join(dir, 'outside'));
  for (let i = 0; i < 3; i++) writeFileSync(path.join(evidence, `IMG_${i}.png`), await noisePng(i + 1, true));
  writeFileSync(path.join(dir, 'outside', 'secret.png'), await noisePng(4, true));
  // Catalogued as a regular file; swapped for a link out of the folder after the ingest (ingest itself refuses
  // such links), so the media scheme's own containment check is what must refuse it.
  writeFileSync(path.join(evidence, 'link.png'), readFileSync(path.join(dir, 'outside', 'secret.png')));

  await openApp();
});

/** Opens the catalog and registers the handlers in front of it, as main does at start. */
async function openApp(): Promise<void> {
  handlers.clear();
  service = await createAppService({ catalogPath: path.join(dir, 'case.quari'), dataHome: path.join(dir, 'home') });
  const ipc: IpcLike = { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) };
  registerApiHandlers(ipc, service, { log, chooseFolder: async () => null, isTrustedSender: (e) => isAppUrl(e.senderFrame?.url) });
}

/** Starts an ingest through IPC and resolves with its final progress event (what main forwards on quari:event). */
async function ingest(folder: string): Promise<IngestProgress> {
  const finished = new Promise<IngestProgress>((resolve) => {
    const onEvent = (e: QuariEvent) => {
      if (e.type === 'ingest-progress' && ['done', 'failed', 'cancelled'].includes(e.progress.state)) {
        service.events.off('event', onEvent);
        resolve(e.progress);
      }
    };
    service.events.on('event', onEvent);
  });
  const started = await value<IngestProgress>('startIngest', folder);
  assert.equal(started.root, folder);
  return finished;
}

after(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('catalog info, ingest with progress events, then search, media and cases through the handlers', async () => {
  const info = await value<{ images: number; activePackId: string | null }>('getCatalogInfo');
  assert.equal(info.images, 0);
  assert.equal(info.activePackId, 'mobilenetv2-nsfwjs');

  const progress = await ingest(evidence);
  assert.equal(progress.state, 'done', progress.error);
  // Close and reopen, as after an app restart: evidence roots and media must come back from the catalog file.
  await service.close();
  await openApp();
  assert.equal((await value<{ images: number }>('getCatalogInfo')).images, 4);

  const query = await value<{ queryImageId: string; url: string }>('addQueryImage', { name: 'query.png', bytes: new Uint8Array(await noisePng(2, true)) });
  assert.match(query.url, /^quari-media:\/\/query\//);
  const results = await value<SearchResponse>('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', k: 0, top: 10 });
  assert.equal(results.hits.length, 4);
  assert.equal(path.basename(results.hits[0].path), 'IMG_1.png', 'the identical photo ranks first');

  rmSync(path.join(evidence, 'link.png'));
  symlinkSync(path.join(dir, 'outside', 'secret.png'), path.join(evidence, 'link.png'));
  const media = createMediaHandler({ source: service, log });
  const get = (url: string) => media(new Request(url));
  const queryImage = await get(query.url);
  assert.equal(queryImage.status, 200);
  assert.equal(queryImage.headers.get('content-type'), 'image/png');
  for (const hit of results.hits) {
    const thumb = await get(hit.thumbnailUrl);
    assert.equal(thumb.status, 200, hit.thumbnailUrl);
    assert.match(thumb.headers.get('content-type') ?? '', /^image\//);
    const image = await get(hit.imageUrl);
    if (path.basename(hit.path) === 'link.png') {
      assert.equal(image.status, 403, 'an evidence symlink pointing outside the folder is not served');
    } else {
      assert.equal(image.status, 200, hit.imageUrl);
      assert.deepEqual(Buffer.from(await image.arrayBuffer()), readFileSync(hit.path));
    }
  }
  assert.ok(logged.some((l) => /^warn media: refused image\/\d+ -> .*link\.png: outside$/.test(l)));
  assert.equal((await get('quari-media://image/999999')).status, 404);
  assert.equal((await get('quari-media://query/0000.png')).status, 404);

  // Cases: create, tag from the search, note, export; typed errors for what does not exist.
  const created = await value<{ caseId: number; categories: { categoryId: number }[] }>('createCase', { name: 'Case 7', categories: ['logo', 'vehicle'] });
  const tagged = await value<{ items: { imageId: number }[] }>('tagImage', {
    caseId: created.caseId,
    imageId: results.hits[0].imageId,
    categoryId: created.categories[0].categoryId,
    searchId: results.searchId,
  });
  assert.deepEqual(tagged.items.map((i) => i.imageId), [results.hits[0].imageId]);
  await value('setNote', { caseId: created.caseId, imageId: results.hits[0].imageId, text: 'same shirt' });
  const exported = await value<{ path: string; bytes: number }>('exportCase', { caseId: created.caseId, format: 'json' });
  assert.ok(exported.bytes > 0);
  assert.ok(!exported.path.startsWith(evidence), 'exports never land in the evidence folder');

  assert.deepEqual(await invoke('getCase', 424242), { ok: false, error: { code: 'not-found', message: 'case 424242 does not exist' } });
  // The catalog's own refusal of a name taken twice travels as a conflict, with its message.
  assert.deepEqual(await invoke('createCase', { name: 'case 7', categories: [] }), {
    ok: false,
    error: { code: 'conflict', message: "createCase: a case named 'case 7' already exists" },
  });
  const wrongCategory = await invoke('tagImage', { caseId: created.caseId, imageId: results.hits[0].imageId, categoryId: 999, searchId: null });
  assert.equal(wrongCategory.ok, false);
  if (!wrongCategory.ok) assert.equal(wrongCategory.error.code, 'not-found');
  const unknownQuery = await invoke('search', { queryImageId: 'deadbeef.png', crops: [], mode: 'baseline' });
  assert.equal(unknownQuery.ok, false);
  if (!unknownQuery.ok) assert.equal(unknownQuery.error.code, 'not-found');
});

test('bad arguments are refused by validation before the engine; engine refusals keep their code', async () => {
  for (const [method, args] of [
    ['startIngest', ['relative/evidence']],
    ['getCase', [-1]],
    ['search', [{ queryImageId: 'q', crops: [{ x: 0, y: 0, w: Number.NaN, h: 1 }], mode: 'baseline' }]],
    ['addQueryImage', [{ name: 'x.png', bytes: new Uint8Array(0) }]],
    ['setSettings', [{ explicitThreshold: 2 }]],
    ['setActivePack', ['../../etc']],
  ] as [string, unknown[]][]) {
    const result = await invoke(method, ...args);
    assert.equal(result.ok, false, method);
    if (!result.ok) assert.equal(result.error.code, 'bad-request', `${method}: ${result.error.message}`);
  }
  const notAFolder = await invoke('startIngest', path.join(dir, 'does-not-exist'));
  assert.equal(notAFolder.ok, false);
  if (!notAFolder.ok) assert.match(notAFolder.error.message, /does-not-exist is not a folder/);
  const noPack = await invoke('setActivePack', 'no-such-pack');
  assert.deepEqual(noPack, { ok: false, error: { code: 'not-found', message: 'no model pack "no-such-pack"' } });
  const notImage = await invoke('addQueryImage', { name: 'notes.txt', bytes: new TextEncoder().encode('hello') });
  assert.equal(notImage.ok, false);
  if (!notImage.ok) {
    assert.equal(notImage.error.code, 'bad-request');
    assert.ok(!/\n\s+at /.test(notImage.error.message), 'no stack crosses IPC');
  }
  const settings = await value<{ examiner: string }>('setSettings', { blurAll: true });
  assert.deepEqual(settings, { blurAll: true, explicitThreshold: 0.5, examiner: settings.examiner });
  assert.ok(settings.examiner.length > 0, 'the examiner defaults to the OS user');
  assert.deepEqual(await value('setSettings', { examiner: 'Examiner B' }), { blurAll: true, explicitThreshold: 0.5, examiner: 'Examiner B' });
});

test('a search right after the ingest-done event succeeds', async () => {
  const again = path.join(dir, 'evidence-2');
  mkdirSync(again);
  writeFileSync(path.join(again, 'IMG_9.png'), await noisePng(9, true));
  assert.equal((await ingest(again)).state, 'done');
  const query = await value<{ queryImageId: string }>('addQueryImage', { name: 'q9.png', bytes: new Uint8Array(await noisePng(9, true)) });
  const results = await value<SearchResponse>('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', k: 0, top: 3 });
  assert.equal(path.basename(results.hits[0].path), 'IMG_9.png');
});

test('ingest jobs carry the stored run id and one count vocabulary; query names live in their own table', async () => {
  const folder = path.join(dir, 'evidence-3');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'IMG_31.png'), await noisePng(3, true));
  const events: IngestProgress[] = [];
  const onEvent = (e: QuariEvent) => {
    if (e.type === 'ingest-progress') events.push(e.progress);
  };
  service.events.on('event', onEvent);
  const finished = await ingest(folder);
  const rerun = await ingest(folder);
  service.events.off('event', onEvent);
  const reader = openCatalog(path.join(dir, 'case.quari'));
  const runs = reader.listIngestRuns({ limit: 2 });
  assert.deepEqual([rerun.runId, finished.runId], runs.map((r) => String(r.id)), 'runId is the stored ingest run id');
  for (const p of events) assert.ok(p.runId === finished.runId || p.runId === rerun.runId, `event with run id ${p.runId}`);
  // Same words from the first event to the last: a new file is added, an unchanged one skipped, both runs.
  assert.deepEqual([finished.added, finished.skipped, finished.failed, finished.done], [1, 0, 0, 1]);
  assert.deepEqual([rerun.added, rerun.skipped, rerun.failed, rerun.done], [0, 1, 0, 1]);
  const query = await value<{ queryImageId: string }>('addQueryImage', { name: 'kitchen lamp.png', bytes: new Uint8Array(await noisePng(3, true)) });
  assert.deepEqual(reader.getQueryImage(query.queryImageId)?.name, 'kitchen lamp.png');
  assert.equal(reader.getSetting(`queryName:${query.queryImageId}`), undefined, 'not in settings any more');
  await value('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', top: 1 });
  const history = await value<{ request: { queryName: string } }[]>('listSearches');
  assert.equal(history[0]!.request.queryName, 'kitchen lamp.png');
  reader.close();
});
