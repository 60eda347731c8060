// Stale index (issue 11.7), through the real loopback web host and the real CLI: with the app serving a catalog,
// `quari ingest` from another process adds images; the app's next search must see them (it notices the other
// process's commits by PRAGMA data_version and reloads its index), instead of answering from its old index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { photoLike } from '../../bench/ingest-photos.ts';
import { encodeWire } from '../../electron/shared/protocol/wire.ts';
import { startHost, REPO_ROOT } from '../e2e/support/webHost.ts';
import { defaultPack } from '../integration/ingest-helpers.ts';

const CLI = join(REPO_ROOT, 'bin', 'quari.mjs');

async function photos(dir: string, seeds: number[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const s of seeds) writeFileSync(join(dir, `p${s}.jpg`), await (await photoLike(s, 320, 240)).jpeg({ quality: 85 }).toBuffer());
}

function ingest(folder: string, catalog: string, pack: string, home: string): void {
  const r = spawnSync(process.execPath, [CLI, 'ingest', folder, '--catalog', catalog, '--pack', pack], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, QUARI_HOME: home } });
  assert.equal(r.status, 0, r.stderr);
}

test('a search in the running app sees images another process ingested meanwhile', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quari-sec-stale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pack = await defaultPack();
  const catalog = join(dir, 'catalog.sqlite');
  const home = join(dir, 'home');
  await photos(join(dir, 'first'), [700, 701, 702]);
  await photos(join(dir, 'second'), [710, 711, 712, 713]);
  ingest(join(dir, 'first'), catalog, pack.dir, home);

  const host = await startHost({ catalogPath: catalog, dataHome: home });
  t.after(() => host.stop());
  // node:http without keep-alive: the CLI ingest in between outlasts the server's keep-alive timeout
  const api = (method: string, ...args: unknown[]): Promise<any> => new Promise((resolve, reject) => {
    const body = JSON.stringify({ args: encodeWire(args) });
    const req = request({
      host: '127.0.0.1', port: host.port, method: 'POST', path: `/api/${method}`, agent: false,
      headers: { 'content-type': 'application/json', 'x-quari-token': host.token, host: `127.0.0.1:${host.port}` },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${method}: HTTP ${res.statusCode} ${text.slice(0, 300)}\n${host.log()}`));
        else resolve((JSON.parse(text) as { result: unknown }).result);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  const query = await api('addQueryImage', { name: 'q.jpg', bytes: new Uint8Array(readFileSync(join(dir, 'first', 'p700.jpg'))) });
  const search = async () => (await api('search', { queryImageId: query.queryImageId, crops: [], mode: 'baseline', k: 0, top: 10000 })).hits.length as number;
  assert.equal(await search(), 3);

  ingest(join(dir, 'second'), catalog, pack.dir, home); // another process, same catalog, app running
  assert.equal(await search(), 7, 'the app answers from the catalog as it is now');
});
