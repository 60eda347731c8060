// Run bookkeeping (issue 11.9), through the real `quari ingest` CLI and a real catalog: a run killed with -9 is
// marked 'interrupted' at the next open (a run whose owner is still alive is left running), and the exit codes are
// distinct: 0 done, 3 finished with files recorded as failed, 1 error, 2 usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack } from '../integration/ingest-helpers.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'bin', 'quari.mjs');
const root = mkdtempSync(join(tmpdir(), 'quari-sec-runs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

function quari(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, QUARI_HOME: join(root, 'home') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const runs = (file: string) => {
  const c = openCatalog(file);
  try {
    return c.listIngestRuns().map((r) => ({ status: r.status, finished: r.finishedAt !== null, error: r.error }));
  } finally {
    c.close();
  }
};

async function evidence(dir: string, n: number, broken: boolean): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `p${i}.jpg`), await (await photoLike(300 + i, 480, 360)).jpeg({ quality: 85 }).toBuffer());
  if (broken) writeFileSync(join(dir, 'broken.jpg'), 'not a jpeg');
  return dir;
}

test('a run killed with -9 is marked interrupted at the next open; a rerun finishes it', async () => {
  const pack = await defaultPack();
  const folder = await evidence(join(root, 'ev-kill'), 24, true);
  const catalog = join(root, 'kill.sqlite');
  const child = spawn(process.execPath, [CLI, 'ingest', folder, '--catalog', catalog, '--pack', pack.dir], { cwd: REPO, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (;;) {
    let n = 0;
    try {
      const db = new Database(catalog, { readonly: true, fileMustExist: true });
      n = (db.prepare(`SELECT count(*) AS n FROM images WHERE status = 'ok'`).get() as { n: number }).n;
      db.close();
    } catch { /* not created yet */ }
    if (n >= 1) break;
    assert.equal(child.exitCode, null, 'quari ingest finished before it could be killed');
    await new Promise((r) => setTimeout(r, 15));
  }
  child.kill('SIGKILL');
  await exited;

  assert.deepEqual(runs(catalog), [{ status: 'interrupted', finished: true, error: 'the ingest process ended without finishing the run (killed or crashed); run ingest again to resume' }]);
  const rerun = quari('ingest', folder, '--catalog', catalog, '--pack', pack.dir, '--json');
  // the broken file fails in whichever run reaches it first; a file already recorded as failed is not retried
  const failed = JSON.parse(rerun.stdout.trim().split('\n').at(-1)!).failed as number;
  assert.equal(rerun.status, failed > 0 ? 3 : 0, rerun.stderr);
  assert.deepEqual(runs(catalog).map((r) => r.status), ['done', 'interrupted']);
});

test('a running run whose owner process is alive is left running by another open', async (t) => {
  const catalog = join(root, 'live.sqlite');
  openCatalog(catalog).close();
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => owner.kill('SIGKILL'));
  const db = new Database(catalog);
  db.prepare(`INSERT INTO ingest_runs (root, status, started_at, owner_pid, owner_host) VALUES ('/evidence', 'running', ?, ?, ?)`)
    .run(new Date().toISOString(), owner.pid, hostname());
  db.close();
  assert.deepEqual(runs(catalog).map((r) => r.status), ['running'], 'the owner is alive (the app ingesting while the CLI opens)');
  owner.kill('SIGKILL');
  await new Promise((resolve) => owner.on('exit', resolve));
  assert.deepEqual(runs(catalog).map((r) => r.status), ['interrupted']);
});

test('exit codes: 0 done, 3 finished with failed files, 1 error, 2 usage; documented in quari --help', async () => {
  const pack = await defaultPack();
  const folder = await evidence(join(root, 'ev-clean'), 2, false);
  const ok = quari('ingest', folder, '--catalog', join(root, 'clean.sqlite'), '--pack', pack.dir);
  assert.equal(ok.status, 0, ok.stderr);
  writeFileSync(join(folder, 'broken.jpg'), 'not a jpeg');
  const partly = quari('ingest', folder, '--catalog', join(root, 'clean.sqlite'), '--pack', pack.dir);
  assert.equal(partly.status, 3, partly.stderr);
  assert.match(partly.stdout, /failed 1 in/);
  const error = quari('ingest', join(root, 'no-such-folder'), '--catalog', join(root, 'clean.sqlite'), '--pack', pack.dir);
  assert.equal(error.status, 1);
  assert.match(error.stderr, /no-such-folder/);
  assert.equal(quari('ingest', folder).status, 2);
  const help = quari('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit codes: 0 done; 1 error .*; 2 usage error;\n3 ingest finished but some files were recorded as failed; 4 audit verify found the audit log broken; 130 ingest cancelled/);
});
