import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import {
  expectedStateDictShapes,
  parseQuariConfig,
  readQuariCheckpoint,
  type QuariHparams,
} from '../../native-models/runtime/quari/checkpoint/index.ts';
import { CFG_S, sharedFixture } from '../helpers/quari-fixtures.ts';

interface ManifestEntry { key: string; shape: number[]; sha256_f32le: string }
interface Manifest {
  hparams: Record<string, number | boolean>;
  feature_extractor: string;
  pos_scale: number;
  state_dict: ManifestEntry[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const f32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'quari-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// --- a tiny protocol-2 pickle writer, so tests can build state_dicts (good and bad) byte by byte ---
class PickleBytes {
  private out: number[] = [];
  op(...bytes: number[]): this { this.out.push(...bytes); return this; }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this { return this.op(0x4a, ...u32(n)); }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  ints(ns: number[]): this { this.op(0x28); ns.forEach((n) => this.int(n)); return this.op(0x74); }
  bytes(): Uint8Array { return Uint8Array.from(this.out); }
}
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

interface FakeTensor { key: string; storage: string; type?: string; numel: number; offset?: number; shape: number[]; stride?: number[] }

function rowMajorStride(shape: number[]): number[] {
  const stride = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) stride[i] = stride[i + 1] * shape[i + 1];
  return stride;
}

/** Pickles `OrderedDict(key -> _rebuild_tensor_v2(...))` the way torch.save does, with a `_metadata` BUILD. */
function pickleStateDict(tensors: FakeTensor[]): Uint8Array {
  const p = new PickleBytes().op(0x80, 2).global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  for (const t of tensors) {
    p.str(t.key).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', t.type ?? 'FloatStorage').str(t.storage).str('cpu').int(t.numel).op(0x74, 0x51);
    p.int(t.offset ?? 0).ints(t.shape).ints(t.stride ?? rowMajorStride(t.shape));
    p.op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52);
  }
  return p.op(0x75).op(0x7d).op(0x62).op(0x2e).bytes(); // SETITEMS, EMPTY_DICT, BUILD, STOP
}

/** A torch.save-style zip (stored entries; fflate does not 64-byte align them, which the reader must cope with). */
function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, folder = 'archive'): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {
    [`${folder}/data.pkl`]: [pkl, { level: 0 }],
    [`${folder}/version`]: [new TextEncoder().encode('3\n'), { level: 0 }],
  };
  for (const [k, v] of Object.entries(storages)) files[`${folder}/data/${k}`] = [v, { level: 0 }];
  return zipSync(files);
}

const TINY_CONFIG = `hparams:
  num_layers: 1
  embedding_dim: 6
  hidden_dim: 4
  low_rank_dim: 2
  nhead: 2
  num_steps: 1
`;
const TINY: QuariHparams = parseQuariConfig(TINY_CONFIG, 'tiny').hparams;

/** A complete, valid state_dict for TINY, one storage per tensor, value i*0.5 + tensor index. */
function tinyTensors(): { tensors: FakeTensor[]; storages: Record<string, Uint8Array>; values: Map<string, Float32Array> } {
  const tensors: FakeTensor[] = [];
  const storages: Record<string, Uint8Array> = {};
  const values = new Map<string, Float32Array>();
  [...expectedStateDictShapes(TINY)].forEach(([key, shape], n) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: numel }, (_, i) => i * 0.5 + n);
    tensors.push({ key, storage: String(n), numel, shape });
    storages[String(n)] = f32Bytes(data);
    values.set(key, data);
  });
  return { tensors, storages, values };
}

function writeCheckpoint(dir: string, config: string, weights: Uint8Array): string {
  writeFileSync(join(dir, 'config.yml'), config);
  writeFileSync(join(dir, 'weights.pt'), weights);
  return dir;
}

const FIXTURE_DIRS: { name: string; dir: string; skip?: string }[] = [
  { name: 'cfgS', dir: CFG_S },
  { name: 'cfgA', ...sharedFixture('cfgA') },
  { name: 'cfgB', ...sharedFixture('cfgB') },
];

for (const { name, dir, skip } of FIXTURE_DIRS) {
  test(`${name}: every state_dict tensor matches manifest.json byte for byte`, { skip }, () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const ck = readQuariCheckpoint(dir);

    const m = manifest.hparams;
    assert.deepEqual(ck.hparams, {
      embeddingDim: m.embedding_dim, lowRankDim: m.low_rank_dim, hiddenDim: m.hidden_dim, numSteps: m.num_steps,
      nhead: m.nhead, numLayers: m.num_layers, dropout: m.dropout, queryResidualWeight: m.query_residual_weight,
      useFroNorm: m.use_fro_norm, anchorScale: m.anchor_scale,
    });
    assert.equal(ck.featureExtractor, manifest.feature_extractor);
    assert.equal(ck.posScale, Math.fround(manifest.pos_scale));
    assert.equal(ck.sha256, sha256(readFileSync(join(dir, 'weights.pt'))));

    assert.deepEqual([...ck.tensors.keys()], manifest.state_dict.map((e) => e.key), 'keys in file order');
    for (const e of manifest.state_dict) {
      const t = ck.tensors.get(e.key)!;
      assert.deepEqual(t.shape, e.shape, e.key);
      assert.equal(t.data.length, e.shape.reduce((a, b) => a * b, 1), e.key);
      assert.equal(sha256(f32Bytes(t.data)), e.sha256_f32le, e.key);
    }
    assert.deepEqual([...expectedStateDictShapes(ck.hparams)], manifest.state_dict.map((e) => [e.key, e.shape]));
  });
}

test('a pickle that names os.system is refused, naming the global', (t) => {
  const dir = tempDir(t);
  copyFileSync(join(CFG_S, 'config.yml'), join(dir, 'config.yml'));
  // os.system('touch <marker>'): the classic pickle payload
  const marker = join(dir, 'pwned');
  const pkl = new PickleBytes().op(0x80, 2).global('os', 'system').str(`touch ${marker}`).op(0x85, 0x52, 0x2e).bytes();
  writeFileSync(join(dir, 'weights.pt'), torchZip(pkl, {}));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt.*refusing pickle global os\.system/);
  assert.throws(() => readFileSync(marker), /ENOENT/);
});

test('STACK_GLOBAL (protocol 4) and non-float storage types are checked against the same allow-list', (t) => {
  const dir = tempDir(t);
  copyFileSync(join(CFG_S, 'config.yml'), join(dir, 'config.yml'));
  const stackGlobal = new PickleBytes().op(0x80, 4).op(0x8c, 8, ...new TextEncoder().encode('builtins'))
    .op(0x8c, 4, ...new TextEncoder().encode('eval')).op(0x93).str('1+1').op(0x85, 0x52, 0x2e).bytes();
  writeFileSync(join(dir, 'weights.pt'), torchZip(stackGlobal, {}));
  assert.throws(() => readQuariCheckpoint(dir), /refusing pickle global builtins\.eval/);

  const { tensors, storages } = tinyTensors();
  tensors[0].type = 'LongStorage';
  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(tensors), storages));
  assert.throws(() => readQuariCheckpoint(dir), /refusing pickle global torch\.LongStorage/);
});

test('a truncated or corrupted weights.pt is reported as such, naming the file', (t) => {
  const dir = tempDir(t);
  copyFileSync(join(CFG_S, 'config.yml'), join(dir, 'config.yml'));
  const weights = readFileSync(join(CFG_S, 'weights.pt'));

  writeFileSync(join(dir, 'weights.pt'), weights.subarray(0, weights.length >> 1));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: truncated or corrupt zip archive/);

  const flipped = Buffer.from(weights);
  flipped[flipped.length >> 1] ^= 0x40;
  writeFileSync(join(dir, 'weights.pt'), flipped);
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: truncated or corrupt zip archive \(entry weights\/data\/\d+ fails its size\/CRC check\)/);
});

test('a config.yml that does not match the weights is refused, naming key, expected and actual shape', (t) => {
  const dir = tempDir(t);
  symlinkSync(join(CFG_S, 'weights.pt'), join(dir, 'weights.pt'));
  const config = readFileSync(join(CFG_S, 'config.yml'), 'utf8');

  writeFileSync(join(dir, 'config.yml'), config.replace('hidden_dim: 64', 'hidden_dim: 128'));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt does not match its config\.yml: pos_emb has shape \[17, 64\], expected \[17, 128\]/);

  writeFileSync(join(dir, 'config.yml'), config.replace('embedding_dim: 128', 'embedding_dim: 64'));
  assert.throws(() => readQuariCheckpoint(dir), /query_encoder\.0\.weight has shape \[64, 128\], expected \[64, 64\]/);

  writeFileSync(join(dir, 'config.yml'), config.replace('num_layers: 2', 'num_layers: 3'));
  assert.throws(() => readQuariCheckpoint(dir), /state_dict has 2 encoder layers .*config num_layers is 3/);
});

test('missing and unexpected state_dict keys are named', (t) => {
  const dir = tempDir(t);
  const { tensors, storages } = tinyTensors();
  const missing = tensors.filter((x) => x.key !== 'dec_v_img.3.bias');
  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(missing), storages));
  assert.throws(() => readQuariCheckpoint(dir), /missing key dec_v_img\.3\.bias/);

  const extra = [...tensors, { key: 'dec_w_img.0.bias', storage: '0', numel: 4, shape: [4] }];
  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(extra), storages));
  assert.throws(() => readQuariCheckpoint(dir), /unexpected key dec_w_img\.0\.bias/);

  delete storages['3'];
  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(tensors), storages));
  assert.throws(() => readQuariCheckpoint(dir), /tensor query_encoder\.0\.bias refers to missing storage entry archive\/data\/3/);
});

test('storage offsets, shared storages, transposed strides and half/bfloat16 storages are materialised correctly', (t) => {
  const dir = tempDir(t);
  const { tensors, storages, values } = tinyTensors();
  const byKey = new Map(tensors.map((x) => [x.key, x]));

  // query_encoder.0.weight [4,6] stored as the transpose of a [6,4] matrix, followed by the bias at offset 24
  const shared = Float32Array.from({ length: 28 }, (_, i) => i - 3.25);
  storages.shared = f32Bytes(shared);
  Object.assign(byKey.get('query_encoder.0.weight')!, { storage: 'shared', numel: 28, stride: [1, 4] });
  Object.assign(byKey.get('query_encoder.0.bias')!, { storage: 'shared', numel: 28, offset: 24 });

  // pos_scale as float16 0.75 (0x3a00), step_proj.0.bias as bfloat16 [1, -2, 0.5, 3]
  storages.half = Uint8Array.of(0x00, 0x3a);
  Object.assign(byKey.get('pos_scale')!, { storage: 'half', type: 'HalfStorage', numel: 1 });
  storages.bf16 = Uint8Array.of(0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f, 0x40, 0x40);
  Object.assign(byKey.get('step_proj.0.bias')!, { storage: 'bf16', type: 'BFloat16Storage', numel: 4 });

  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(tensors), storages, 'weights_renamed'));
  const ck = readQuariCheckpoint(dir);

  const w = ck.tensors.get('query_encoder.0.weight')!;
  assert.deepEqual(w.shape, [4, 6]);
  assert.deepEqual([...w.data], Array.from({ length: 24 }, (_, k) => shared[(k % 6) * 4 + Math.floor(k / 6)]));
  assert.deepEqual([...ck.tensors.get('query_encoder.0.bias')!.data], [...shared.subarray(24)]);
  assert.equal(ck.posScale, 0.75);
  assert.deepEqual([...ck.tensors.get('step_proj.0.bias')!.data], [1, -2, 0.5, 3]);
  assert.deepEqual([...ck.tensors.get('dec_v_img.3.weight')!.data], [...values.get('dec_v_img.3.weight')!]);
  assert.equal(ck.featureExtractor, undefined);
});

test('a tensor reaching past its storage is refused', (t) => {
  const dir = tempDir(t);
  const { tensors, storages } = tinyTensors();
  tensors[0].offset = 1; // pos_emb [5,4] over a 20-element storage
  writeCheckpoint(dir, TINY_CONFIG, torchZip(pickleStateDict(tensors), storages));
  assert.throws(() => readQuariCheckpoint(dir), /tensor pos_emb reaches element 20 of a storage with 20 elements/);
});

test('missing optional hparams take the constructor defaults', (t) => {
  const dir = tempDir(t);
  // cfgS's shapes, with every hparam that does not shape a tensor left out (cfgS sets two of them otherwise)
  symlinkSync(join(CFG_S, 'weights.pt'), join(dir, 'weights.pt'));
  writeFileSync(join(dir, 'config.yml'),
    'hparams:\n  embedding_dim: 128\n  hidden_dim: 64\n  low_rank_dim: 8\n  nhead: 4\n  num_steps: 2\n  num_layers: 2\n');
  const ck = readQuariCheckpoint(dir);
  assert.deepEqual(ck.hparams, {
    embeddingDim: 128, lowRankDim: 8, hiddenDim: 64, numSteps: 2, nhead: 4, numLayers: 2, dropout: 0.1,
    queryResidualWeight: 0.5, useFroNorm: true, anchorScale: 0.8,
  });
  assert.equal(ck.featureExtractor, undefined);
  assert.equal(ck.tensors.size, 50);
});

test('missing optional hparams take the constructor defaults: every default, on cfgA', { skip: sharedFixture('cfgA').skip }, (t) => {
  const dir = tempDir(t);
  // cfgA uses exactly the defaults for everything but embedding_dim
  symlinkSync(join(sharedFixture('cfgA').dir, 'weights.pt'), join(dir, 'weights.pt'));
  writeFileSync(join(dir, 'config.yml'), 'hparams:\n  embedding_dim: 512\n');
  const ck = readQuariCheckpoint(dir);
  assert.deepEqual(ck.hparams, {
    embeddingDim: 512, lowRankDim: 64, hiddenDim: 512, numSteps: 4, nhead: 8, numLayers: 4, dropout: 0.1,
    queryResidualWeight: 0.5, useFroNorm: true, anchorScale: 0.8,
  });
  assert.equal(ck.featureExtractor, undefined);
  assert.equal(ck.tensors.size, 74);
});

test('config.yml errors name the file and key', () => {
  assert.throws(() => parseQuariConfig('hparams:\n  hidden_dim: 256\n', 'x/config.yml'), /x\/config\.yml: hparams\.embedding_dim is required/);
  assert.throws(() => parseQuariConfig('hparams:\n  embedding_dim: 8\n  hiden_dim: 4\n', 'c.yml'), /c\.yml: unknown hparams key hiden_dim/);
  assert.throws(() => parseQuariConfig('hparams:\n  embedding_dim: 8\n  hidden_dim: 12\n  nhead: 8\n', 'c.yml'),
    /hidden_dim 12 is not divisible by nhead 8/);
  assert.throws(() => parseQuariConfig('hparams:\n  embedding_dim: 8.5\n', 'c.yml'), /hparams\.embedding_dim must be a positive integer, got 8\.5/);
  assert.throws(() => parseQuariConfig('feature_extractor: x\n', 'c.yml'), /c\.yml: missing the hparams mapping/);
  const c = parseQuariConfig('feature_extractor: a/b\nhparams:\n  use_fro_norm: false\n  embedding_dim: 8\n  anchor_scale: 0.25\n', 'c.yml');
  assert.equal(c.featureExtractor, 'a/b');
  assert.equal(c.hparams.useFroNorm, false);
  assert.equal(c.hparams.anchorScale, 0.25);
});
