// Hash-set imports are part of the record of what was done: `quari hashset import` and the app's import (on its
// worker thread, with its own connection) each append 'hashset.imported' — set, format, source SHA-256, counts —
// in the transaction that adds the set, as the session's examiner; a refused file adds no record; the chain still
// verifies afterwards.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCatalog } from '../../db/CatalogStore.ts';
import { createAppService } from '../../electron/engine/app/AppService.ts';
import { dispatch } from '../../electron/shared/protocol/dispatch.ts';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../bin/quari.mjs');
const root = mkdtempSync(join(tmpdir(), 'quari-hashset-audit-'));
after(() => rmSync(root, { recursive: true, force: true }));
const env = { ...process.env, QUARI_HOME: join(root, 'home'), QUARI_EXAMINER: 'Examiner H. Ash' };
const quari = async (...args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args], { env })).stdout;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

type AuditRow = { event: string; examiner: string; data: Record<string, unknown> };
const records = async (catalog: string): Promise<AuditRow[]> => JSON.parse(await quari('audit', 'list', '--catalog', catalog, '--limit', '100', '--json'));

test('quari hashset import records the set with its source hash as the examiner; a refused file records nothing', async () => {
  const catalog = join(root, 'cli.quari');
  const list = join(root, 'list.txt');
  writeFileSync(list, `${'a'.repeat(32)}\n${'b'.repeat(32)}\n`);
  await quari('hashset', 'import', list, '--catalog', catalog, '--name', 'Seized list', '--json');

  const [newest] = await records(catalog);
  assert.equal(newest!.event, 'hashset.imported');
  assert.equal(newest!.examiner, 'Examiner H. Ash');
  assert.equal(newest!.data.name, 'Seized list');
  assert.equal(newest!.data.format, 'text');
  assert.equal(newest!.data.sourceSha256, sha256(list));
  assert.equal(newest!.data.hashes, 2);

  const bad = join(root, 'bad.txt');
  writeFileSync(bad, `${'c'.repeat(32)}\nnot-a-hash\n`);
  const imports = async () => (await records(catalog)).filter((r) => r.event === 'hashset.imported').length;
  assert.equal(await imports(), 1);
  await assert.rejects(quari('hashset', 'import', bad, '--catalog', catalog, '--name', 'Bad list'));
  assert.equal(await imports(), 1, 'a refused import leaves no hashset.imported record');
  assert.equal(JSON.parse(await quari('audit', 'verify', '--catalog', catalog, '--json')).ok, true);
});

test("the app's import on its worker thread is recorded as the catalog's examiner", async () => {
  const catalogPath = join(root, 'app.quari');
  const list = join(root, 'app-list.txt');
  writeFileSync(list, `${'d'.repeat(40)}\n`);
  const service = await createAppService({ catalogPath, dataHome: join(root, 'home') });
  const context = { chooseFolder: async () => null, log: { warn: () => undefined, error: () => undefined } };
  try {
    const named = await dispatch(service, 'setSettings', [{ examiner: 'Examiner W. Orker' }], context);
    assert.ok(named.ok);
    const imported = await dispatch(service, 'importHashSet', [{ path: list, name: 'App list' }], context);
    assert.ok(imported.ok, JSON.stringify(imported));
  } finally {
    await service.close();
  }
  const store = openCatalog(catalogPath);
  try {
    const [newest] = store.listAudit({ limit: 1 });
    assert.equal(newest!.event, 'hashset.imported');
    assert.equal(newest!.examiner, 'Examiner W. Orker');
    assert.equal(newest!.data.sourceSha256, sha256(list));
    assert.equal(newest!.data.format, 'text');
    assert.equal(store.verifyAudit().ok, true);
  } finally {
    store.close();
  }
});
