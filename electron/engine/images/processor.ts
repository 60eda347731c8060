// The one image processor: how a pack's manifest turns image bytes into the pixels and the input tensor its encoder
// sees — the decode (EXIF-oriented, flattened onto white, sRGB, reduced once to cover every input), the whole-image
// and region-pass inputs, query crops, and the float tensor. It is built from the manifest's preprocessing and region
// scheme alone, apart from the model (as transformers.js builds its image processor from a config): ingest, crop
// queries (models/ImageEncoder.ts) and the offline training tools (native-models/tools/training/) all go through it, so
// what training measures is exactly what search computes (tests/unit/image-processor.test.ts proves it on the model).
import sharp from 'sharp';
import type { PackManifest, Preprocessing, RegionScheme } from '../../../native-models/runtime/packs/manifest.ts';
import { DEFAULT_MAX_PIXELS, decodeRgb, readImageHeader, type Box, type RgbImage } from './decode.ts';

/** The manifest fields the processor is built from: the whole-image preprocessing and the region pass's size. */
export interface ProcessorSpec {
  preprocessing: Preprocessing;
  regions?: Pick<RegionScheme, 'inputSize'> | null;
}

/** The model inputs of one image: the whole-image pass and, when the pack has regions, the region pass. */
export interface EncoderInputs {
  whole: RgbImage;
  region: RgbImage | null;
}

export class ImageProcessor {
  readonly preprocessing: Preprocessing;
  /** Region-pass input size [width, height], squashed like the whole-image pass; null without a region scheme. */
  readonly regionSize: readonly [number, number] | null;
  /** The smallest decoded size from which every input can be resized without enlarging. */
  readonly cover: readonly [number, number];

  constructor(spec: ProcessorSpec) {
    this.preprocessing = spec.preprocessing;
    this.regionSize = spec.regions?.inputSize ?? null;
    const [w, h] = spec.preprocessing.inputSize;
    const [rw, rh] = this.regionSize ?? [0, 0];
    this.cover = [Math.max(w, rw), Math.max(h, rh)];
  }

  static forPack(manifest: PackManifest): ImageProcessor {
    return new ImageProcessor({ preprocessing: manifest.image.preprocessing, regions: manifest.regions });
  }

  /** Decodes once, reduced to `cover`: every input of this image is resized from the result. */
  decode(bytes: Buffer, what: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<RgbImage> {
    return decodeRgb(bytes, what, this.cover, maxPixels);
  }

  /** The encoder inputs of a decoded image (from `decode`). */
  async inputs(image: RgbImage): Promise<EncoderInputs> {
    const [whole, region] = await Promise.all([
      resizeRgb(image, this.preprocessing.inputSize, this.preprocessing.resize),
      this.regionSize ? resizeRgb(image, this.regionSize, 'squash') : Promise.resolve(null),
    ]);
    return { whole, region };
  }

  /**
   * A query crop: `box` in pixels of the image with EXIF orientation applied, cut from the full-resolution decode
   * (no surrounding context) and resized to `size`. The manifest has no query-specific rule, so the default is the
   * whole-image preprocessing: the crop is the query's whole image. Other sizes are for the training tools'
   * measurements of alternatives.
   */
  async crop(bytes: Buffer, what: string, box: Box, options: { size?: readonly [number, number]; maxPixels?: number } = {}): Promise<RgbImage> {
    const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    const [width, height] = options.size ?? this.preprocessing.inputSize;
    const header = await readImageHeader(bytes, what, maxPixels);
    const left = Math.max(0, Math.floor(box.x));
    const top = Math.max(0, Math.floor(box.y));
    const right = Math.min(header.width, Math.ceil(box.x + box.w));
    const bottom = Math.min(header.height, Math.ceil(box.y + box.h));
    if (!(right > left && bottom > top)) {
      throw new Error(`crop box ${JSON.stringify(box)} lies outside ${what} (${header.width}×${header.height})`);
    }
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', autoOrient: true })
      .extract({ left, top, width: right - left, height: bottom - top })
      .resize(width, height, { fit: this.preprocessing.resize === 'squash' ? 'fill' : 'cover', position: 'centre' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  }

  /** The float input tensor of a batch of same-size inputs, by the manifest's preprocessing. */
  tensor(images: readonly RgbImage[], reuse?: Float32Array): { data: Float32Array; dims: number[] } {
    return toInputTensor(images, this.preprocessing, reuse);
  }
}

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
