// The trained QuARI checkpoint shipped with the default pack (native-models/packs/mobilenetv2-nsfwjs/quari/): released
// layout, size budget, trained for exactly the pack it ships in, and wired into the built pack so adaptive search
// works on a fresh install.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hypernetwork } from '../../electron/engine/models/Hypernetwork.ts';
import { buildNsfwjsPack } from '../../native-models/tools/build-default-pack.ts';
import { verifyPack } from '../../native-models/runtime/packs/verify.ts';
import { readQuariCheckpoint } from '../../native-models/runtime/quari/checkpoint/index.ts';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native-models', 'packs', 'mobilenetv2-nsfwjs', 'quari');

test('committed checkpoint: released layout within 25 MB, built into the default pack for its embedding', async (t) => {
  const ckpt = readQuariCheckpoint(SRC);
  assert.ok(statSync(join(SRC, 'weights.pt')).size <= 25 * 1024 * 1024, 'weights.pt over 25 MB');

  const dir = await mkdtemp(join(tmpdir(), 'quari-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const built = buildNsfwjsPack('mobilenet_v2', dir);
  const { manifest } = await verifyPack(built.dir);
  assert.equal(manifest.quariCheckpoint, 'quari');
  assert.equal(manifest.files['quari/weights.pt']?.sha256, ckpt.sha256);
  assert.equal(ckpt.hparams.embeddingDim, manifest.embeddingDim);
  // Trained on this pack's vectors (regions + projection): a pack change without retraining fails here.
  assert.equal(ckpt.featureExtractor, `quari-workstation/${manifest.id}@${manifest.version}`);

  const net = await Hypernetwork.load(join(built.dir, 'quari'));
  const E = manifest.embeddingDim;
  const q = new Float32Array(2 * E);
  for (let i = 0; i < q.length; i++) q[i] = Math.sin(i * 0.37) + (i % E === 3 ? 2 : 0);
  for (let b = 0; b < 2; b++) {
    const row = q.subarray(b * E, (b + 1) * E);
    const n = Math.hypot(...row);
    for (let i = 0; i < E; i++) row[i] /= n;
  }
  const out = await net.run(q, 2);
  for (let b = 0; b < 2; b++) {
    const r = out.refinedQuery.subarray(b * E, (b + 1) * E);
    assert.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5, 'refined query is unit length');
    assert.ok(out.U.subarray(b * E * out.rank, (b + 1) * E * out.rank).every(Number.isFinite));
  }
});
