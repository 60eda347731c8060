// Keras functional model (tfjs layers format) → ONNX.
// The graph takes NHWC float32 exactly as tfjs would be fed and transposes to NCHW once; every layer then
// works in NCHW. Height and width are dynamic: TF 'same' padding is reproduced with explicit pads where it
// does not depend on the input size (stride 1) and with auto_pad=SAME_UPPER (TF's rule: the odd extra pixel
// goes bottom/right) where it does. BatchNormalization directly after a linear convolution is folded into
// its weights. An AveragePooling2D whose window covers the whole feature map at the model's nominal input
// size (the classic Keras "GAP" head) becomes GlobalAveragePool, identical there and valid at other sizes.
//
// Outputs: `features` (the feature map entering the global pooling head, NCHW), `gem` (GeM pooling of it,
// L2-normalised) and `scores` (the model's own output).
import { GraphBuilder } from '../../../runtime/onnx/graph-builder.ts';
import { kerasModelConfig, type KerasLayer, type TfjsLayersModelJson } from './model-json.ts';
import type { WeightTensor } from './weights.ts';

export interface ConvertOptions {
  inputName?: string;
  featuresName?: string;
  gemName?: string;
  scoresName?: string;
  /** Layer whose output is the `features` map; default: the input of the last global pooling layer. */
  featureLayer?: string;
  /** GeM exponent and clamp floor. */
  gemP?: number;
  gemEps?: number;
  /** Fold BatchNormalization into the preceding convolution (default true). */
  foldBatchNorm?: boolean;
  opset?: number;
}

export interface ConversionResult {
  bytes: Uint8Array;
  inputName: string;
  outputNames: { features: string; gem: string; scores: string };
  featureLayer: string;
  featureChannels: number;
  /** [height, width] declared by the model's InputLayer. */
  nominalInputSize: [number, number];
  /** Static [C, H, W] of `features` at the nominal input size. */
  featureShapeAtNominal: [number, number, number];
  /** AveragePooling2D layers rewritten to GlobalAveragePool. */
  globalisedPools: string[];
  foldedBatchNorms: number;
  nodeCount: number;
  parameterCount: number;
}

/** A Keras tensor as it exists in the ONNX graph. Rank-4 values are NCHW; `shape` omits the batch. */
interface Val {
  name: string;
  shape: number[]; // static shape at the nominal input size: [C, H, W] or [K]
  /** ZeroPadding2D not materialised yet: [top, left, bottom, right]; a following convolution absorbs it. */
  pendingPad?: [number, number, number, number];
  /** Produced by a global pooling (1×1 spatial at every input size). */
  global?: boolean;
}

type Pair = [number, number];

function pair(v: unknown, what: string): Pair {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  throw new Error(`${what}: expected a number or a pair, got ${JSON.stringify(v)}`);
}

/** NHWC axis of a Keras rank-4 tensor → NCHW axis; rank-2 axes are unchanged. */
function mapAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${what}: axis ${axis} out of range for rank ${rank}`);
  return rank === 4 ? [0, 2, 3, 1][a] : a;
}

export function convertKerasModel(
  modelJson: TfjsLayersModelJson,
  weights: Map<string, WeightTensor>,
  opts: ConvertOptions = {},
): ConversionResult {
  const o = {
    inputName: opts.inputName ?? 'input',
    featuresName: opts.featuresName ?? 'features',
    gemName: opts.gemName ?? 'gem',
    scoresName: opts.scoresName ?? 'scores',
    gemP: opts.gemP ?? 3,
    gemEps: opts.gemEps ?? 1e-6,
    foldBatchNorm: opts.foldBatchNorm ?? true,
  };
  const cfg = kerasModelConfig(modelJson);
  const layers = cfg.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const g = new GraphBuilder({ name: cfg.config.name, opset: opts.opset ?? 17 });
  const vals = new Map<string, Val>();
  const usedWeights = new Set<string>();
  let parameterCount = 0;
  const globalisedPools: string[] = [];
  let foldedBatchNorms = 0;
  let lastGlobalPoolInput: string | undefined;

  // consumers[layer] = layers reading its output; BN folding needs "conv → BN only".
  const consumers = new Map<string, string[]>();
  for (const l of layers) {
    if (l.inbound_nodes.length > 1) throw new Error(`layer '${l.name}': shared layers (${l.inbound_nodes.length} inbound nodes) are not supported`);
    for (const [src] of l.inbound_nodes[0] ?? []) consumers.set(src, [...(consumers.get(src) ?? []), l.name]);
  }

  const weight = (layer: string, param: string): WeightTensor => {
    const key = `${layer}/${param}`;
    const w = weights.get(key);
    if (!w) throw new Error(`layer '${layer}': weight '${key}' is missing from the weights manifest`);
    if (!usedWeights.has(key)) parameterCount += w.data.length;
    usedWeights.add(key);
    return w;
  };

  const scalars = new Map<number, string>();
  const scalar = (v: number): string => {
    let s = scalars.get(v);
    if (!s) {
      s = g.float(v, [], 'scalar');
      scalars.set(v, s);
    }
    return s;
  };

  const materialise = (v: Val): Val => {
    if (!v.pendingPad) return v;
    const [t, l, b, r] = v.pendingPad;
    const name = g.op('Pad', [v.name, g.int64([0, 0, t, l, 0, 0, b, r])], { mode: 'constant' });
    return { name, shape: [v.shape[0], v.shape[1] + t + b, v.shape[2] + l + r] };
  };

  const inputsOf = (l: KerasLayer): Val[] =>
    (l.inbound_nodes[0] ?? []).map(([src, nodeIndex, tensorIndex]) => {
      if (nodeIndex !== 0 || tensorIndex !== 0) throw new Error(`layer '${l.name}': inbound ${src}[${nodeIndex}][${tensorIndex}] is not supported`);
      const v = vals.get(src);
      if (!v) throw new Error(`layer '${l.name}': input layer '${src}' has not been converted (layers not in topological order?)`);
      return v;
    });

  const single = (l: KerasLayer): Val => {
    const ins = inputsOf(l);
    if (ins.length !== 1) throw new Error(`layer '${l.name}' (${l.class_name}): expected 1 input, got ${ins.length}`);
    return ins[0];
  };

  const activation = (x: Val, kind: unknown, where: string): Val => {
    const rank = x.shape.length + 1;
    switch (kind) {
      case undefined:
      case null:
      case 'linear':
        return x;
      case 'relu':
        return { ...x, name: g.op('Relu', [x.name]) };
      case 'relu6':
        return { ...x, name: g.op('Clip', [x.name, scalar(0), scalar(6)]) };
      case 'sigmoid':
        return { ...x, name: g.op('Sigmoid', [x.name]) };
      case 'tanh':
        return { ...x, name: g.op('Tanh', [x.name]) };
      case 'softmax':
        return { ...x, name: g.op('Softmax', [x.name], { axis: rank === 4 ? 1 : -1 }) };
      default:
        throw new Error(`${where}: activation '${String(kind)}' is not supported`);
    }
  };

  // Batch-norm parameters as per-channel scale/shift (double precision before rounding to float32).
  const bnAffine = (bn: KerasLayer): { scale: Float64Array; shift: Float64Array } => {
    const c = bn.config;
    const axis = c.axis as number;
    if (axis !== -1 && axis !== 3 && !(Array.isArray(axis) && (axis[0] === -1 || axis[0] === 3))) {
      throw new Error(`layer '${bn.name}': BatchNormalization over axis ${JSON.stringify(axis)} is not supported (channels_last only)`);
    }
    const eps = c.epsilon as number;
    const mean = weight(bn.name, 'moving_mean').data;
    const variance = weight(bn.name, 'moving_variance').data;
    const gamma = c.scale === false ? undefined : weight(bn.name, 'gamma').data;
    const beta = c.center === false ? undefined : weight(bn.name, 'beta').data;
    const n = mean.length;
    const scale = new Float64Array(n);
    const shift = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
      shift[i] = (beta ? beta[i] : 0) - mean[i] * scale[i];
    }
    return { scale, shift };
  };

  const foldableBn = (conv: KerasLayer): KerasLayer | undefined => {
    if (!o.foldBatchNorm) return undefined;
    const act = conv.config.activation;
    if (act !== undefined && act !== 'linear') return undefined;
    const cons = consumers.get(conv.name) ?? [];
    if (cons.length !== 1) return undefined;
    const next = byName.get(cons[0]);
    return next?.class_name === 'BatchNormalization' ? next : undefined;
  };
  const foldedInto = new Map<string, string>(); // BN layer → conv layer whose output it aliases

  /** Spatial attributes and static output size of a conv/pool window, TF padding semantics. */
  const windowAttrs = (
    l: KerasLayer,
    x: Val,
    kernel: Pair,
    strides: Pair,
    dilation: Pair,
    padding: string,
    absorbPad: boolean,
  ): { attrs: Record<string, number[] | string>; outHW: Pair; x: Val } => {
    let input = x;
    let pads: [number, number, number, number] = [0, 0, 0, 0];
    if (input.pendingPad && absorbPad && padding === 'valid') {
      pads = [...input.pendingPad];
    } else {
      input = materialise(input);
    }
    const [H, W] = [input.shape[1], input.shape[2]];
    const eff = [(kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1];
    const attrs: Record<string, number[] | string> = { kernel_shape: kernel, strides };
    let outHW: Pair;
    if (padding === 'valid') {
      attrs.pads = pads;
      outHW = [
        Math.floor((H + pads[0] + pads[2] - eff[0]) / strides[0]) + 1,
        Math.floor((W + pads[1] + pads[3] - eff[1]) / strides[1]) + 1,
      ];
    } else if (padding === 'same') {
      outHW = [Math.ceil(H / strides[0]), Math.ceil(W / strides[1])];
      if (strides[0] === 1 && strides[1] === 1) {
        const th = eff[0] - 1;
        const tw = eff[1] - 1;
        attrs.pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
      } else {
        attrs.auto_pad = 'SAME_UPPER';
      }
    } else {
      throw new Error(`layer '${l.name}': padding '${padding}' is not supported`);
    }
    return { attrs, outHW, x: input };
  };

  const convLayer = (l: KerasLayer, depthwise: boolean): Val => {
    const c = l.config;
    if (c.data_format !== undefined && c.data_format !== 'channels_last') throw new Error(`layer '${l.name}': data_format ${String(c.data_format)} is not supported`);
    const k = weight(l.name, depthwise ? 'depthwise_kernel' : 'kernel');
    const [kh, kw, cin, last] = k.shape;
    const dm = depthwise ? last : 1;
    const O = depthwise ? cin * dm : last;
    const ipg = depthwise ? 1 : cin;
    const w = new Float64Array(O * ipg * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < cin; i++)
          for (let m = 0; m < last; m++) {
            const src = k.data[((y * kw + xx) * cin + i) * last + m];
            // Keras HWIO → OIHW; depthwise HW(C)(M) → (C·M)×1×H×W, output channel i·M+m.
            const dst = depthwise ? ((i * dm + m) * kh + y) * kw + xx : ((m * cin + i) * kh + y) * kw + xx;
            w[dst] = src;
          }
    const bias = new Float64Array(O);
    if (c.use_bias !== false) bias.set(weight(l.name, 'bias').data);
    const bn = foldableBn(l);
    if (bn) {
      const { scale, shift } = bnAffine(bn);
      if (scale.length !== O) throw new Error(`layer '${bn.name}': ${scale.length} channels, conv '${l.name}' has ${O}`);
      const per = ipg * kh * kw;
      for (let oc = 0; oc < O; oc++) {
        for (let j = 0; j < per; j++) w[oc * per + j] *= scale[oc];
        bias[oc] = bias[oc] * scale[oc] + shift[oc];
      }
      foldedInto.set(bn.name, l.name);
      foldedBatchNorms++;
    }
    const x = single(l);
    const win = windowAttrs(l, x, [kh, kw], pair(c.strides ?? 1, `${l.name}.strides`), pair(c.dilation_rate ?? 1, `${l.name}.dilation_rate`), String(c.padding), true);
    if (win.x.shape[0] !== cin) throw new Error(`layer '${l.name}': kernel expects ${cin} input channels, input has ${win.x.shape[0]}`);
    const hasBias = c.use_bias !== false || bn !== undefined;
    const inputs = [win.x.name, g.initializer(`${l.name}.weight`, Float32Array.from(w), [O, ipg, kh, kw])];
    if (hasBias) inputs.push(g.initializer(`${l.name}.bias`, Float32Array.from(bias), [O]));
    const name = g.op('Conv', inputs, { ...win.attrs, dilations: pair(c.dilation_rate ?? 1, `${l.name}.dilation_rate`), group: depthwise ? cin : 1 });
    return activation({ name, shape: [O, ...win.outHW] }, c.activation, `layer '${l.name}'`);
  };

  const poolLayer = (l: KerasLayer, kind: 'MaxPool' | 'AveragePool'): Val => {
    const c = l.config;
    const x = materialise(single(l));
    const pool = pair(c.pool_size, `${l.name}.pool_size`);
    const strides = c.strides == null ? pool : pair(c.strides, `${l.name}.strides`);
    const padding = String(c.padding);
    if (kind === 'AveragePool' && padding === 'valid' && pool[0] === x.shape[1] && pool[1] === x.shape[2] && strides[0] === pool[0] && strides[1] === pool[1]) {
      // The window is the whole map at the nominal size: a global average, which stays valid at any size.
      globalisedPools.push(l.name);
      lastGlobalPoolInput = (l.inbound_nodes[0] ?? [])[0]?.[0];
      return { name: g.op('GlobalAveragePool', [x.name]), shape: [x.shape[0], 1, 1], global: true };
    }
    const win = windowAttrs(l, x, pool, strides, [1, 1], padding, false);
    // TF average pooling with 'same' divides by the number of real (unpadded) pixels: count_include_pad=0.
    const name = g.op(kind, [win.x.name], kind === 'AveragePool' ? { ...win.attrs, count_include_pad: 0 } : win.attrs);
    return { name, shape: [x.shape[0], ...win.outHW] };
  };

  const inputLayers = cfg.config.input_layers;
  if (inputLayers.length !== 1) throw new Error(`model '${cfg.config.name}': ${inputLayers.length} inputs, expected 1`);
  let nominal: Pair | undefined;

  for (const l of layers) {
    const c = l.config;
    let out: Val;
    switch (l.class_name) {
      case 'InputLayer': {
        const shape = c.batch_input_shape as (number | null)[];
        if (!Array.isArray(shape) || shape.length !== 4) throw new Error(`layer '${l.name}': expected an image input [N,H,W,C], got ${JSON.stringify(shape)}`);
        const [, H, W, C] = shape;
        if (H == null || W == null || C == null) throw new Error(`layer '${l.name}': nominal height/width/channels must be declared, got ${JSON.stringify(shape)}`);
        nominal = [H, W];
        const x = g.input(o.inputName, 'float32', ['batch', 'height', 'width', C]);
        out = { name: g.op('Transpose', [x], { perm: [0, 3, 1, 2] }), shape: [C, H, W] };
        break;
      }
      case 'ZeroPadding2D': {
        const x = single(l);
        const p = c.padding;
        let pads: [number, number, number, number];
        if (typeof p === 'number') pads = [p, p, p, p];
        else if (Array.isArray(p) && p.length === 2 && Array.isArray(p[0]) && Array.isArray(p[1])) pads = [p[0][0], p[1][0], p[0][1], p[1][1]];
        else if (Array.isArray(p) && p.length === 2) pads = [p[0], p[1], p[0], p[1]];
        else throw new Error(`layer '${l.name}': padding ${JSON.stringify(p)} is not understood`);
        const prev = x.pendingPad ?? [0, 0, 0, 0];
        out = { name: x.name, shape: x.shape, pendingPad: [prev[0] + pads[0], prev[1] + pads[1], prev[2] + pads[2], prev[3] + pads[3]] };
        break;
      }
      case 'Conv2D':
        out = convLayer(l, false);
        break;
      case 'DepthwiseConv2D':
        out = convLayer(l, true);
        break;
      case 'BatchNormalization': {
        const x = materialise(single(l));
        if (foldedInto.has(l.name)) {
          out = x;
          break;
        }
        const { scale, shift } = bnAffine(l);
        // y = x·scale + shift expressed as an inference BatchNormalization (mean 0, var 1, eps 0).
        const n = scale.length;
        const name = g.op('BatchNormalization', [
          x.name,
          g.initializer(`${l.name}.scale`, Float32Array.from(scale), [n]),
          g.initializer(`${l.name}.shift`, Float32Array.from(shift), [n]),
          g.initializer(`${l.name}.zero_mean`, new Float32Array(n), [n]),
          g.initializer(`${l.name}.unit_var`, new Float32Array(n).fill(1), [n]),
        ], { epsilon: 0 });
        out = { ...x, name };
        break;
      }
      case 'ReLU': {
        const x = materialise(single(l));
        const slope = (c.negative_slope as number | undefined) ?? 0;
        const threshold = (c.threshold as number | undefined) ?? 0;
        if (slope !== 0 || threshold !== 0) throw new Error(`layer '${l.name}': ReLU with negative_slope/threshold is not supported`);
        const max = c.max_value as number | null | undefined;
        out = { ...x, name: max == null ? g.op('Relu', [x.name]) : g.op('Clip', [x.name, scalar(0), scalar(max)]) };
        break;
      }
      case 'Activation':
        out = activation(materialise(single(l)), c.activation, `layer '${l.name}'`);
        break;
      case 'Softmax': {
        const x = materialise(single(l));
        const axis = mapAxis((c.axis as number | undefined) ?? -1, x.shape.length + 1, `layer '${l.name}'`);
        out = { ...x, name: g.op('Softmax', [x.name], { axis }) };
        break;
      }
      case 'Add': {
        const ins = inputsOf(l).map(materialise);
        let acc = ins[0].name;
        for (const v of ins.slice(1)) acc = g.op('Add', [acc, v.name]);
        out = { ...ins[0], name: acc, pendingPad: undefined };
        break;
      }
      case 'Concatenate': {
        const ins = inputsOf(l).map(materialise);
        const rank = ins[0].shape.length + 1;
        const axis = mapAxis((c.axis as number | undefined) ?? -1, rank, `layer '${l.name}'`);
        const shape = [...ins[0].shape];
        shape[axis - 1] = ins.reduce((a, v) => a + v.shape[axis - 1], 0);
        out = { name: g.op('Concat', ins.map((v) => v.name), { axis }), shape, global: ins.every((v) => v.global) };
        break;
      }
      case 'MaxPooling2D':
        out = poolLayer(l, 'MaxPool');
        break;
      case 'AveragePooling2D':
        out = poolLayer(l, 'AveragePool');
        break;
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const x = materialise(single(l));
        lastGlobalPoolInput = (l.inbound_nodes[0] ?? [])[0]?.[0];
        const pooled = g.op(l.class_name === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name]);
        out = c.keepdims === true
          ? { name: pooled, shape: [x.shape[0], 1, 1], global: true }
          : { name: g.op('Flatten', [pooled], { axis: 1 }), shape: [x.shape[0]] };
        break;
      }
      case 'Flatten': {
        const x = materialise(single(l));
        if (x.shape.length === 1) {
          out = x;
        } else if (x.global || (x.shape[1] === 1 && x.shape[2] === 1)) {
          out = { name: g.op('Flatten', [x.name], { axis: 1 }), shape: [x.shape[0]] };
        } else {
          // Keras flattens in NHWC order.
          const t = g.op('Transpose', [x.name], { perm: [0, 2, 3, 1] });
          out = { name: g.op('Flatten', [t], { axis: 1 }), shape: [x.shape[0] * x.shape[1] * x.shape[2]] };
        }
        break;
      }
      case 'Dense': {
        const x = materialise(single(l));
        if (x.shape.length !== 1) throw new Error(`layer '${l.name}': Dense on a rank-${x.shape.length + 1} tensor is not supported`);
        const k = weight(l.name, 'kernel');
        const [K, U] = k.shape;
        if (K !== x.shape[0]) throw new Error(`layer '${l.name}': kernel expects ${K} inputs, got ${x.shape[0]}`);
        const kw = g.initializer(`${l.name}.kernel`, k.data, [K, U]);
        const name = c.use_bias === false
          ? g.op('MatMul', [x.name, kw])
          : g.op('Gemm', [x.name, kw, g.initializer(`${l.name}.bias`, weight(l.name, 'bias').data, [U])]);
        out = activation({ name, shape: [U] }, c.activation, `layer '${l.name}'`);
        break;
      }
      case 'Dropout':
      case 'SpatialDropout2D':
        out = single(l); // inference: identity
        break;
      default:
        throw new Error(`layer '${l.name}': Keras layer class '${l.class_name}' is not supported`);
    }
    vals.set(l.name, out);
  }

  const unused = [...weights.keys()].filter((k) => !usedWeights.has(k));
  if (unused.length > 0) throw new Error(`weights not used by any layer (model/weights mismatch?): ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', …' : ''}`);
  if (!nominal) throw new Error(`model '${cfg.config.name}': no InputLayer`);

  const featureLayer = opts.featureLayer ?? lastGlobalPoolInput;
  if (!featureLayer) throw new Error(`model '${cfg.config.name}': no global pooling head found; pass featureLayer`);
  const fv = vals.get(featureLayer);
  if (!fv) throw new Error(`featureLayer '${featureLayer}' is not a layer of model '${cfg.config.name}'`);
  const feat = materialise(fv);
  if (feat.shape.length !== 3) throw new Error(`featureLayer '${featureLayer}' is not a spatial feature map`);
  const C = feat.shape[0];
  g.output(feat.name, { name: o.featuresName, shape: ['batch', C, 'feature_height', 'feature_width'] });

  // GeM: (mean over H,W of max(x, eps)^p)^(1/p), then L2-normalised over channels.
  const clamped = g.op('Clip', [feat.name, scalar(o.gemEps)]);
  const mean = g.op('ReduceMean', [g.op('Pow', [clamped, scalar(o.gemP)])], { axes: [2, 3], keepdims: 0 });
  const gem = g.op('Pow', [mean, scalar(1 / o.gemP)]);
  const norm = g.op('ReduceL2', [gem], { axes: [1], keepdims: 1 });
  g.output(g.op('Div', [gem, norm]), { name: o.gemName, shape: ['batch', C] });

  const outputs = cfg.config.output_layers;
  if (outputs.length !== 1) throw new Error(`model '${cfg.config.name}': ${outputs.length} outputs, expected 1`);
  const sv = vals.get(outputs[0][0]);
  if (!sv || sv.shape.length !== 1) throw new Error(`model '${cfg.config.name}': output '${outputs[0][0]}' is not a [batch, K] tensor`);
  g.output(sv.name, { name: o.scoresName, shape: ['batch', sv.shape[0]] });

  return {
    bytes: g.toBytes(),
    inputName: o.inputName,
    outputNames: { features: o.featuresName, gem: o.gemName, scores: o.scoresName },
    featureLayer,
    featureChannels: C,
    nominalInputSize: nominal,
    featureShapeAtNominal: [C, feat.shape[1], feat.shape[2]],
    globalisedPools,
    foldedBatchNorms,
    nodeCount: g.nodeCount,
    parameterCount,
  };
}
