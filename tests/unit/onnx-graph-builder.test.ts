import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { GraphBuilder, attr } from '../../native-models/runtime/onnx/graph-builder.ts';

// Deterministic pseudo-random values so a failing case can be reproduced.
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: 1 });
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length, 'length');
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tol, `max abs diff ${worst} > ${tol}`);
}

// erf by its Maclaurin series: exact to double precision for the |x| < 3 inputs used here
// (the usual Abramowitz–Stegun formula is only good to 1.5e-7).
function erf(x: number): number {
  let sum = x;
  let term = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

test('MatMul + Add with a dynamic batch dimension matches JS', async () => {
  const g = new GraphBuilder({ name: 'linear' });
  const x = g.input('x', 'float32', ['batch', 5]);
  const W = rand(5 * 3, 1);
  const b = rand(3, 2);
  const y = g.op('Add', [g.op('MatMul', [x, g.initializer('W', W, [5, 3])]), g.initializer('b', b, [3])]);
  g.output(y, { name: 'y', shape: ['batch', 3] });
  for (const batch of [1, 4]) {
    const xs = rand(batch * 5, 10 + batch);
    const out = await run(g, { x: new ort.Tensor('float32', xs, [batch, 5]) });
    assert.deepEqual(out.y.dims, [batch, 3]);
    const expected = new Float32Array(batch * 3);
    for (let n = 0; n < batch; n++)
      for (let j = 0; j < 3; j++) {
        let s = b[j];
        for (let k = 0; k < 5; k++) s += xs[n * 5 + k] * W[k * 3 + j];
        expected[n * 3 + j] = s;
      }
    assertClose(out.y.data as Float32Array, expected, 1e-6);
  }
});

test('Gemm with transB and float alpha/beta attributes matches JS', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [2, 4]);
  const W = rand(3 * 4, 3);
  const c = rand(3, 4);
  // alpha=2 is integral: it must still be written as a FLOAT attribute (Gemm rejects INT).
  g.output(g.op('Gemm', [x, g.initializer('W', W, [3, 4]), g.initializer('c', c, [3])], { transB: 1, alpha: 2, beta: 0.5 }), { name: 'y' });
  const xs = rand(8, 5);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [2, 4]) });
  const expected: number[] = [];
  for (let n = 0; n < 2; n++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += xs[n * 4 + k] * W[j * 4 + k];
      expected.push(2 * s + 0.5 * c[j]);
    }
  assertClose(out.y.data as Float32Array, expected, 1e-6);
});

test('grouped strided Conv with asymmetric pads matches a naive JS convolution', async () => {
  const [N, C, H, Wd, O, group, k, stride] = [1, 4, 7, 6, 6, 2, 3, 2];
  const pads = [0, 1, 1, 0]; // top, left, bottom, right — TF 'same' style asymmetric padding
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [N, C, 'h', 'w']);
  const weight = rand(O * (C / group) * k * k, 7);
  const bias = rand(O, 8);
  const y = g.op('Conv', [x, g.initializer('w', weight, [O, C / group, k, k]), g.initializer('b', bias, [O])], {
    kernel_shape: [k, k],
    strides: [stride, stride],
    pads,
    group,
  });
  g.output(y, { name: 'y' });
  const xs = rand(N * C * H * Wd, 9);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [N, C, H, Wd]) });
  const Ho = Math.floor((H + pads[0] + pads[2] - k) / stride) + 1;
  const Wo = Math.floor((Wd + pads[1] + pads[3] - k) / stride) + 1;
  assert.deepEqual(out.y.dims, [N, O, Ho, Wo]);
  const cpg = C / group;
  const opg = O / group;
  const expected = new Float32Array(O * Ho * Wo);
  for (let o = 0; o < O; o++) {
    const grp = Math.floor(o / opg);
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        let s = bias[o];
        for (let ci = 0; ci < cpg; ci++)
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++) {
              const yy = i * stride - pads[0] + di;
              const xx = j * stride - pads[1] + dj;
              if (yy < 0 || yy >= H || xx < 0 || xx >= Wd) continue;
              s += xs[(grp * cpg + ci) * H * Wd + yy * Wd + xx] * weight[((o * cpg + ci) * k + di) * k + dj];
            }
        expected[(o * Ho + i) * Wo + j] = s;
      }
  }
  assertClose(out.y.data as Float32Array, expected, 1e-5);
});

test('Softmax over the last axis matches JS', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [3, 5]);
  g.output(g.op('Softmax', [x], { axis: -1 }), { name: 'p' });
  const xs = rand(15, 11).map((v) => v * 10);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [3, 5]) });
  const expected: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = Array.from(xs.subarray(r * 5, r * 5 + 5));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    expected.push(...e.map((v) => v / z));
  }
  assertClose(out.p.data as Float32Array, expected, 1e-6);
});

test('LayerNormalization equals the ReduceMean/Sub/Pow/Sqrt chain and JS', async () => {
  const D = 8;
  const gamma = rand(D, 12);
  const beta = rand(D, 13);
  const eps = 1e-5;
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['n', D]);
  const gm = g.initializer('gamma', gamma, [D]);
  const bt = g.initializer('beta', beta, [D]);
  g.output(g.op('LayerNormalization', [x, gm, bt], { axis: -1, epsilon: eps }), { name: 'ln' });
  // The same thing spelled out (opset 17 ReduceMean still takes axes as an attribute).
  const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const centred = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Pow', [centred, g.float(2)])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, g.float(eps)])])]);
  g.output(g.op('Add', [g.op('Mul', [normed, gm]), bt]), { name: 'manual' });
  const xs = rand(3 * D, 14).map((v) => v * 4 + 1);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [3, D]) });
  const expected: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = Array.from(xs.subarray(r * D, (r + 1) * D));
    const mu = row.reduce((a, b) => a + b, 0) / D;
    const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / D;
    row.forEach((val, i) => expected.push(((val - mu) / Math.sqrt(v + eps)) * gamma[i] + beta[i]));
  }
  assertClose(out.ln.data as Float32Array, expected, 1e-5);
  assertClose(out.manual.data as Float32Array, expected, 1e-5);
});

test('Erf-based GELU matches JS', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [16]);
  const erfOut = g.op('Erf', [g.op('Mul', [x, g.float(Math.SQRT1_2)])]);
  g.output(g.op('Mul', [g.op('Mul', [x, g.float(0.5)]), g.op('Add', [erfOut, g.float(1)])]), { name: 'gelu' });
  const xs = rand(16, 15).map((v) => v * 6);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [16]) });
  const expected = Array.from(xs, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
  assertClose(out.gelu.data as Float32Array, expected, 1e-5);
});

test('Reshape, Transpose, Concat, Slice, Gather with int64 constants', async () => {
  const g = new GraphBuilder({ opset: 18 });
  const x = g.input('x', 'float32', [2, 6]);
  const r = g.op('Reshape', [x, g.int64([2, 3, 2])]); // [2,3,2]
  const t = g.op('Transpose', [r], { perm: [0, 2, 1] }); // [2,2,3]
  const c = g.op('Concat', [t, t], { axis: 2 }); // [2,2,6]
  const s = g.op('Slice', [c, g.int64([1]), g.int64([5]), g.int64([2])]); // [2,2,4]
  const gathered = g.op('Gather', [s, g.int64(1)], { axis: 0 }); // scalar index → [2,4]
  g.output(gathered, { name: 'out', shape: [2, 4] });
  const xs = Float32Array.from({ length: 12 }, (_, i) => i);
  const out = await run(g, { x: new ort.Tensor('float32', xs, [2, 6]) });
  assert.deepEqual(out.out.dims, [2, 4]);
  // JS reference of the same index gymnastics.
  const R = (a: number, b: number, cc: number) => xs[a * 6 + b * 2 + cc];
  const T = (a: number, b: number, cc: number) => R(a, cc, b);
  const C = (a: number, b: number, cc: number) => T(a, b, cc % 3);
  const expected: number[] = [];
  for (let b = 0; b < 2; b++) for (let cc = 1; cc < 5; cc++) expected.push(C(1, b, cc));
  assert.deepEqual(Array.from(out.out.data as Float32Array), expected);
});

test('multi-output nodes, explicit output names and save() round trip', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-gb-'));
  try {
    const g = new GraphBuilder({ name: 'split' });
    const x = g.input('x', 'float32', [6]);
    const [a, b] = g.node('Split', [x, g.int64([2, 4])], 2, { axis: 0 });
    const [named] = g.node('Neg', [a], ['neg_a']);
    assert.equal(named, 'neg_a');
    g.output(named);
    g.output(b, { name: 'rest' });
    g.setMetadata('purpose', 'unit-test');
    const path = join(dir, 'm.onnx');
    const size = await g.save(path);
    const bytes = await readFile(path);
    assert.equal(bytes.byteLength, size);
    const decoded = onnxProto.onnx.ModelProto.decode(bytes);
    assert.equal(Number(decoded.opsetImport[0].version), 17);
    assert.equal(decoded.metadataProps[0].value, 'unit-test');
    const session = await ort.InferenceSession.create(path);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [6]) });
    await session.release();
    assert.deepEqual(Array.from(out.neg_a.data as Float32Array), [-1, -2]);
    assert.deepEqual(Array.from(out.rest.data as Float32Array), [3, 4, 5, 6]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('attribute typing, unique names and error messages', () => {
  const g = new GraphBuilder({ name: 'names' });
  const x = g.input('x', 'float32', [2]);
  assert.equal(g.uniqueName('w'), 'w');
  assert.equal(g.uniqueName('w'), 'w_1');
  assert.equal(g.initializer('w', Float32Array.of(1, 2), [2]), 'w_2');
  assert.throws(() => g.input('x', 'float32', [1]), /'x' is already used/);
  assert.throws(() => g.op('Relu', ['nope']), /Relu input 'nope' is not defined/);
  assert.throws(() => g.initializer('bad', Float32Array.of(1, 2, 3), [2]), /3 values do not fill dims \[2\]/);
  assert.throws(() => g.toBytes(), /no outputs declared/);
  const y = g.op('LeakyRelu', [x], { alpha: 1 });
  g.op('Clip', [x], { custom: attr.float(3) });
  g.op('Constant', [], { value: attr.tensor({ dtype: 'int64', data: [1, 2], dims: [2] }) });
  g.output(y);
  const model = onnxProto.onnx.ModelProto.decode(g.toBytes());
  const T = onnxProto.onnx.AttributeProto.AttributeType;
  const nodes = model.graph?.node ?? [];
  const byOp = (op: string) => nodes.find((n) => n.opType === op)?.attribute?.[0];
  assert.equal(byOp('LeakyRelu')?.type, T.FLOAT);
  assert.equal(byOp('Clip')?.type, T.FLOAT);
  assert.equal(byOp('Constant')?.type, T.TENSOR);
  assert.equal(new Set(nodes.map((n) => n.name)).size, nodes.length);
  assert.throws(() => new GraphBuilder({ opset: 13 }), /opset 13 is below/);
});
