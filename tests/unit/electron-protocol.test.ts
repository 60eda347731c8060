// The app and media scheme handlers on real files: what they serve, with which headers, and what they refuse.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Logger } from '../../electron/main/log.ts';
import {
  appFileFor,
  createAppHandler,
  createMediaHandler,
  parseMediaUrl,
  type MediaKind,
  type MediaSource,
} from '../../electron/main/protocol.ts';

function recordingLog() {
  const entries: string[] = [];
  const log: Logger = { info: (m) => entries.push(`info ${m}`), warn: (m) => entries.push(`warn ${m}`), error: (m) => entries.push(`error ${m}`) };
  return { log, entries };
}

let dir: string;
let dataDir: string;
let evidence: string;
let renderer: string;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'quari-protocol-'));
  dataDir = path.join(dir, 'cat.quari.data');
  evidence = path.join(dir, 'evidence');
  renderer = path.join(dir, 'renderer');
  for (const d of [path.join(dataDir, 'thumbs'), path.join(dataDir, 'queries'), evidence, path.join(renderer, 'assets')]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(dataDir, 'thumbs', '1.webp'), Buffer.from('RIFFthumb'));
  writeFileSync(path.join(dataDir, 'queries', 'q1.png'), Buffer.from('PNGquery'));
  writeFileSync(path.join(evidence, 'IMG_1.JPG'), Buffer.from('JPEGphoto'));
  writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  symlinkSync(path.join(dir, 'secret.txt'), path.join(evidence, 'planted.jpg'));
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>QuARI</title>');
  writeFileSync(path.join(renderer, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'outside.js'), 'alert(1)');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A catalog of ids → files, as AppService.mediaPath resolves them. */
function source(): MediaSource & { calls: string[] } {
  const files: Record<string, string> = {
    'thumb/1': path.join(dataDir, 'thumbs', '1.webp'),
    'image/1': path.join(evidence, 'IMG_1.JPG'),
    'query/q1': path.join(dataDir, 'queries', 'q1.png'),
    'image/2': path.join(evidence, 'planted.jpg'), // a catalog row pointing at a symlink that leaves the root
    'image/3': path.join(dir, 'secret.txt'), // a catalog row pointing outside every root
    'image/4': path.join(evidence, 'gone.jpg'), // a file deleted since ingest
  };
  const calls: string[] = [];
  return {
    calls,
    mediaPath: (kind: MediaKind, id: string) => {
      calls.push(`${kind}/${id}`);
      return files[`${kind}/${id}`] ?? null;
    },
    mediaRoots: () => [dataDir, evidence],
  };
}

describe('media scheme', () => {
  test('parses kind and id, refusing anything else', () => {
    assert.deepEqual(parseMediaUrl('quari-media://thumb/12'), { kind: 'thumb', id: '12' });
    assert.deepEqual(parseMediaUrl('quari-media://query/q_1-a.b'), { kind: 'query', id: 'q_1-a.b' });
    for (const url of [
      'quari-media://file/12',
      'quari-media://thumb/',
      'quari-media://thumb/a/b',
      'quari-media://thumb/..%2F..%2Fetc%2Fpasswd',
      'quari-media://thumb/%2Fetc%2Fpasswd',
      'quari-media://thumb/12?x=1',
      'quari-media://user@thumb/12',
      'quari-media://thumb:99/12',
      'quari-app://thumb/12',
      'https://thumb/12',
    ]) {
      assert.equal(parseMediaUrl(url), null, url);
    }
  });

  test('serves thumbnails, evidence images and query images with their type and nosniff', async () => {
    const handler = createMediaHandler({ source: source(), log: recordingLog().log });
    for (const [url, type, body] of [
      ['quari-media://thumb/1', 'image/webp', 'RIFFthumb'],
      ['quari-media://image/1', 'image/jpeg', 'JPEGphoto'],
      ['quari-media://query/q1', 'image/png', 'PNGquery'],
    ]) {
      const res = await handler(new Request(url));
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await res.text(), body);
    }
  });

  test('refuses files outside every root, symlink escapes, unknown ids and bad URLs', async () => {
    const src = source();
    const { log, entries } = recordingLog();
    const handler = createMediaHandler({ source: src, log });
    const status = async (url: string, method = 'GET') => (await handler(new Request(url, { method }))).status;
    assert.equal(await status('quari-media://image/2'), 403);
    assert.equal(await status('quari-media://image/3'), 403);
    assert.equal(await status('quari-media://image/4'), 404);
    assert.equal(await status('quari-media://image/999'), 404);
    assert.equal(await status('quari-media://image/..%2F..%2Fsecret.txt'), 400);
    assert.equal(await status('quari-media://thumb/1', 'POST'), 405);
    // Malformed URLs never reach the engine.
    assert.deepEqual(src.calls, ['image/2', 'image/3', 'image/4', 'image/999']);
    assert.ok(entries.some((e) => e.startsWith('warn media: refused image/2') && e.endsWith('outside')));
    assert.ok(entries.some((e) => e.startsWith('warn media: refused image/3')));
  });

  test('an engine that throws yields a 500 and a log entry, not a crash', async () => {
    const { log, entries } = recordingLog();
    const handler = createMediaHandler({
      source: { mediaPath: () => { throw new Error('catalog closed'); }, mediaRoots: () => [dataDir] },
      log,
    });
    const res = await handler(new Request('quari-media://thumb/1'));
    assert.equal(res.status, 500);
    assert.ok(entries.some((e) => /catalog closed/.test(e)));
  });
});

describe('app scheme', () => {
  const csp = "default-src 'none'";

  test('maps app URLs into the renderer folder only', () => {
    assert.equal(appFileFor('quari-app://ui/', renderer), path.join(renderer, 'index.html'));
    assert.equal(appFileFor('quari-app://ui/index.html', renderer), path.join(renderer, 'index.html'));
    assert.equal(appFileFor('quari-app://ui/assets/index-abc.js?v=1', renderer), path.join(renderer, 'assets', 'index-abc.js'));
    assert.equal(appFileFor('quari-app://ui/../outside.js', renderer), path.join(renderer, 'outside.js')); // URL parsing drops `..`
    assert.equal(appFileFor('quari-app://ui/%2e%2e/outside.js', renderer), path.join(renderer, 'outside.js'));
    assert.equal(appFileFor('quari-app://ui/assets/..%2F..%2Foutside.js', renderer), null);
    assert.equal(appFileFor('quari-app://ui/..%5Coutside.js', renderer), null);
    assert.equal(appFileFor('quari-app://ui/x%00.js', renderer), null);
    assert.equal(appFileFor('quari-app://other/index.html', renderer), null);
    assert.equal(appFileFor('quari-media://ui/index.html', renderer), null);
  });

  test('serves the UI with the CSP and security headers; 404 for anything else', async () => {
    const handler = createAppHandler({ root: renderer, csp, log: recordingLog().log });
    const index = await handler(new Request('quari-app://ui/index.html'));
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), csp);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await index.text(), /QuARI/);
    const js = await handler(new Request('quari-app://ui/assets/index-abc.js'));
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await handler(new Request('quari-app://ui/assets/..%2F..%2Foutside.js'))).status, 404);
    assert.equal((await handler(new Request('quari-app://ui/missing.js'))).status, 404);
  });
});
