// Reads a QuARI checkpoint folder (config.yml + weights.pt, as the reference load_model expects) without Python,
// and checks every state_dict tensor against the shapes the config implies.
//
// weights.pt is hostile input (it arrives on USB sticks, inside model packs): every size is checked before memory is
// spent on it. config.yml is read first (at most CONFIG_MAX_BYTES); weights.pt must be a regular file of at most
// the float32 bytes its config implies plus WEIGHTS_SLACK_BYTES (and never more than WEIGHTS_MAX_BYTES); deflated
// zip entries may inflate to no more than that budget in total; the pickle is at most PICKLE_MAX_BYTES. Every
// tensor's key and shape are checked against the config, and its strides, offset and element count against its
// storage, before anything is materialised, so the memory a checkpoint can take is bounded by its file size
// (at most 2× for float16/bfloat16 storages widened to float32).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readRegularFileSync } from '../../io/regularFile.ts';
import { readQuariConfig, type QuariHparams } from './config.ts';
import { expectedStateDictShapes } from './shapes.ts';
import { unpickleStateDict, type StorageRef, type TensorRef } from './unpickle.ts';
import { readZip } from './zip.ts';

/** Pickle, zip headers and torch's 64-byte alignment padding on top of the tensors' float32 bytes. */
export const WEIGHTS_SLACK_BYTES = 16 * 1024 * 1024;
/** Absolute cap on weights.pt: 1 GiB holds 268M float32 parameters (a released E=768 checkpoint is 73 MB). */
export const WEIGHTS_MAX_BYTES = 1024 * 1024 * 1024;
/** A state_dict pickle holds one small record per tensor (7 KB for 50 tensors). */
export const PICKLE_MAX_BYTES = 16 * 1024 * 1024;

/** A float32 tensor, row-major. `data` may be a view into the checkpoint file's buffer: treat it as read-only. */
export interface QuariTensor {
  shape: number[];
  data: Float32Array;
}

export interface QuariCheckpoint {
  dir: string;
  hparams: QuariHparams;
  featureExtractor?: string;
  /** Every state_dict entry, in file order, keyed as in PyTorch (`query_encoder.0.weight`, ...). */
  tensors: Map<string, QuariTensor>;
  /** The `pos_scale` buffer's value (not necessarily 1). */
  posScale: number;
  /** sha256 (hex) of weights.pt: the checkpoint's identity in search history. */
  sha256: string;
}

export function readQuariCheckpoint(dir: string): QuariCheckpoint {
  const config = readQuariConfig(join(dir, 'config.yml'));
  const expected = expectedStateDictShapes(config.hparams);
  let floatBytes = 0;
  for (const shape of expected.values()) floatBytes += 4 * shape.reduce((a, b) => a * b, 1);
  const budget = Math.min(WEIGHTS_MAX_BYTES, floatBytes + WEIGHTS_SLACK_BYTES);

  const weightsFile = join(dir, 'weights.pt');
  const weights = readRegularFileSync(weightsFile, { maxBytes: budget });
  const tensors = readStateDict(weights, weightsFile, config.hparams, budget);
  const sha256 = createHash('sha256').update(weights).digest('hex');
  return { dir, ...config, tensors, posScale: tensors.get('pos_scale')!.data[0], sha256 };
}

/** Reads a torch.save(state_dict) zip archive into float32 tensors, checking keys and shapes against `hparams` first. */
function readStateDict(archive: Uint8Array, file: string, hparams: QuariHparams, budget: number): Map<string, QuariTensor> {
  const entries = readZip(archive, file, budget);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) throw new Error(`${file}: expected one <folder>/data.pkl entry, found ${pickles.length}`);
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder.data) !== 'little') {
    throw new Error(`${file}: big-endian torch archives are not supported`);
  }
  const pickle = entries.get(pickles[0])!.data;
  if (pickle.length > PICKLE_MAX_BYTES) {
    throw new Error(`${file}: ${pickles[0]} is ${pickle.length} bytes, more than the limit of ${PICKLE_MAX_BYTES} for a state_dict pickle`);
  }

  const refs = unpickleStateDict(pickle, `${file}:${pickles[0]}`);
  checkShapes(refs, hparams, file);
  const storageBytes = new Map<string, { ref: StorageRef; bytes: Uint8Array }>();
  for (const [key, ref] of refs) {
    const where = `${file}: tensor ${key}`;
    const known = storageBytes.get(ref.storage.key);
    if (known) {
      if (known.ref.dtype !== ref.storage.dtype || known.ref.numel !== ref.storage.numel) {
        throw new Error(`${where} describes storage ${ref.storage.key} differently from an earlier tensor`);
      }
    } else {
      const entry = entries.get(`${prefix}data/${ref.storage.key}`);
      if (!entry) throw new Error(`${where} refers to missing storage entry ${prefix}data/${ref.storage.key}`);
      const itemSize = ref.storage.dtype === 'float32' ? 4 : 2;
      if (entry.data.length !== ref.storage.numel * itemSize) {
        throw new Error(`${file}: storage ${entry.name} holds ${entry.data.length} bytes, expected ${ref.storage.numel} ${ref.storage.dtype} values`);
      }
      storageBytes.set(ref.storage.key, { ref: ref.storage, bytes: entry.data });
    }
    checkLayout(ref, where);
  }

  const storages = new Map<string, Float32Array>();
  const tensors = new Map<string, QuariTensor>();
  for (const [key, ref] of refs) {
    let storage = storages.get(ref.storage.key);
    if (!storage) {
      storage = toFloat32(storageBytes.get(ref.storage.key)!.bytes, ref.storage);
      storages.set(ref.storage.key, storage);
    }
    tensors.set(key, { shape: ref.shape, data: materialise(ref, storage) });
  }
  return tensors;
}

function checkShapes(tensors: Map<string, { shape: number[] }>, h: QuariHparams, file: string): void {
  const layers = new Set([...tensors.keys()].map((k) => /^transformer\.layers\.(\d+)\./.exec(k)?.[1]).filter((i) => i !== undefined));
  if (layers.size !== h.numLayers) {
    throw new Error(`${file}: state_dict has ${layers.size} encoder layers (transformer.layers.*), config num_layers is ${h.numLayers}`);
  }
  const expected = expectedStateDictShapes(h);
  const problems: string[] = [];
  for (const [key, shape] of expected) {
    const t = tensors.get(key);
    if (!t) problems.push(`missing key ${key}`);
    else if (t.shape.join() !== shape.join()) problems.push(`${key} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const key of tensors.keys()) if (!expected.has(key)) problems.push(`unexpected key ${key}`);
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new Error(`${file} does not match its config.yml: ${problems.slice(0, 5).join('; ')}${more}`);
  }
}

/**
 * A tensor may only read elements its storage holds, each at most once: no stride 0 on a dimension longer than 1
 * (a broadcast view, which a state_dict never saves, and the way a 1 KB file claims gigabytes), no more elements
 * than the storage has, and no index past its end.
 */
function checkLayout(ref: TensorRef, where: string): void {
  const { shape, stride, offset, storage } = ref;
  shape.forEach((n, i) => {
    if (n > 1 && stride[i] === 0) throw new Error(`${where} has stride 0 in dimension ${i} (size ${n}); refusing a broadcast tensor`);
  });
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return;
  if (numel > storage.numel) throw new Error(`${where} has ${numel} elements, more than its storage's ${storage.numel}`);
  const last = offset + shape.reduce((acc, n, i) => acc + (n - 1) * stride[i], 0);
  if (last >= storage.numel) throw new Error(`${where} reaches element ${last} of a storage with ${storage.numel} elements`);
}

/** Storage bytes as float32: a view when the float32 payload is 4-byte aligned (torch aligns it to 64), else one copy. */
function toFloat32(bytes: Uint8Array, ref: StorageRef): Float32Array {
  if (ref.dtype === 'float32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, ref.numel);
  const out = new Float32Array(ref.numel);
  if (ref.dtype === 'float32') {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ref.dtype === 'bfloat16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < ref.numel; i++) bits[i] = src.getUint16(2 * i, true) << 16;
  } else {
    for (let i = 0; i < ref.numel; i++) out[i] = halfToFloat(src.getUint16(2 * i, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The tensor's elements in row-major order: a view for contiguous tensors, a gathered copy for strided ones
 * (checkLayout has bounded both by the storage).
 */
function materialise(ref: TensorRef, storage: Float32Array): Float32Array {
  const { shape, stride, offset } = ref;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return new Float32Array(0);
  let contiguous = true;
  for (let i = shape.length - 1, want = 1; i >= 0; want *= shape[i], i--) {
    if (shape[i] !== 1 && stride[i] !== want) contiguous = false;
  }
  if (contiguous) return storage.subarray(offset, offset + numel);

  const out = new Float32Array(numel);
  const index = new Array<number>(shape.length).fill(0);
  for (let n = 0, src = offset; n < numel; n++) {
    out[n] = storage[src];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) { src += stride[d]; break; }
      src -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
