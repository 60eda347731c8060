// Builds a model pack from a Keras/tfjs model shipped inside the nsfwjs npm package (no download):
//   node --import tsx native-models/tools/build-default-pack.ts [--out PACKS_DIR] [--model mobilenet_v2|inception_v3]
// writes PACKS_DIR/<id>/{encoder.onnx, manifest.json} (default PACKS_DIR: native-models/packs/built).
// Runs at npm install time, so it only converts (≈0.3 s for MobileNetV2) and never measures inference.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { convertKerasModel } from './converters/tfjs/keras-to-onnx.ts';
import { loadNsfwjsModel, NSFWJS_CLASSES } from './converters/tfjs/nsfwjs-models.ts';
import { decodeWeights } from './converters/tfjs/weights.ts';
import { MANIFEST_FILE, MANIFEST_SCHEMA, type PackManifest, type Preprocessing } from '../runtime/packs/manifest.ts';
import * as mobilenetv2Scheme from '../packs/mobilenetv2-nsfwjs/scheme.ts';
import { readQuariConfig } from '../runtime/quari/checkpoint/index.ts';
import { BUILT_PACKS_DIR } from '../runtime/packs/registry.ts';

export type PackModel = 'mobilenet_v2' | 'inception_v3';

/** A measured region scheme + learned projection (see native-models/packs/<id>/scheme.ts). */
type PackScheme = typeof mobilenetv2Scheme;

const PACKS: Record<PackModel, { id: string; title: string; featureNote: string; scheme?: PackScheme }> = {
  mobilenet_v2: {
    id: 'mobilenetv2-nsfwjs',
    scheme: mobilenetv2Scheme,
    title: 'MobileNetV2',
    featureNote: 'out_relu: 1280 channels after the final ReLU6, 7×7 at 224×224',
  },
  inception_v3: {
    id: 'inceptionv3-nsfwjs',
    title: 'InceptionV3',
    featureNote: 'mixed10: 2048 channels, 8×8 at 299×299',
  },
};

/** Bumped when the conversion changes the produced graph, so built packs are told apart from older builds. */
const CONVERTER_REVISION = 1;
const GEM_P = 3;

/** How nsfwjs feeds its models: resized to the square input ignoring aspect, divided by 255, nothing else (dist/esm/core.js). */
export function nsfwjsPreprocessing(inputSize: [number, number]): Preprocessing {
  return { inputSize, resize: 'squash', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'RGB', layout: 'NHWC' };
}

export interface BuiltPack {
  dir: string;
  manifest: PackManifest;
  conversionMs: number;
}

export function buildNsfwjsPack(model: PackModel, packsDir: string = BUILT_PACKS_DIR): BuiltPack {
  const spec = PACKS[model];
  if (!spec) throw new Error(`--model: unknown model '${model}' (expected ${Object.keys(PACKS).join(' or ')})`);
  const t0 = performance.now();
  const files = loadNsfwjsModel(model);
  const weights = decodeWeights(files.modelJson.weightsManifest, (p) => {
    const shard = files.shards.get(p);
    if (!shard) throw new Error(`nsfwjs model '${model}': shard '${p}' was not loaded`);
    return shard;
  });
  const conv = convertKerasModel(files.modelJson, weights, { gemP: GEM_P });
  const conversionMs = Math.round(performance.now() - t0);

  const [height, width] = conv.nominalInputSize;
  const manifest: PackManifest = {
    schema: MANIFEST_SCHEMA,
    id: spec.id,
    // The minor number is the scheme revision: a new region scheme or projection changes every stored vector.
    version: `${CONVERTER_REVISION}.${spec.scheme?.revision ?? 0}.0+nsfwjs.${files.version}`,
    name: `${spec.title} (nsfwjs ${files.version}) image encoder`,
    licence: `${files.licence} (nsfwjs, © Infinite Red, Inc.)`,
    embeddingDim: conv.featureChannels,
    descriptor:
      `GeM p=${GEM_P} over the last conv feature map (${spec.featureNote}), L2-normalised — why: ` +
      'generalised-mean pooling with p>1 lets the strongest local activations dominate instead of averaging ' +
      'them into the background, which is what makes a pooled CNN vector find the same object or detail in ' +
      'another photo (instance retrieval; Radenović et al., TPAMI 2019); L2 normalisation turns dot products ' +
      'into cosine similarity. The classifier head is kept only for the content scores.',
    image: {
      model: 'encoder.onnx',
      inputName: conv.inputName,
      featureMapOutput: conv.outputNames.features,
      contentScoresOutput: conv.outputNames.scores,
      featureChannels: conv.featureChannels,
      gemP: GEM_P,
      preprocessing: nsfwjsPreprocessing([width, height]),
    },
    content: { labels: [...NSFWJS_CLASSES], explicitLabels: ['hentai', 'porn', 'sexy'] },
    files: {},
    measurements: {
      source: `nsfwjs@${files.version} dist/models/${model}`,
      conversionMs,
      parameters: conv.parameterCount,
      foldedBatchNorms: conv.foldedBatchNorms,
      onnxNodes: conv.nodeCount,
      featureShapeAtNominal: conv.featureShapeAtNominal,
    },
  };

  if (spec.scheme) {
    manifest.regions = spec.scheme.regions;
    manifest.projection = spec.scheme.projection;
    manifest.embeddingDim = spec.scheme.projection.outputDim;
    manifest.measurements = { ...manifest.measurements, regionScheme: spec.scheme.measurements };
  }

  // Build beside the target and swap in, so a failed build never leaves a half-written pack behind.
  mkdirSync(packsDir, { recursive: true });
  const dir = join(packsDir, spec.id);
  const tmp = join(packsDir, `.${spec.id}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, manifest.image.model), conv.bytes);
    manifest.files[manifest.image.model] = {
      sha256: createHash('sha256').update(conv.bytes).digest('hex'),
      bytes: conv.bytes.byteLength,
    };
    for (const [name, src] of Object.entries(spec.scheme?.projectionFiles ?? {})) {
      const bytes = readFileSync(src);
      writeFileSync(join(tmp, name), bytes);
      manifest.files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
    }
    // The QuARI hypernetwork trained on this pack's vectors: native-models/packs/<id>/quari/ (MODEL_CARD.md there).
    const quariSrc = join(dirname(fileURLToPath(import.meta.url)), '..', 'packs', spec.id, 'quari');
    if (existsSync(join(quariSrc, 'weights.pt'))) {
      const { hparams } = readQuariConfig(join(quariSrc, 'config.yml'));
      if (hparams.embeddingDim !== manifest.embeddingDim) {
        throw new Error(`${quariSrc}: embedding_dim ${hparams.embeddingDim} ≠ pack embeddingDim ${manifest.embeddingDim}; retrain it (native-models/tools/training/quari)`);
      }
      mkdirSync(join(tmp, 'quari'));
      for (const name of ['config.yml', 'weights.pt']) {
        const bytes = readFileSync(join(quariSrc, name));
        writeFileSync(join(tmp, 'quari', name), bytes);
        manifest.files[`quari/${name}`] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
      }
      manifest.quariCheckpoint = 'quari';
    }
    writeFileSync(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(dir)) rmSync(dir, { recursive: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return { dir, manifest, conversionMs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, model: { type: 'string', default: 'mobilenet_v2' } },
  });
  const built = buildNsfwjsPack(values.model as PackModel, values.out ? resolve(values.out) : BUILT_PACKS_DIR);
  const enc = built.manifest.files[built.manifest.image.model];
  console.log(`built ${built.manifest.id} in ${built.dir} (${(enc.bytes / 1e6).toFixed(1)} MB encoder, converted in ${built.conversionMs} ms)`);
}
