// The tfjs → ONNX converter on small Keras models built with tfjs itself, covering what the nsfwjs models do
// not: TF 'same' padding at stride 2 on odd and even sizes, even kernels, dilation, pooling with 'same',
// un-folded BatchNormalization, depth multiplier 2, Flatten of a spatial map (NHWC order), and every
// weight quantisation (uint8, uint16, float16) decoded against tfjs' own loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { convertKerasModel, type ConversionResult } from '../../native-models/tools/converters/tfjs/keras-to-onnx.ts';
import type { TfjsLayersModelJson } from '../../native-models/tools/converters/tfjs/model-json.ts';
import { decodeWeights, type TfjsWeightSpec } from '../../native-models/tools/converters/tfjs/weights.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// float32 → IEEE half (round to nearest), enough for weights well inside the half range.
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  const mant = (u >>> 13) & 0x3ff;
  const round = (u >>> 12) & 1;
  return (sign | (exp << 10) | mant) + round;
}

type Scheme = 'uint8' | 'uint16' | 'float16' | 'float32';

/** Re-encodes float32 weights with the given quantisation per weight, as the tfjs converter would. */
function quantise(specs: TfjsWeightSpec[], data: ArrayBuffer, scheme: (name: string) => Scheme): { specs: TfjsWeightSpec[]; bytes: Uint8Array } {
  const src = new Float32Array(data);
  const chunks: Uint8Array[] = [];
  const out: TfjsWeightSpec[] = [];
  let off = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const w = src.subarray(off, off + n);
    off += n;
    const kind = scheme(spec.name);
    if (kind === 'float32') {
      chunks.push(new Uint8Array(Float32Array.from(w).buffer));
      out.push({ name: spec.name, shape: spec.shape, dtype: 'float32' });
    } else if (kind === 'float16') {
      chunks.push(new Uint8Array(Uint16Array.from(w, toHalf).buffer));
      out.push({ name: spec.name, shape: spec.shape, dtype: 'float32', quantization: { dtype: 'float16' } });
    } else {
      const levels = kind === 'uint8' ? 255 : 65535;
      const min = Math.min(...w);
      const scale = (Math.max(...w) - min) / levels || 1;
      const q = Array.from(w, (v) => Math.round((v - min) / scale));
      chunks.push(new Uint8Array((kind === 'uint8' ? Uint8Array.from(q) : Uint16Array.from(q)).buffer));
      out.push({ name: spec.name, shape: spec.shape, dtype: 'float32', quantization: { dtype: kind, min, scale } });
    }
  }
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.byteLength;
  }
  return { specs: out, bytes };
}

interface Prepared {
  modelJson: TfjsLayersModelJson;
  bytes: Uint8Array;
  /** tfjs reference loaded from the same (quantised) artifacts; with `anySize` the input H/W are left open. */
  reference: (anySize: boolean) => Promise<tf.LayersModel>;
}

async function prepare(model: tf.LayersModel, seed: number, scheme: (name: string) => Scheme): Promise<Prepared> {
  const rnd = lcg(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(ws.map((w, i) => {
      const varianceLike = layer.getClassName() === 'BatchNormalization' && layer.weights[i].originalName.endsWith('moving_variance');
      return tf.tensor(Float32Array.from({ length: w.size }, () => (varianceLike ? 0.2 + rnd() : (rnd() - 0.5) * 1.2)), w.shape);
    }));
  }
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!saved?.weightSpecs || !saved.weightData) throw new Error('tfjs save produced no weights');
  const wd = saved.weightData;
  const raw = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd;
  const q = quantise(saved.weightSpecs as TfjsWeightSpec[], raw, scheme);
  const topology = saved.modelTopology as TfjsLayersModelJson['modelTopology'];
  return {
    modelJson: { modelTopology: topology, weightsManifest: [{ paths: ['shard'], weights: q.specs }] },
    bytes: q.bytes,
    reference: async (anySize) => {
      const topo = structuredClone(topology) as { config: { layers: { config: Record<string, unknown> }[] } };
      if (anySize) topo.config.layers[0].config.batch_input_shape = [null, null, null, 3];
      const buf = q.bytes.slice().buffer;
      return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topo, weightSpecs: q.specs as tf.io.WeightsManifestEntry[], weightData: buf }));
    },
  };
}

function convert(p: Prepared, featureLayer?: string): ConversionResult {
  const weights = decodeWeights(p.modelJson.weightsManifest, () => p.bytes);
  return convertKerasModel(p.modelJson, weights, { featureLayer });
}

async function compare(p: Prepared, conv: ConversionResult, featureLayer: string, H: number, W: number, anySize: boolean, seed: number) {
  const rnd = lcg(seed);
  const input = Float32Array.from({ length: H * W * 3 }, () => rnd());
  const reference = await p.reference(anySize);
  const probe = tf.model({ inputs: reference.inputs, outputs: [reference.getLayer(featureLayer).output as tf.SymbolicTensor, reference.outputs[0]] });
  const [f, s] = probe.predict(tf.tensor4d(input, [1, H, W, 3])) as tf.Tensor[];
  const refFeat = f.dataSync() as Float32Array;
  const refScores = s.dataSync() as Float32Array;
  const session = await ort.InferenceSession.create(conv.bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ input: new ort.Tensor('float32', input, [1, H, W, 3]) });
  await session.release();
  const feat = out.features;
  const [, C, h, w] = feat.dims;
  assert.deepEqual([1, h, w, C], f.shape, `feature map shape at ${H}×${W}`);
  let dFeat = 0;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < h * w; i++) dFeat = Math.max(dFeat, Math.abs((feat.data as Float32Array)[c * h * w + i] - refFeat[i * C + c]));
  let dScores = 0;
  (out.scores.data as Float32Array).forEach((v, i) => (dScores = Math.max(dScores, Math.abs(v - refScores[i]))));
  // GeM from the tfjs map in double precision.
  const gem = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < h * w; i++) acc += Math.max(refFeat[i * C + c], 1e-6) ** 3;
    gem[c] = (acc / (h * w)) ** (1 / 3);
  }
  const norm = Math.hypot(...gem);
  let dGem = 0;
  (out.gem.data as Float32Array).forEach((v, i) => (dGem = Math.max(dGem, Math.abs(v - gem[i] / norm))));
  return { dFeat, dScores, dGem };
}

test('odd-sized input, stride-2 same padding, pools, un-folded BN, depth multiplier, spatial Flatten, quantised weights', async (t) => {
  await tf.setBackend('cpu');
  const inp = tf.input({ shape: [13, 11, 3], name: 'img' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1', epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor; // after relu: stays a BatchNormalization node
  x = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn2', scale: false }).apply(x) as tf.SymbolicTensor; // folded into dw
  x = tf.layers.reLU({ name: 'r6', maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.maxPooling2d({ name: 'mp', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const b = tf.layers.averagePooling2d({ name: 'ap', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const s1 = tf.layers.averagePooling2d({ name: 'ap1', poolSize: 3, strides: 1, padding: 'same' }).apply(b) as tf.SymbolicTensor;
  let y = tf.layers.concatenate({ name: 'cat', axis: -1 }).apply([a, s1]) as tf.SymbolicTensor;
  y = tf.layers.zeroPadding2d({ name: 'zp', padding: [[1, 0], [0, 1]] }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 2, padding: 'valid', activation: 'tanh' }).apply(y) as tf.SymbolicTensor;
  let z = tf.layers.flatten({ name: 'fl' }).apply(y) as tf.SymbolicTensor;
  z = tf.layers.dense({ name: 'd', units: 5, activation: 'softmax' }).apply(z) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inp, outputs: z, name: 'small' });
  const scheme = (n: string): Scheme => (n.startsWith('bn') ? 'uint16' : n.includes('kernel') ? (n.startsWith('d/') ? 'float16' : 'uint8') : 'float32');
  const p = await prepare(model, 5, scheme);
  assert.deepEqual(new Set(p.modelJson.weightsManifest[0].weights.map((w) => w.quantization?.dtype ?? 'none')), new Set(['uint8', 'uint16', 'float16', 'none']));

  // Our dequantisation must reproduce tfjs' own, value for value.
  const ours = decodeWeights(p.modelJson.weightsManifest, () => p.bytes);
  const theirs = tf.io.decodeWeights(p.bytes.slice().buffer, p.modelJson.weightsManifest[0].weights as tf.io.WeightsManifestEntry[]);
  for (const [name, tensor] of Object.entries(theirs)) assert.deepEqual(ours.get(name)?.data, tensor.dataSync(), `weight ${name}`);

  const conv = convert(p, 'c2');
  assert.equal(conv.foldedBatchNorms, 1);
  const d = await compare(p, conv, 'c2', 13, 11, false, 9);
  t.diagnostic(`13×11: max|Δ| features ${d.dFeat.toExponential(2)}, scores ${d.dScores.toExponential(2)}, GeM ${d.dGem.toExponential(2)}`);
  assert.ok(d.dFeat <= 1e-5 && d.dScores <= 1e-6 && d.dGem <= 1e-5, JSON.stringify(d));
});

test('GAP head: even kernels, dilation and stride-2 same padding agree with tfjs at sizes other than the nominal one', async (t) => {
  await tf.setBackend('cpu');
  const inp = tf.input({ shape: [16, 16, 3], name: 'img' });
  let x = tf.layers.conv2d({ name: 'c1', filters: 6, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(inp) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x) as tf.SymbolicTensor;
  const a1 = tf.layers.activation({ name: 'a1', activation: 'relu6' }).apply(x) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ name: 'c2', filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same' }).apply(a1) as tf.SymbolicTensor;
  const c3 = tf.layers.conv2d({ name: 'c3', filters: 6, kernelSize: 1 }).apply(a1) as tf.SymbolicTensor;
  x = tf.layers.add({ name: 'res' }).apply([c2, c3]) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'c4', filters: 10, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  let z = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  z = tf.layers.dropout({ name: 'drop', rate: 0.5 }).apply(z) as tf.SymbolicTensor;
  z = tf.layers.dense({ name: 'd', units: 3, activation: 'softmax' }).apply(z) as tf.SymbolicTensor;
  const p = await prepare(tf.model({ inputs: inp, outputs: z, name: 'gaphead' }), 6, () => 'float32');
  const conv = convert(p);
  assert.equal(conv.featureLayer, 'c4');
  for (const [H, W] of [[16, 16], [17, 9], [24, 31]]) {
    const d = await compare(p, conv, 'c4', H, W, true, H * 100 + W);
    t.diagnostic(`${H}×${W}: max|Δ| features ${d.dFeat.toExponential(2)}, scores ${d.dScores.toExponential(2)}, GeM ${d.dGem.toExponential(2)}`);
    assert.ok(d.dFeat <= 1e-5 && d.dScores <= 1e-6 && d.dGem <= 1e-5, `${H}×${W}: ${JSON.stringify(d)}`);
  }
});

test('unsupported layers and model/weight mismatches are reported by name', async () => {
  await tf.setBackend('cpu');
  const inp = tf.input({ shape: [8, 8, 3] });
  const x = tf.layers.conv2d({ name: 'c', filters: 2, kernelSize: 3 }).apply(inp) as tf.SymbolicTensor;
  const z = tf.layers.dense({ name: 'd', units: 2 }).apply(tf.layers.globalMaxPooling2d({ name: 'g' }).apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const p = await prepare(tf.model({ inputs: inp, outputs: z }), 1, () => 'float32');
  const weights = decodeWeights(p.modelJson.weightsManifest, () => p.bytes);
  weights.delete('c/bias');
  assert.throws(() => convertKerasModel(p.modelJson, weights), /layer 'c': weight 'c\/bias' is missing/);
  const extra = decodeWeights(p.modelJson.weightsManifest, () => p.bytes);
  extra.set('stray/kernel', { shape: [1], data: new Float32Array(1) });
  assert.throws(() => convertKerasModel(p.modelJson, extra), /weights not used by any layer .*stray\/kernel/);
  const renamed = structuredClone(p.modelJson) as { modelTopology: { config: { layers: { class_name: string }[] } } };
  renamed.modelTopology.config.layers[1].class_name = 'SeparableConv2D';
  assert.throws(() => convertKerasModel(renamed as unknown as TfjsLayersModelJson, weights), /Keras layer class 'SeparableConv2D' is not supported/);
  assert.throws(() => decodeWeights(p.modelJson.weightsManifest, () => p.bytes.subarray(0, 8)), /needs bytes .* hold 8/);
});
