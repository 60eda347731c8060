// Offline encoding for region-scheme measurements, built on the runtime's own pooling code so that what is measured
// here is what electron/engine/models/ImageEncoder.ts computes: GeM (p from the pack) over the whole 224×224 map
// and over feature-map windows of a larger squashed pass, raw (unprojected, unnormalised) vectors.
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { gemPowered, gemWindow, slidingWindows } from '../../../electron/engine/models/pooling.ts';
import { resizeRgb, toInputTensor, type RgbImage } from '../../../electron/engine/models/preprocess.ts';
import { nsfwjsPreprocessing } from '../../packs/build-default-pack.ts';
import type { Preprocessing } from '../../packs/manifest.ts';

/** nsfwjs MobileNetV2 as converted: NHWC RGB in [0, 1]. */
export const NSFWJS_PREPROCESSING: Preprocessing = nsfwjsPreprocessing([224, 224]);

export interface RegionConfig {
  name: string;
  inputSize: [number, number];
  windowCells: number;
  strideCells: number;
}

export class Encoder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly pre: Preprocessing,
    readonly gemP: number,
  ) {}

  static async open(model: string, threads = 2, gemP = 3): Promise<Encoder> {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new Encoder(session, NSFWJS_PREPROCESSING, gemP);
  }

  /** Feature map [C, H, W] of one image at its own size. */
  async featureMap(img: RgbImage): Promise<{ map: Float32Array; c: number; h: number; w: number }> {
    const { data, dims } = toInputTensor([img], this.pre);
    const out = await this.session.run({ input: new ort.Tensor('float32', data, dims) }, ['features']);
    const f = out.features;
    const [, c, h, w] = f.dims as number[];
    return { map: f.data as Float32Array, c, h, w };
  }

  /** GeM over the whole map: the vector of a whole image or of a query crop. */
  async pooled(img: RgbImage): Promise<Float32Array> {
    const { map, c, h, w } = await this.featureMap(img);
    const out = new Float32Array(c);
    gemWindow(gemPowered(map, this.gemP), c, h, w, this.gemP, { x: 0, y: 0, w, h }, out, 0);
    return out;
  }

  /** One raw GeM vector per sliding window (edge-flush windows included, as at runtime), row-major. */
  windows(fm: { map: Float32Array; c: number; h: number; w: number }, cfg: RegionConfig): { vectors: Float32Array; n: number } {
    const wins = slidingWindows(fm.w, fm.h, cfg.windowCells, cfg.strideCells);
    const powered = gemPowered(fm.map, this.gemP);
    const vectors = new Float32Array(wins.length * fm.c);
    wins.forEach((win, k) => gemWindow(powered, fm.c, fm.h, fm.w, this.gemP, win, vectors, k * fm.c));
    return { vectors, n: wins.length };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

export async function decodeRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export const squash = (img: RgbImage, size: [number, number]): Promise<RgbImage> => resizeRgb(img, size, 'squash');

/** The crop [x, y, w, h] (pixels) resized to exactly `size`, as ImageEncoder.encodeCrop does for 224×224. */
export async function cropTo(img: RgbImage, crop: [number, number, number, number], size: [number, number]): Promise<RgbImage> {
  const [x, y, w, h] = crop;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x, top: y, width: w, height: h })
    .resize(size[0], size[1], { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
