import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { PackManifest } from '../../native-models/packs/manifest.ts';
import { PackRegistry } from '../../native-models/packs/registry.ts';
import { verifyPack } from '../../native-models/packs/verify.ts';

const root = mkdtempSync(join(tmpdir(), 'quari-packs-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A small but complete pack: the encoder file is arbitrary bytes, verification only checks integrity. */
function makePack(dir: string, id = 'test-pack'): PackManifest {
  mkdirSync(join(dir, 'quari'), { recursive: true });
  const files: Record<string, Buffer> = {
    'encoder.onnx': Buffer.from('not really onnx, but hashed like one'),
    'quari/config.yml': Buffer.from('hparams:\n  embedding_dim: 8\n'),
    'quari/weights.pt': Buffer.alloc(64, 7),
  };
  for (const [path, bytes] of Object.entries(files)) writeFileSync(join(dir, path), bytes);
  const manifest: PackManifest = {
    schema: 1,
    id,
    version: '1.0.0',
    name: 'Test pack',
    licence: 'MIT',
    embeddingDim: 8,
    descriptor: 'GeM of the last feature map, for the test',
    image: {
      model: 'encoder.onnx',
      inputName: 'image',
      featureMapOutput: 'features',
      featureChannels: 8,
      gemP: 3,
      preprocessing: { inputSize: [224, 224], resize: 'squash', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', layout: 'NHWC' },
    },
    quariCheckpoint: 'quari',
    files: Object.fromEntries(
      Object.entries(files).map(([path, bytes]) => [path, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }]),
    ),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}

test('a good pack verifies', async () => {
  const dir = join(root, 'good');
  const manifest = makePack(dir);
  const pack = await verifyPack(dir);
  assert.equal(pack.manifest.id, manifest.id);
  assert.equal(pack.dir, dir);
});

test('a tampered file is refused, naming the file', async () => {
  const dir = join(root, 'tampered');
  makePack(dir);
  const weights = readFileSync(join(dir, 'quari/weights.pt'));
  weights[3] ^= 0xff;
  writeFileSync(join(dir, 'quari/weights.pt'), weights);
  await assert.rejects(verifyPack(dir), /checksum mismatch for quari\/weights\.pt/);
});

test('a missing file is refused, naming the file', async () => {
  const dir = join(root, 'missing');
  makePack(dir);
  rmSync(join(dir, 'encoder.onnx'));
  await assert.rejects(verifyPack(dir), /missing file encoder\.onnx/);
});

test('a malformed manifest is refused, naming the field or the file', async () => {
  const dir = join(root, 'malformed');
  const manifest = makePack(dir);
  writeFileSync(join(dir, 'manifest.json'), '{ not json');
  await assert.rejects(verifyPack(dir), /manifest\.json is not valid JSON/);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, embeddingDim: -1 }));
  await assert.rejects(verifyPack(dir), /field "embeddingDim"/);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, files: { ...manifest.files, '../escape': manifest.files['encoder.onnx'] } }));
  await assert.rejects(verifyPack(dir), /files\["\.\.\/escape"\]/);
  const { 'quari/weights.pt': _dropped, ...withoutWeights } = manifest.files;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, files: withoutWeights }));
  await assert.rejects(verifyPack(dir), /quari\/weights\.pt/);
});

test('import copies a verified pack into the user folder; list and resolve find it', async () => {
  const source = join(root, 'to-import');
  makePack(source, 'imported-pack');
  const registry = new PackRegistry(join(root, 'home'), join(root, 'no-built-ins'));
  const imported = await registry.import(source);
  assert.equal(imported.dir, join(root, 'home', 'packs', 'imported-pack'));
  assert.deepEqual(registry.list().map((p) => [p.id, p.source, p.error]), [['imported-pack', 'user', undefined]]);
  assert.equal((await registry.load('imported-pack')).manifest.id, 'imported-pack');
  assert.throws(() => registry.resolveDir('nope'), /unknown model pack "nope"/);

  const tampered = join(root, 'to-import-bad');
  makePack(tampered, 'bad-pack');
  writeFileSync(join(tampered, 'encoder.onnx'), 'changed');
  await assert.rejects(registry.import(tampered), /encoder\.onnx/);
  assert.deepEqual(registry.list().map((p) => p.id), ['imported-pack']);
});
