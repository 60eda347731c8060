// Shared by the tfjs ↔ ONNX parity tests: photo-like test images and the tfjs reference model.
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { NsfwjsModelFiles } from '../../native-models/tools/converters/tfjs/nsfwjs-models.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A deterministic photo-like RGB scene (gradient sky, lit blobs, hard-edged objects, sensor noise),
 * blurred and JPEG-encoded so it carries real compression artefacts, returned as JPEG bytes.
 */
export async function photoLikeJpeg(seed: number, width = 640, height = 480): Promise<Buffer> {
  const rnd = lcg(seed);
  const px = Buffer.alloc(width * height * 3);
  const top = [rnd() * 255, rnd() * 255, rnd() * 255];
  const bottom = [rnd() * 255, rnd() * 255, rnd() * 255];
  const blobs = Array.from({ length: 5 }, () => ({
    x: rnd() * width, y: rnd() * height, r: 30 + rnd() * 150,
    c: [rnd() * 255, rnd() * 255, rnd() * 255],
  }));
  const rects = Array.from({ length: 6 }, () => ({
    x0: rnd() * width, y0: rnd() * height, w: 20 + rnd() * 200, h: 20 + rnd() * 200,
    c: [rnd() * 255, rnd() * 255, rnd() * 255], stripes: rnd() < 0.5,
  }));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const t = y / (height - 1);
      const c = [0, 1, 2].map((k) => top[k] * (1 - t) + bottom[k] * t);
      for (const b of blobs) {
        const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
        const wgt = Math.exp(-d2 * 2);
        for (let k = 0; k < 3; k++) c[k] = c[k] * (1 - wgt) + b.c[k] * wgt;
      }
      for (const r of rects) {
        if (x >= r.x0 && x < r.x0 + r.w && y >= r.y0 && y < r.y0 + r.h && (!r.stripes || Math.floor((x - r.x0) / 6) % 2 === 0)) {
          for (let k = 0; k < 3; k++) c[k] = r.c[k];
        }
      }
      const i = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) px[i + k] = Math.max(0, Math.min(255, Math.round(c[k] + (rnd() - 0.5) * 24)));
    }
  return sharp(px, { raw: { width, height, channels: 3 } }).blur(0.8).jpeg({ quality: 85 }).toBuffer();
}

/** The image as the model input: squashed to width×height RGB, divided by 255 (nsfwjs's only normalisation), NHWC. */
export async function toInput(jpeg: Buffer, width: number, height: number): Promise<Float32Array> {
  const raw = await sharp(jpeg).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return Float32Array.from(raw, (v) => v / 255);
}

/** Loads the tfjs reference from the very same model.json and shard bytes the converter reads. */
export async function loadTfjsReference(files: NsfwjsModelFiles, strict = true): Promise<tf.LayersModel> {
  await tf.setBackend('cpu');
  const specs = files.modelJson.weightsManifest.flatMap((g) => g.weights);
  const parts = files.modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => files.shards.get(p)));
  const total = parts.reduce((a, p) => a + (p?.byteLength ?? 0), 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    if (!p) throw new Error('tfjs reference: missing shard');
    data.set(p, o);
    o += p.byteLength;
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: files.modelJson.modelTopology as unknown as tf.io.ModelJSON['modelTopology'],
      weightSpecs: specs as tf.io.WeightsManifestEntry[],
      weightData: data.buffer,
    }),
  };
  return tf.loadLayersModel(handler, { strict });
}

/** Runs the reference and returns the outputs of the named layers (feature maps NHWC). */
export function runTfjs(model: tf.LayersModel, layers: readonly string[], input: Float32Array, height: number, width: number): { data: Float32Array; shape: number[] }[] {
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
  return tf.tidy(() => {
    const res = probe.predict(tf.tensor4d(input, [1, height, width, 3]));
    return (Array.isArray(res) ? res : [res]).map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape as number[] }));
  });
}

/** Global average and GeM (L2-normalised) of an NHWC feature map [1,H,W,C], in double precision. */
export function poolNhwc(f: Float32Array, shape: number[], p: number, eps: number): { gap: Float64Array; gem: Float64Array } {
  const [, H, W, C] = shape;
  const gap = new Float64Array(C);
  const gem = new Float64Array(C);
  for (let i = 0; i < H * W; i++)
    for (let c = 0; c < C; c++) {
      const v = f[i * C + c];
      gap[c] += v;
      gem[c] += Math.max(v, eps) ** p;
    }
  let n2 = 0;
  for (let c = 0; c < C; c++) {
    gap[c] /= H * W;
    gem[c] = (gem[c] / (H * W)) ** (1 / p);
    n2 += gem[c] ** 2;
  }
  for (let c = 0; c < C; c++) gem[c] /= Math.sqrt(n2);
  return { gap, gem };
}

/** Global average of an NCHW feature map [1,C,H,W]. */
export function gapNchw(f: Float32Array, dims: readonly number[]): Float64Array {
  const [, C, H, W] = dims;
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < H * W; i++) s += f[c * H * W + i];
    out[c] = s / (H * W);
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Max |a − b| between an NCHW map [1,C,H,W] and an NHWC map [1,H,W,C] of the same tensor. */
export function maxAbsDiffNchwNhwc(nchw: Float32Array, nhwc: Float32Array, dims: readonly number[]): number {
  const [, C, H, W] = dims;
  let m = 0;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H * W; i++) m = Math.max(m, Math.abs(nchw[c * H * W + i] - nhwc[i * C + c]));
  return m;
}
