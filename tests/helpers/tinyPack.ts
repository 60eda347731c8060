// A minimal model pack folder for tests of pack verification and import: a manifest listing two small files with
// their real sizes and SHA-256. Verification checks integrity, not the encoder, so the bytes are arbitrary.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackManifest } from '../../native-models/runtime/packs/manifest.ts';

/** A pack without a QuARI checkpoint: the encoder bytes are arbitrary, verification checks integrity. */
export function makePack(dir: string, id: string, encoder = 'stand-in encoder bytes'): PackManifest {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'encoder.onnx'), encoder);
  writeFileSync(join(dir, 'sub', 'extra.bin'), 'extra');
  const files = Object.fromEntries(['encoder.onnx', 'sub/extra.bin'].map((p) => {
    const bytes = readFileSync(join(dir, p));
    return [p, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }];
  }));
  const manifest: PackManifest = {
    schema: 1, id, version: '1', name: 'Test', licence: 'MIT', embeddingDim: 8, descriptor: 'test',
    image: {
      model: 'encoder.onnx', inputName: 'image', featureMapOutput: 'f', featureChannels: 8, gemP: 3,
      preprocessing: { inputSize: [224, 224], resize: 'squash', scale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', layout: 'NHWC' },
    },
    files,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return manifest;
}
