// Decoding of a tfjs weights manifest (model.json `weightsManifest`) into float32 arrays,
// following tfjs-core io/io_utils decodeWeights: weights lie back to back in the concatenated shards of
// their group; quantised weights are stored as uint8/uint16 (value = q * scale + min) or float16.

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  min?: number;
  scale?: number;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: TfjsQuantization;
}

export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Decodes every weight of `manifest`; `shards(path)` returns the bytes of one shard file as named in
 * `group.paths`. Returns float32 tensors keyed by weight name (int32/bool weights are widened to float32).
 */
export function decodeWeights(manifest: TfjsWeightGroup[], shards: (path: string) => Uint8Array): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const group of manifest) {
    const parts = group.paths.map((p) => shards(p));
    const total = parts.reduce((a, p) => a + p.byteLength, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      buf.set(p, o);
      o += p.byteLength;
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let offset = 0;
    for (const spec of group.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const q = spec.quantization;
      const width = q ? (q.dtype === 'uint8' ? 1 : 2) : spec.dtype === 'bool' ? 1 : 4;
      const bytes = n * width;
      if (offset + bytes > total) {
        throw new Error(`weight '${spec.name}': needs bytes ${offset}..${offset + bytes} but shards of [${group.paths.join(', ')}] hold ${total}`);
      }
      if (q) {
        if (q.dtype === 'uint8' || q.dtype === 'uint16') {
          if (q.min === undefined || q.scale === undefined) {
            throw new Error(`weight '${spec.name}': ${q.dtype} quantization lacks min/scale`);
          }
          for (let i = 0; i < n; i++) {
            const v = width === 2 ? view.getUint16(offset + 2 * i, true) : buf[offset + i];
            data[i] = v * q.scale + q.min;
          }
        } else if (q.dtype === 'float16') {
          for (let i = 0; i < n; i++) data[i] = float16ToFloat32(view.getUint16(offset + 2 * i, true));
        } else {
          throw new Error(`weight '${spec.name}': unsupported quantization dtype '${String((q as { dtype: unknown }).dtype)}'`);
        }
      } else if (spec.dtype === 'float32') {
        for (let i = 0; i < n; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else if (spec.dtype === 'int32') {
        for (let i = 0; i < n; i++) data[i] = view.getInt32(offset + 4 * i, true);
      } else if (spec.dtype === 'bool') {
        for (let i = 0; i < n; i++) data[i] = buf[offset + i] ? 1 : 0;
      } else {
        throw new Error(`weight '${spec.name}': unsupported dtype '${spec.dtype}'`);
      }
      out.set(spec.name, { shape: spec.shape, data });
      offset += bytes;
    }
    if (offset !== total) {
      throw new Error(`weights of shards [${group.paths.join(', ')}]: manifest accounts for ${offset} bytes, shards hold ${total}`);
    }
  }
  return out;
}
