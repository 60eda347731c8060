import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { PackManifest } from '../../native-models/runtime/packs/manifest.ts';
import { PackRegistry } from '../../native-models/runtime/packs/registry.ts';
import { verifyPack } from '../../native-models/runtime/packs/verify.ts';
import { expectedStateDictShapes, parseQuariConfig } from '../../native-models/runtime/quari/checkpoint/index.ts';
import { writeQuariCheckpoint } from '../helpers/quari-torch-save.ts';

const root = mkdtempSync(join(tmpdir(), 'quari-packs-'));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY_HPARAMS: [string, number][] = [['embedding_dim', 8], ['hidden_dim', 4], ['low_rank_dim', 2], ['nhead', 2], ['num_steps', 1], ['num_layers', 1]];

/** A small but complete pack: the encoder file is arbitrary bytes (verification checks integrity), the QuARI checkpoint real. */
function makePack(dir: string, id = 'test-pack'): PackManifest {
  mkdirSync(join(dir, 'quari'), { recursive: true });
  const hp = parseQuariConfig(`hparams:\n${TINY_HPARAMS.map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`, 'tiny').hparams;
  const entries = [...expectedStateDictShapes(hp)].map(([key, shape]) => ({
    key, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7) * 0.1),
  }));
  writeQuariCheckpoint(join(dir, 'quari'), TINY_HPARAMS, entries);
  writeFileSync(join(dir, 'encoder.onnx'), 'not really onnx, but hashed like one');
  const files: Record<string, Buffer> = Object.fromEntries(
    ['encoder.onnx', 'quari/config.yml', 'quari/weights.pt'].map((p) => [p, readFileSync(join(dir, p))]),
  );
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
