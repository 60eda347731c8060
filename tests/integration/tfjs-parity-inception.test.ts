// The optional InceptionV3 pack: the converted graph must compute what the tfjs original computes (one image;
// the pure-JS tfjs reference needs several seconds per 299×299 forward pass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { kerasModelConfig } from '../../native-models/tools/converters/tfjs/model-json.ts';
import { loadNsfwjsModel } from '../../native-models/tools/converters/tfjs/nsfwjs-models.ts';
import { decodeWeights } from '../../native-models/tools/converters/tfjs/weights.ts';
import { convertKerasModel } from '../../native-models/tools/converters/tfjs/keras-to-onnx.ts';
import { gapNchw, loadTfjsReference, maxAbsDiff, maxAbsDiffNchwNhwc, photoLikeJpeg, poolNhwc, runTfjs, toInput } from './tfjs-parity-helpers.ts';

const TOL = 1e-4;

test('InceptionV3 (nsfwjs) ONNX matches tfjs on features, GeM and scores', async (t) => {
  const files = loadNsfwjsModel('inception_v3');
  const weights = decodeWeights(files.modelJson.weightsManifest, (p) => files.shards.get(p) ?? new Uint8Array());
  const conv = convertKerasModel(files.modelJson, weights);
  assert.equal(conv.featureLayer, 'mixed10');
  assert.equal(conv.featureChannels, 2048);
  assert.deepEqual(conv.nominalInputSize, [299, 299]);

  const [H, W] = conv.nominalInputSize;
  const input = await toInput(await photoLikeJpeg(11), W, H);
  const session = await ort.InferenceSession.create(conv.bytes, { intraOpNumThreads: 2 });
  const out = await session.run({ [conv.inputName]: new ort.Tensor('float32', input, [1, H, W, 3]) });
  await session.release();
  const reference = await loadTfjsReference(files);
  const outputLayer = kerasModelConfig(files.modelJson).config.output_layers[0][0];
  const [refFeatures, refScores] = runTfjs(reference, [conv.featureLayer, outputLayer], input, H, W);

  const features = out[conv.outputNames.features];
  assert.deepEqual(features.dims, [1, 2048, refFeatures.shape[1], refFeatures.shape[2]]);
  const refPooled = poolNhwc(refFeatures.data, refFeatures.shape, 3, 1e-6);
  const dGap = maxAbsDiff(gapNchw(features.data as Float32Array, features.dims), refPooled.gap);
  const dGem = maxAbsDiff(out[conv.outputNames.gem].data as Float32Array, refPooled.gem);
  const dScores = maxAbsDiff(out[conv.outputNames.scores].data as Float32Array, refScores.data);
  const dMap = maxAbsDiffNchwNhwc(features.data as Float32Array, refFeatures.data, features.dims);
  t.diagnostic(`max|Δ| feature map ${dMap.toExponential(2)}, GAP ${dGap.toExponential(2)}, GeM ${dGem.toExponential(2)}, scores ${dScores.toExponential(2)}`);
  assert.ok(dGap <= TOL, `GAP of features differs by ${dGap}`);
  assert.ok(dGem <= TOL, `GeM differs by ${dGem}`);
  assert.ok(dScores <= TOL, `scores differ by ${dScores}`);
});
