// Pixels → encoder input, exactly as a pack manifest's preprocessing says. Images arrive here already decoded,
// EXIF-oriented and 3-channel sRGB (see electron/engine/images/decode.ts).
import sharp from 'sharp';
import type { Preprocessing } from '../../../native-models/packs/manifest.ts';
import type { RgbImage } from '../images/decode.ts';

export type { RgbImage };

/** Resizes to `size` ([width, height]) by the manifest's rule: `squash` ignores aspect, `center-crop` fills then crops. */
export async function resizeRgb(image: RgbImage, size: readonly [number, number], rule: Preprocessing['resize']): Promise<RgbImage> {
  const [width, height] = size;
  if (image.width === width && image.height === height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: rule === 'squash' ? 'fill' : 'cover', position: 'centre' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new Error(`resize to ${width}×${height} produced ${info.width}×${info.height}×${info.channels}`);
  }
  return { data, width, height };
}

/**
 * Writes images (all the same size) into one float32 batch tensor: value = (byte·scale − mean[c]) / std[c],
 * channels in the manifest's order, NHWC or NCHW. Returns the data and its dims. `reuse`, when it has the right
 * length, is overwritten instead of allocating (a fresh multi-MB array costs more than filling it).
 */
export function toInputTensor(
  images: readonly RgbImage[],
  pre: Preprocessing,
  reuse?: Float32Array,
): { data: Float32Array; dims: number[] } {
  const { width, height } = images[0];
  const plane = width * height;
  const length = images.length * plane * 3;
  const data = reuse && reuse.length === length ? reuse : new Float32Array(length);
  // Per-channel lookup tables: 256 entries each, so the inner loop is a load and a store.
  const order = pre.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const luts = order.map((src) => {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v * pre.scale - pre.mean[src]) / pre.std[src];
    return { src, lut };
  });
  const sameForAllChannels =
    pre.channelOrder === 'RGB' && pre.mean.every((m) => m === pre.mean[0]) && pre.std.every((v) => v === pre.std[0]);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height || img.data.length !== plane * 3) {
      throw new Error(`batch image ${n} is ${img.width}×${img.height}, expected ${width}×${height} RGB`);
    }
    const px = img.data;
    const base = n * plane * 3;
    if (pre.layout === 'NHWC' && sameForAllChannels) {
      // The common case (one mean/std for all channels, RGB): one table over the interleaved bytes.
      const lut = luts[0].lut;
      for (let i = 0; i < plane * 3; i++) data[base + i] = lut[px[i]];
    } else if (pre.layout === 'NHWC') {
      const [a, b, c] = luts;
      for (let i = 0, o = base; i < plane * 3; i += 3, o += 3) {
        data[o] = a.lut[px[i + a.src]];
        data[o + 1] = b.lut[px[i + b.src]];
        data[o + 2] = c.lut[px[i + c.src]];
      }
    } else {
      luts.forEach(({ src, lut }, ch) => {
        const o = base + ch * plane;
        for (let i = 0; i < plane; i++) data[o + i] = lut[px[i * 3 + src]];
      });
    }
  });
  const dims = pre.layout === 'NHWC' ? [images.length, height, width, 3] : [images.length, 3, height, width];
  return { data, dims };
}
