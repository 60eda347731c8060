// The converted nsfwjs MobileNetV2 must compute what the tfjs original computes, on photo-like images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { kerasModelConfig } from '../../native-models/tools/converters/tfjs/model-json.ts';
import { loadNsfwjsModel } from '../../native-models/tools/converters/tfjs/nsfwjs-models.ts';
import { decodeWeights } from '../../native-models/tools/converters/tfjs/weights.ts';
import { convertKerasModel } from '../../native-models/tools/converters/tfjs/keras-to-onnx.ts';
import { buildNsfwjsPack } from '../../native-models/tools/build-default-pack.ts';
import { DEFAULT_PACK_ID } from '../../native-models/runtime/packs/registry.ts';
import { verifyPack } from '../../native-models/runtime/packs/verify.ts';
import { gapNchw, loadTfjsReference, maxAbsDiff, maxAbsDiffNchwNhwc, photoLikeJpeg, poolNhwc, runTfjs, toInput } from './tfjs-parity-helpers.ts';

const TOL = 1e-4;

test('the built MobileNetV2 pack verifies, rebuilds byte-identically and matches tfjs on features, GeM and scores', async (t) => {
  const packsDir = await mkdtemp(join(tmpdir(), 'packs-'));
  t.after(() => rm(packsDir, { recursive: true, force: true }));
  const built = buildNsfwjsPack('mobilenet_v2', packsDir);
  const { manifest } = await verifyPack(built.dir);
  assert.equal(manifest.id, DEFAULT_PACK_ID);
  assert.equal(manifest.image.featureChannels, 1280);
  assert.deepEqual(manifest.image.preprocessing.inputSize, [224, 224]);
  const sha = manifest.files[manifest.image.model].sha256;
  assert.equal(buildNsfwjsPack('mobilenet_v2', packsDir).manifest.files[manifest.image.model].sha256, sha);

  const files = loadNsfwjsModel('mobilenet_v2');
  const featureLayer = 'out_relu';
  const outputLayer = kerasModelConfig(files.modelJson).config.output_layers[0][0];
  const session = await ort.InferenceSession.create(join(built.dir, manifest.image.model), { intraOpNumThreads: 1 });
  const reference = await loadTfjsReference(files);
  const [W, H] = manifest.image.preprocessing.inputSize;
  const names = { input: manifest.image.inputName, features: manifest.image.featureMapOutput, scores: manifest.image.contentScoresOutput ?? '', gem: 'gem' }; // the converter's GeM output; the manifest schema has no field for it yet
  let worst = { gap: 0, gem: 0, scores: 0 };
  for (const seed of [1, 2, 3]) {
    const input = await toInput(await photoLikeJpeg(seed), W, H);
    const [refFeatures, refScores] = runTfjs(reference, [featureLayer, outputLayer], input, H, W);
    const ref = { features: refFeatures.data, shape: refFeatures.shape, scores: refScores.data };
    const out = await session.run({ [names.input]: new ort.Tensor('float32', input, [1, H, W, 3]) });
    const features = out[names.features];
    assert.deepEqual(features.dims, [1, 1280, ref.shape[1], ref.shape[2]]);
    const refPooled = poolNhwc(ref.features, ref.shape, 3, 1e-6);
    const d = {
      gap: maxAbsDiff(gapNchw(features.data as Float32Array, features.dims), refPooled.gap),
      gem: maxAbsDiff(out[names.gem].data as Float32Array, refPooled.gem),
      scores: maxAbsDiff(out[names.scores].data as Float32Array, ref.scores),
      map: maxAbsDiffNchwNhwc(features.data as Float32Array, ref.features, features.dims),
    };
    t.diagnostic(`seed ${seed}: max|Δ| feature map ${d.map.toExponential(2)}, GAP ${d.gap.toExponential(2)}, GeM ${d.gem.toExponential(2)}, scores ${d.scores.toExponential(2)}; tfjs scores ${Array.from(ref.scores, (v) => v.toFixed(3)).join(' ')}`);
    worst = { gap: Math.max(worst.gap, d.gap), gem: Math.max(worst.gem, d.gem), scores: Math.max(worst.scores, d.scores) };
  }
  await session.release();
  assert.ok(worst.gap <= TOL, `GAP of features differs by ${worst.gap}`);
  assert.ok(worst.gem <= TOL, `GeM differs by ${worst.gem}`);
  assert.ok(worst.scores <= TOL, `scores differ by ${worst.scores}`);
});

test('MobileNetV2 trunk at 672×512 (W×H) matches tfjs run on the same size (dynamic H/W padding)', async (t) => {
  const files = loadNsfwjsModel('mobilenet_v2');
  const weights = decodeWeights(files.modelJson.weightsManifest, (p) => files.shards.get(p) ?? new Uint8Array());
  const conv = convertKerasModel(files.modelJson, weights);
  // tfjs cannot run the full model off its nominal size (Flatten → Dense); run its trunk on a size-free copy.
  const topo = structuredClone(kerasModelConfig(files.modelJson));
  const cut = topo.config.layers.findIndex((l) => l.name === conv.featureLayer);
  topo.config.layers = topo.config.layers.slice(0, cut + 1);
  topo.config.output_layers = [[conv.featureLayer, 0, 0]];
  (topo.config.layers[0].config as { batch_input_shape: unknown }).batch_input_shape = [null, null, null, 3];
  // The head's weights stay in the shards; strict=false lets tfjs skip them.
  const reference = await loadTfjsReference({ ...files, modelJson: { ...files.modelJson, modelTopology: topo } }, false);
  const [H, W] = [512, 672];
  const session = await ort.InferenceSession.create(conv.bytes, { intraOpNumThreads: 1 });
  const input = await toInput(await photoLikeJpeg(7, 1024, 768), W, H);
  const [ref] = runTfjs(reference, [conv.featureLayer], input, H, W);
  const out = await session.run({ [conv.inputName]: new ort.Tensor('float32', input, [1, H, W, 3]) });
  await session.release();
  const features = out[conv.outputNames.features];
  assert.deepEqual(features.dims, [1, 1280, 16, 21]);
  assert.deepEqual(ref.shape, [1, 16, 21, 1280]);
  const refPooled = poolNhwc(ref.data, ref.shape, 3, 1e-6);
  const dGap = maxAbsDiff(gapNchw(features.data as Float32Array, features.dims), refPooled.gap);
  const dGem = maxAbsDiff(out[conv.outputNames.gem].data as Float32Array, refPooled.gem);
  const dMap = maxAbsDiffNchwNhwc(features.data as Float32Array, ref.data, features.dims);
  t.diagnostic(`672×512: max|Δ| feature map ${dMap.toExponential(2)}, GAP ${dGap.toExponential(2)}, GeM ${dGem.toExponential(2)}`);
  assert.ok(dGap <= TOL, `GAP differs by ${dGap}`);
  assert.ok(dGem <= TOL, `GeM differs by ${dGem}`);
});
