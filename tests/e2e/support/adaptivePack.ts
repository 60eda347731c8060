// A user model pack for the end-to-end tests: the installed default pack with its QuARI checkpoint replaced by a
// seeded random one, so the tests' scores do not move whenever the shipped checkpoint is retrained; they check
// the adaptive path end to end, not the quality of a trained hypernetwork (npm run eval does that). A high
// query-residual weight and a small anchor scale keep the refined query near the original and W near I, so the
// rescoring changes scores measurably without scrambling the ranking the way an untrained network would.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PackManifest } from '../../../native-models/runtime/packs/manifest.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import { sha256File } from '../../../native-models/runtime/packs/verify.ts';
import { expectedStateDictShapes } from '../../../native-models/runtime/quari/checkpoint/index.ts';
import { writeQuariCheckpoint } from '../../helpers/quari-torch-save.ts';

export const ADAPTIVE_PACK_ID = 'mobilenetv2-nsfwjs-quari-test';
export const ADAPTIVE_PACK_NAME = 'MobileNetV2 + QuARI (seeded test checkpoint)';

/** Writes the pack under `<dataHome>/packs/` and returns its weights.pt SHA-256. */
export async function installAdaptivePack(dataHome: string): Promise<string> {
  const base = await new PackRegistry(dataHome).load(DEFAULT_PACK_ID);
  const dir = path.join(dataHome, 'packs', ADAPTIVE_PACK_ID);
  cpSync(base.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as PackManifest;
  manifest.id = ADAPTIVE_PACK_ID;
  manifest.name = ADAPTIVE_PACK_NAME;
  rmSync(path.join(dir, 'quari'), { recursive: true, force: true });
  mkdirSync(path.join(dir, 'quari'));
  const hparams = { embeddingDim: manifest.embeddingDim, lowRankDim: 4, hiddenDim: 32, numSteps: 2, nhead: 4, numLayers: 1, dropout: 0.1, queryResidualWeight: 0.9, useFroNorm: true, anchorScale: 0.2 };
  let s = 29;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
  const entries = [...expectedStateDictShapes(hparams)].map(([key, shape]) => ({
    key,
    shape,
    data: key === 'pos_scale' ? Float32Array.of(1) : Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rnd),
  }));
  writeQuariCheckpoint(
    path.join(dir, 'quari'),
    [['embedding_dim', hparams.embeddingDim], ['low_rank_dim', hparams.lowRankDim], ['hidden_dim', hparams.hiddenDim], ['num_steps', hparams.numSteps], ['nhead', hparams.nhead], ['num_layers', hparams.numLayers], ['query_residual_weight', hparams.queryResidualWeight], ['anchor_scale', hparams.anchorScale]],
    entries,
  );
  for (const f of ['config.yml', 'weights.pt']) {
    const file = path.join(dir, 'quari', f);
    manifest.files[`quari/${f}`] = { sha256: await sha256File(file), bytes: readFileSync(file).length };
  }
  manifest.quariCheckpoint = 'quari';
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest.files['quari/weights.pt']!.sha256;
}
