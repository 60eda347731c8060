// Hostile QuARI checkpoints (issue 11.4), through the real reader, the `quari hypernet` CLI and `quari pack
// verify/import`: a 1 KB weights.pt claiming gigabytes (huge shape, stride 0), overlapping strides, a deflated entry
// declaring 3.75 GB, a weights.pt past the size budget, a FIFO, 300k APPENDS and 100k nested MARKs. Each is refused
// before memory is spent, with an error naming the file and, for tensors, the tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { expectedStateDictShapes, parseQuariConfig, readQuariCheckpoint } from '../../native-models/runtime/quari/checkpoint/index.ts';
import { storedZip, torchSaveRaw, type RawTensor } from '../helpers/quari-torch-save.ts';

const CLI = fileURLToPath(new URL('../../bin/quari.mjs', import.meta.url));
const run = promisify(execFile);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'quari-sec-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const yml = (hp: Record<string, number>): string => `hparams:\n${Object.entries(hp).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`;

/**
 * The attack of the report: every tensor of a config claiming E = H = 65536 (query_encoder.0.weight alone is
 * 2^32 elements, 16 GiB; 352 GiB in all) as a stride-0 view of one 4-byte storage. The whole file is 5 KB.
 */
function strideZeroBomb(dir: string): void {
  const hp = { embedding_dim: 65536, hidden_dim: 65536, low_rank_dim: 2, nhead: 2, num_steps: 1, num_layers: 1 };
  writeFileSync(join(dir, 'config.yml'), yml(hp));
  const shapes = expectedStateDictShapes(parseQuariConfig(yml(hp), 'bomb').hparams);
  const tensors: RawTensor[] = [...shapes].map(([key, shape]) => ({ key, storage: '0', numel: 1, offset: 0, shape, stride: shape.map(() => 0) }));
  writeFileSync(join(dir, 'weights.pt'), torchSaveRaw(tensors, { 0: new Uint8Array(4) }, 'weights'));
}

const TINY = { embedding_dim: 6, hidden_dim: 4, low_rank_dim: 2, nhead: 2, num_steps: 1, num_layers: 1 };

/** A valid tiny checkpoint's records and storages, one storage per tensor, for tampering with. */
function tiny(): { tensors: RawTensor[]; storages: Record<string, Uint8Array> } {
  const tensors: RawTensor[] = [];
  const storages: Record<string, Uint8Array> = {};
  [...expectedStateDictShapes(parseQuariConfig(yml(TINY), 'tiny').hparams)].forEach(([key, shape], n) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    tensors.push({ key, storage: String(n), numel, offset: 0, shape, stride: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)) });
    storages[String(n)] = new Uint8Array(new Float32Array(numel).fill(0.5).buffer);
  });
  return { tensors, storages };
}

test('a 5 KB weights.pt claiming 352 GiB through stride 0 is refused by the reader and by quari hypernet, naming file and tensor', async (t) => {
  const dir = tempDir(t);
  strideZeroBomb(dir);
  const size = readFileSync(join(dir, 'weights.pt')).length;
  assert.ok(size < 16 * 1024, `the hostile file is small (${size} bytes)`);
  const rss0 = process.memoryUsage().arrayBuffers;
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: tensor pos_emb has stride 0 in dimension 0 \(size 5\)/);
  assert.ok(process.memoryUsage().arrayBuffers - rss0 < 64 * 1024 * 1024, 'no large buffer was allocated');

  writeFileSync(join(dir, 'q.bin'), new Uint8Array(65536 * 4));
  const started = performance.now();
  await assert.rejects(
    run(process.execPath, [CLI, 'hypernet', '--checkpoint', dir, '--queries', join(dir, 'q.bin'), '--gallery', join(dir, 'q.bin'), '--out', join(dir, 'out')]),
    (err: { code?: number; stderr?: string }) => err.code === 1 && /weights\.pt: tensor pos_emb has stride 0/.test(err.stderr ?? ''),
  );
  t.diagnostic(`quari hypernet refused it in ${(performance.now() - started).toFixed(0)} ms (CLI start-up included)`);
  assert.equal(existsSync(join(dir, 'out')), false, 'nothing was written');
});

test('a tensor whose shape does not match the config is refused before its storage is looked at', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const { tensors, storages } = tiny();
  Object.assign(tensors[2], { shape: [100000, 100000], stride: [0, 0] }); // query_encoder.0.weight
  writeFileSync(join(dir, 'weights.pt'), torchSaveRaw(tensors, storages, 'weights'));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt does not match its config\.yml: query_encoder\.0\.weight has shape \[100000, 100000\], expected \[4, 6\]/);
});

test('overlapping strides that read more elements than the storage holds are refused', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const { tensors, storages } = tiny();
  // query_encoder.0.weight [4,6] over a 9-element storage with strides [1,1]: indices stay below 9, 24 elements
  Object.assign(tensors[2], { numel: 9, stride: [1, 1] });
  storages['2'] = new Uint8Array(9 * 4);
  writeFileSync(join(dir, 'weights.pt'), torchSaveRaw(tensors, storages, 'weights'));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: tensor query_encoder\.0\.weight has 24 elements, more than its storage's 9/);
});

test('a storage whose declared element count disagrees with its bytes is refused, naming the storage', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const { tensors, storages } = tiny();
  tensors[0].numel = 2 ** 31 - 1; // pos_emb's storage claims 8 GiB of floats
  writeFileSync(join(dir, 'weights.pt'), torchSaveRaw(tensors, storages, 'weights'));
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: storage weights\/data\/0 holds 80 bytes, expected 2147483647 float32 values/);
});

test('a deflated entry declaring 3.75 GB is refused before any buffer is allocated', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const zip = zipSync({ 'weights/data.pkl': [new Uint8Array(1000), { level: 6 }] });
  // patch the central directory's uncompressed size (offset 24 of its entry) to 0xF0000000
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  view.setUint32(view.getUint32(eocd + 16, true) + 24, 0xf0000000, true);
  writeFileSync(join(dir, 'weights.pt'), zip);
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: entry weights\/data\.pkl would inflate the archive past \d+ bytes \(declared size 4026531840\)/);
});

test('a weights.pt larger than its config allows is refused before it is read; so is a FIFO, without blocking', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const weights = join(dir, 'weights.pt');
  writeFileSync(weights, '');
  truncateSync(weights, 2 ** 31); // sparse: 2 GiB claimed, no disk used
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: 2147483648 bytes is more than the limit of \d+ bytes/);

  rmSync(weights);
  const fifo = spawnSync('mkfifo', [weights]);
  if (fifo.status !== 0) {
    t.skip('mkfifo is not available');
    return;
  }
  const started = performance.now();
  assert.throws(() => readQuariCheckpoint(dir), /weights\.pt: is a FIFO; only regular files are accepted/);
  assert.ok(performance.now() - started < 5000, 'refused at once');
});

test('300k APPENDS and 100k nested MARKs give a clean error naming the file, not a stack overflow', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.yml'), yml(TINY));
  const appends = new Uint8Array(300_000 + 6);
  appends.set([0x80, 2, 0x5d, 0x28]); // PROTO 2, EMPTY_LIST, MARK
  appends.fill(0x4e, 4, 4 + 300_000); // NONE × 300k
  appends.set([0x65, 0x2e], 4 + 300_000); // APPENDS, STOP
  writeFileSync(join(dir, 'weights.pt'), storedZip([{ name: 'weights/data.pkl', data: appends }]));
  assert.throws(() => readQuariCheckpoint(dir), (err: Error) =>
    /weights\.pt:weights\/data\.pkl: pickle does not hold a dict/.test(err.message) && !/call stack/.test(err.message));

  const n = 100_000;
  const nested = new Uint8Array(2 + 2 * n + 2);
  nested.set([0x80, 2]);
  nested.fill(0x28, 2, 2 + n); // MARK × 100k
  nested.fill(0x74, 2 + n, 2 + 2 * n); // TUPLE × 100k
  nested.set([0x2e], 2 + 2 * n); // STOP
  writeFileSync(join(dir, 'weights.pt'), storedZip([{ name: 'weights/data.pkl', data: nested.subarray(0, 2 + 2 * n + 1) }]));
  assert.throws(() => readQuariCheckpoint(dir), (err: Error) => /weights\.pt:weights\/data\.pkl: /.test(err.message) && !/call stack/.test(err.message));
});

test('a pack carrying the stride-0 checkpoint is refused by quari pack verify and pack import, and nothing is installed', async (t) => {
  const dir = tempDir(t);
  const pack = join(dir, 'hostile-pack');
  mkdirSync(join(pack, 'quari'), { recursive: true });
  strideZeroBomb(join(pack, 'quari'));
  writeFileSync(join(pack, 'encoder.onnx'), 'stand-in encoder bytes');
  const files = Object.fromEntries(['encoder.onnx', 'quari/config.yml', 'quari/weights.pt'].map((p) => {
    const bytes = readFileSync(join(pack, p));
    return [p, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }];
  }));
  const manifest = {
    schema: 1, id: 'hostile-pack', version: '1', name: 'Hostile', licence: 'MIT', embeddingDim: 65536, descriptor: 'test',
    image: {
      model: 'encoder.onnx', inputName: 'image', featureMapOutput: 'f', featureChannels: 65536, gemP: 3,
      preprocessing: { inputSize: [224, 224], resize: 'squash', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', layout: 'NHWC' },
    },
    quariCheckpoint: 'quari',
    files,
  };
  writeFileSync(join(pack, 'manifest.json'), JSON.stringify(manifest));
  const env = { ...process.env, QUARI_HOME: join(dir, 'home') };
  for (const action of ['verify', 'import']) {
    await assert.rejects(run(process.execPath, [CLI, 'pack', action, pack], { env }), (err: { code?: number; stderr?: string }) =>
      err.code === 1 && /QuARI checkpoint quari is refused: .*weights\.pt: tensor pos_emb has stride 0/.test(err.stderr ?? ''));
  }
  assert.equal(existsSync(join(dir, 'home', 'packs', 'hostile-pack')), false);
  cpSync(pack, join(dir, 'copy'), { recursive: true }); // the same folder under another name changes nothing
  await assert.rejects(run(process.execPath, [CLI, 'pack', 'verify', join(dir, 'copy')], { env }), /stride 0/);
});
