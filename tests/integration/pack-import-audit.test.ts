// `quari pack import --catalog F` run as the CLI an examiner would: the import lands in the catalog's hash-chained
// audit log as 'pack.imported' with the manifest's canonical SHA-256, the source and install folders, and the chain
// still verifies; a pack that fails verification is neither installed nor recorded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { canonicalSha256 } from '../../db/audit.ts';
import { makePack } from '../helpers/tinyPack.ts';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../bin/quari.mjs');
const root = mkdtempSync(join(tmpdir(), 'quari-pack-audit-'));
after(() => rmSync(root, { recursive: true, force: true }));
const env = { ...process.env, QUARI_HOME: join(root, 'home'), QUARI_EXAMINER: 'Examiner P. Ack' };
const catalog = join(root, 'catalog.sqlite');
const quari = async (...args: string[]) => (await promisify(execFile)(process.execPath, [CLI, ...args], { env })).stdout;

type Record = { event: string; examiner: string; data: { [k: string]: unknown } };
const records = async (): Promise<Record[]> => JSON.parse(await quari('audit', 'list', '--catalog', catalog, '--limit', '100', '--json'));

test('an import with --catalog is recorded in that catalog, with the manifest hash, and the chain verifies', async () => {
  const source = join(root, 'usb', 'case-pack');
  const manifest = makePack(source, 'case-pack');
  const out = JSON.parse(await quari('pack', 'import', source, '--catalog', catalog, '--json'));
  assert.equal(out.id, 'case-pack');
  assert.equal(out.auditedIn, catalog);
  const installed = join(root, 'home', 'packs', 'case-pack');
  assert.equal(out.dir, installed);
  assert.ok(existsSync(join(installed, 'manifest.json')));

  const [newest] = await records();
  assert.equal(newest!.event, 'pack.imported');
  assert.equal(newest!.examiner, 'Examiner P. Ack');
  assert.deepEqual(newest!.data, {
    packId: 'case-pack', version: '1', name: 'Test', source, installedAt: installed,
    manifestSha256: canonicalSha256(manifest), checkpointSha256: null, files: 2,
  });
  const verified = JSON.parse(await quari('audit', 'verify', '--catalog', catalog, '--json'));
  assert.equal(verified.ok, true);
});

test('a pack that fails verification is not installed and leaves no pack.imported record', async () => {
  const source = join(root, 'usb', 'bad-pack');
  makePack(source, 'bad-pack');
  writeFileSync(join(source, 'encoder.onnx'), 'swapped encoder bytes!');
  const before = (await records()).filter((r) => r.event === 'pack.imported').length;
  await assert.rejects(quari('pack', 'import', source, '--catalog', catalog), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /encoder\.onnx/);
    return true;
  });
  assert.equal(existsSync(join(root, 'home', 'packs', 'bad-pack')), false);
  assert.equal((await records()).filter((r) => r.event === 'pack.imported').length, before);
  assert.equal(JSON.parse(await quari('audit', 'verify', '--catalog', catalog, '--json')).ok, true);
});

test('--catalog belongs to pack import only', async () => {
  await assert.rejects(quari('pack', 'verify', 'x', '--catalog', catalog), /--catalog is for pack import only/);
});
