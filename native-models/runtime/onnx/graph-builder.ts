// A small ONNX graph writer on top of the onnx-proto generated messages.
// Values are referred to by name (string); every helper returns the name of the value it creates,
// so graphs read like straight-line code:
//
//   const g = new GraphBuilder({ name: 'mlp' });
//   const x = g.input('x', 'float32', ['batch', 16]);
//   const w = g.initializer('w', weights, [16, 4]);
//   const y = g.op('Add', [g.op('MatMul', [x, w]), g.initializer('b', bias, [4])]);
//   g.output(g.op('Softmax', [y], { axis: -1 }), { name: 'probs' });
//   await g.save('mlp.onnx');
import { writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type ModelProto = onnxProto.onnx.IModelProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export type DType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8' | 'float16' | 'float64';

const DTYPE_CODE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
};

/** A dimension: a fixed size, a symbolic name ('batch', 'height'), or null for an anonymous unknown size. */
export type Dim = number | string | null;

/** Explicitly typed attribute value; needed only where inference from the JS value would be wrong (e.g. a float that happens to be integral outside the known float attribute names). */
export type TypedAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: readonly string[] }
  | { kind: 'tensor'; value: TensorValue };

export interface TensorValue {
  dtype: 'float32' | 'int64' | 'int32';
  data: Float32Array | BigInt64Array | Int32Array | readonly number[];
  dims: readonly number[];
}

/**
 * Attribute value. Plain JS values are inferred: string → STRING, string[] → STRINGS, boolean → INT,
 * number → FLOAT for the well-known float attributes (epsilon, alpha, beta, …) else INT when integral
 * else FLOAT; number[] likewise (→ FLOATS / INTS). Use `attr.*` for anything else.
 */
export type AttrValue = number | boolean | string | readonly number[] | readonly string[] | TypedAttr;
export type Attrs = Record<string, AttrValue | undefined>;

export const attr = {
  int: (value: number): TypedAttr => ({ kind: 'int', value }),
  float: (value: number): TypedAttr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): TypedAttr => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): TypedAttr => ({ kind: 'floats', value }),
  string: (value: string): TypedAttr => ({ kind: 'string', value }),
  strings: (value: readonly string[]): TypedAttr => ({ kind: 'strings', value }),
  tensor: (value: TensorValue): TypedAttr => ({ kind: 'tensor', value }),
};

// ONNX attributes of type float/floats across the standard ops we are likely to emit; others default to int.
const FLOAT_ATTR_NAMES = new Set([
  'alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'bias', 'lambd', 'ratio', 'value_float', 'value_floats',
  'scale', 'scales', 'min', 'max', 'spatial_scale', 'threshold', 'cubic_coeff_a', 'extrapolation_value', 'fmod_float',
]);

export interface GraphBuilderOptions {
  /** Graph name (also used as the model's domain-free producer-visible name). */
  name?: string;
  /** Default-domain opset; 17 gives LayerNormalization. onnxruntime-node 1.30 runs up to 21+. */
  opset?: number;
  producerName?: string;
  docString?: string;
}

export interface NodeOptions {
  /** Node name; defaults to a unique name derived from the op type. */
  name?: string;
  /** Operator domain, '' (default ONNX) or e.g. 'com.microsoft' (its opset must be added with `importOpset`). */
  domain?: string;
}

// IR version matching each default-domain opset (onnx/docs/Versioning.md); ORT refuses a too-old IR for a new opset.
function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  // Copy so later mutation of the caller's array cannot change the serialised model.
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function dimsProduct(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function makeTensor(name: string, t: TensorValue): TensorProto {
  const n = dimsProduct(t.dims);
  if (t.data.length !== n) {
    throw new Error(`tensor '${name}': ${t.data.length} values do not fill dims [${t.dims.join(',')}] (${n})`);
  }
  let raw: Uint8Array;
  if (t.dtype === 'float32') {
    raw = bytesOf(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>));
  } else if (t.dtype === 'int64') {
    const d = t.data instanceof BigInt64Array ? t.data : BigInt64Array.from(Array.from(t.data as ArrayLike<number>, (v) => BigInt(v)));
    raw = bytesOf(d);
  } else {
    raw = bytesOf(t.data instanceof Int32Array ? t.data : Int32Array.from(t.data as ArrayLike<number>));
  }
  return { name, dims: [...t.dims], dataType: DTYPE_CODE[t.dtype], rawData: raw };
}

function makeAttribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const typed: TypedAttr = inferAttr(name, v);
  switch (typed.kind) {
    case 'int':
      if (!Number.isInteger(typed.value)) throw new Error(`attribute '${name}': int attribute got ${typed.value}`);
      return { name, type: T.INT, i: typed.value };
    case 'float':
      return { name, type: T.FLOAT, f: typed.value };
    case 'ints':
      for (const x of typed.value) if (!Number.isInteger(x)) throw new Error(`attribute '${name}': ints attribute got ${x}`);
      return { name, type: T.INTS, ints: [...typed.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...typed.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(typed.value) };
    case 'strings':
      return { name, type: T.STRINGS, strings: typed.value.map((s) => new TextEncoder().encode(s)) };
    case 'tensor':
      return { name, type: T.TENSOR, t: makeTensor(name, typed.value) };
  }
}

function inferAttr(name: string, v: AttrValue): TypedAttr {
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'boolean') return { kind: 'int', value: v ? 1 : 0 };
  if (typeof v === 'number') {
    return FLOAT_ATTR_NAMES.has(name) || !Number.isInteger(v) ? { kind: 'float', value: v } : { kind: 'int', value: v };
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { kind: 'strings', value: v as string[] };
    const nums = v as number[];
    return FLOAT_ATTR_NAMES.has(name) || nums.some((x) => !Number.isInteger(x))
      ? { kind: 'floats', value: nums }
      : { kind: 'ints', value: nums };
  }
  return v as TypedAttr;
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[] | undefined): ValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: DTYPE_CODE[dtype] };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { name, type: { tensorType } };
}

export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  private readonly producerName: string;
  private readonly docString: string;
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly extraOpsets = new Map<string, number>();
  private readonly metadata = new Map<string, string>();

  constructor(opts: GraphBuilderOptions = {}) {
    this.name = opts.name ?? 'graph';
    this.opset = opts.opset ?? 17;
    if (this.opset < 17) throw new Error(`GraphBuilder: opset ${this.opset} is below the supported minimum 17`);
    this.producerName = opts.producerName ?? 'quari-workstation';
    this.docString = opts.docString ?? '';
  }

  /** A name not used yet in this graph: `hint` itself if free, otherwise `hint_1`, `hint_2`, … */
  uniqueName(hint: string): string {
    const base = hint.length > 0 ? hint : 'v';
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let k = this.counters.get(base) ?? 1;
    while (this.used.has(`${base}_${k}`)) k++;
    this.counters.set(base, k + 1);
    const name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  private claim(name: string, what: string): string {
    if (this.used.has(name)) throw new Error(`GraphBuilder '${this.name}': ${what} name '${name}' is already used`);
    this.used.add(name);
    return name;
  }

  /** Declares a graph input. Use string dims for dynamic sizes ('batch', 'height'). */
  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name, 'input'), dtype, shape));
    return name;
  }

  /**
   * Marks `value` as a graph output. With `name` different from `value`, an Identity node renames it.
   * dtype defaults to float32; shape may be omitted (ORT infers it).
   */
  output(value: string, opts: { name?: string; dtype?: DType; shape?: readonly Dim[] } = {}): string {
    let name = value;
    if (opts.name !== undefined && opts.name !== value) {
      name = this.op('Identity', [value], {}, { output: opts.name });
    }
    this.outputs.push(valueInfo(name, opts.dtype ?? 'float32', opts.shape));
    return name;
  }

  /** float32 initializer; `name` is a hint made unique. */
  initializer(name: string, data: Float32Array | readonly number[], dims: readonly number[]): string {
    const unique = this.uniqueName(name);
    this.initializers.push(makeTensor(unique, { dtype: 'float32', data, dims }));
    return unique;
  }

  /** Initializer of any supported dtype. */
  tensor(name: string, t: TensorValue): string {
    const unique = this.uniqueName(name);
    this.initializers.push(makeTensor(unique, t));
    return unique;
  }

  /** int64 constant (shapes, axes, Slice starts/ends, Gather indices). A number gives a scalar; an array a 1-D tensor unless dims given. */
  int64(values: number | readonly number[] | readonly bigint[], dims?: readonly number[], hint = 'const_i64'): string {
    const arr = typeof values === 'number' ? [values] : values;
    const data = BigInt64Array.from(Array.from(arr as ArrayLike<number | bigint>, (v) => BigInt(v)));
    const d = dims ?? (typeof values === 'number' ? [] : [data.length]);
    return this.tensor(hint, { dtype: 'int64', data, dims: d });
  }

  /** float32 constant; a number gives a scalar (broadcasts in Add/Mul/Pow). */
  float(values: number | readonly number[] | Float32Array, dims?: readonly number[], hint = 'const_f32'): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values);
    const d = dims ?? (typeof values === 'number' ? [] : [data.length]);
    return this.initializer(hint, data, d);
  }

  /**
   * Adds a node and returns its output names. `inputs` may contain '' for an omitted optional input;
   * `outputs` is a count of auto-named outputs (default 1) or explicit names.
   */
  node(opType: string, inputs: readonly string[], outputs: number | readonly string[] = 1, attrs: Attrs = {}, opts: NodeOptions = {}): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.used.has(i)) throw new Error(`GraphBuilder '${this.name}': ${opType} input '${i}' is not defined`);
    }
    const nodeName = opts.name !== undefined ? this.claim(opts.name, 'node') : this.uniqueName(`${opType}_node`);
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, k) => this.uniqueName(outputs === 1 ? opType.toLowerCase() : `${opType.toLowerCase()}_o${k}`))
        : outputs.map((n) => this.claim(n, `${opType} output`));
    const attribute: AttributeProto[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(makeAttribute(k, v));
    this.nodes.push({ opType, input: [...inputs], output: outs, name: nodeName, attribute, domain: opts.domain ?? '' });
    return outs;
  }

  /** Single-output shorthand for `node`; `opts.output` names the output (default: auto-named). */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, opts: NodeOptions & { output?: string } = {}): string {
    return this.node(opType, inputs, opts.output !== undefined ? [opts.output] : 1, attrs, opts)[0];
  }

  /** Imports an extra operator domain, e.g. importOpset('com.microsoft', 1). */
  importOpset(domain: string, version: number): void {
    this.extraOpsets.set(domain, version);
  }

  /** Model-level metadata_props entry. */
  setMetadata(key: string, value: string): void {
    this.metadata.set(key, value);
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  toModel(): ModelProto {
    if (this.outputs.length === 0) throw new Error(`GraphBuilder '${this.name}': no outputs declared`);
    return {
      irVersion: irVersionFor(this.opset),
      producerName: this.producerName,
      docString: this.docString,
      opsetImport: [{ domain: '', version: this.opset }, ...[...this.extraOpsets].map(([domain, version]) => ({ domain, version }))],
      metadataProps: [...this.metadata].map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    };
  }

  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(onnx.ModelProto.create(this.toModel())).finish();
  }

  async save(path: string): Promise<number> {
    const bytes = this.toBytes();
    await writeFile(path, bytes);
    return bytes.byteLength;
  }
}
