// The app's hash-set import off the engine's thread, through the shared dispatch on the real AppService: while a
// list of 3M hashes is being read on the import's worker thread, a search (which writes its audit record), the
// catalog browser and a case creation all complete, a second import is refused as 'conflict', and progress events
// report records, the share read and records/s. Cancelled, the import rejects with 'conflict' and leaves no set;
// run to the end, the same kind of file is imported whole, matched, and its final event carries the set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createAppService, type AppService } from '../../electron/engine/app/AppService.ts';
import type { HashSetImportProgress, HashSetInfo, IngestProgress, QuariEvent, SearchResponse } from '../../electron/shared/api.ts';
import { dispatch } from '../../electron/shared/protocol/dispatch.ts';
import { defaultPack, noisePng } from './ingest-helpers.ts';

const BIG_LIST_LINES = 3_000_000;
const context = { chooseFolder: async () => null, log: { warn: () => undefined, error: () => undefined } };

let dir: string;
let service: AppService;
const events: HashSetImportProgress[] = [];

async function value<T>(method: string, ...args: unknown[]): Promise<T> {
  const r = await dispatch(service, method, args, context);
  if (!r.ok) assert.fail(`${method} failed: ${r.error.code}: ${r.error.message}`);
  return r.value as T;
}

/** A plain list of `lines` random MD5s (hex, one per line), written in 1 MiB-ish blocks. */
function bigList(file: string, lines: number): void {
  const fd = openSync(file, 'w');
  try {
    const perBlock = 30_000;
    for (let done = 0; done < lines; done += perBlock) {
      const n = Math.min(perBlock, lines - done);
      const hex = randomBytes(16 * n).toString('hex');
      const out = Buffer.allocUnsafe(33 * n);
      for (let i = 0; i < n; i++) {
        out.write(hex.slice(32 * i, 32 * i + 32), 33 * i, 'latin1');
        out[33 * i + 32] = 10;
      }
      writeSync(fd, out);
    }
  } finally {
    closeSync(fd);
  }
}

/** Resolves with the first import event `accept` takes. */
function nextImportEvent(accept: (p: HashSetImportProgress) => boolean): Promise<HashSetImportProgress> {
  return new Promise((resolve) => {
    const onEvent = (e: QuariEvent) => {
      if (e.type === 'hashset-import-progress' && accept(e.progress)) {
        service.events.off('event', onEvent);
        resolve(e.progress);
      }
    };
    service.events.on('event', onEvent);
  });
}

before(async () => {
  await defaultPack();
  dir = mkdtempSync(path.join(tmpdir(), 'quari-hashset-thread-'));
  const evidence = path.join(dir, 'evidence');
  mkdirSync(evidence);
  for (let i = 0; i < 3; i++) writeFileSync(path.join(evidence, `IMG_${i}.png`), await noisePng(i + 1));
  service = await createAppService({ catalogPath: path.join(dir, 'case.quari'), dataHome: path.join(dir, 'home') });
  service.events.on('event', (e: QuariEvent) => {
    if (e.type === 'hashset-import-progress') events.push(e.progress);
  });
  const finished = new Promise<IngestProgress>((resolve) =>
    service.events.on('event', (e: QuariEvent) => {
      if (e.type === 'ingest-progress' && ['done', 'failed', 'cancelled'].includes(e.progress.state)) resolve(e.progress);
    }),
  );
  await value('startIngest', evidence);
  assert.equal((await finished).state, 'done');
  bigList(path.join(dir, 'big.txt'), BIG_LIST_LINES);
});

after(async () => {
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('search, browsing and a case creation complete while a 3M-hash import is read; cancelled, it leaves nothing', async () => {
  const query = await value<{ queryImageId: string }>('addQueryImage', { name: 'q.png', bytes: new Uint8Array(await noisePng(2)) });
  // The first search loads the encoder; the one during the import must not wait for anything but itself.
  await value<SearchResponse>('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', k: 0, top: 3 });

  events.length = 0;
  const reading = nextImportEvent((p) => p.state === 'reading' && p.records > 0);
  const importing = dispatch(service, 'importHashSet', [{ path: path.join(dir, 'big.txt'), name: 'big' }], context);
  const first = await reading;
  assert.equal(first.name, 'big');

  const results = await value<SearchResponse>('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', k: 0, top: 3 });
  assert.equal(results.hits.length, 3);
  const browsed = await value<{ total: number }>('browseImages', {});
  assert.equal(browsed.total, 3);
  await value('createCase', { name: 'during the import', categories: ['CAM'] });
  const second = await dispatch(service, 'importHashSet', [{ path: path.join(dir, 'big.txt'), name: 'again' }], context);
  assert.equal(second.ok, false);
  assert.equal(!second.ok && second.error.code, 'conflict');

  // Still reading after all of that: the calls above were answered during the import, not after it.
  assert.ok(!events.some((p) => p.state !== 'reading'), `the import had left the reading phase: ${JSON.stringify(events.at(-1))}`);
  await value('cancelHashSetImport');
  const outcome = await importing;
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.error.code, 'conflict');
  assert.match(!outcome.ok ? outcome.error.message : '', /cancelled; nothing was imported/);
  assert.equal(events.at(-1)!.state, 'cancelled');
  const reads = events.filter((p) => p.state === 'reading');
  assert.ok(reads.at(-1)!.fraction > 0 && reads.at(-1)!.fraction < 1, `fraction ${reads.at(-1)!.fraction}`);
  assert.ok(reads.at(-1)!.recordsPerSecond > 0);
  for (let i = 1; i < reads.length; i++) assert.ok(reads[i]!.records >= reads[i - 1]!.records, 'records never step back');
  const { sets } = await value<{ sets: HashSetInfo[] }>('listHashSets');
  assert.deepEqual(sets, []);
});

test('an import run to the end ends with a done event carrying the set, matched against the catalog', async () => {
  const list = path.join(dir, 'small.txt');
  const catalogued = await value<{ images: { imageId: number }[] }>('browseImages', {});
  const details = await value<{ hashes: { md5: string | null } }>('getImageDetails', catalogued.images[0]!.imageId);
  assert.ok(details.hashes.md5);
  writeFileSync(list, `${details.hashes.md5}\n${randomBytes(16).toString('hex')}\n`);
  events.length = 0;
  const set = await value<HashSetInfo>('importHashSet', { path: list, kind: 'ignorable' });
  assert.equal(set.hashCount, 2);
  assert.equal(set.matchedImages, 1);
  const last = events.at(-1)!;
  assert.equal(last.state, 'done');
  assert.equal(last.set?.id, set.id);
  assert.ok(events.some((p) => p.state === 'committing'));
});
