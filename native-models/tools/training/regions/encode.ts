// Offline encoding for region-scheme measurements, built on the runtime's own image processor
// (electron/engine/images/processor.ts: decode, region and crop inputs, tensor) and pooling code, so that what is
// measured here is what electron/engine/models/ImageEncoder.ts computes at ingest and for crop queries: GeM (p from
// the pack) over the whole 224×224 map and over feature-map windows of a larger squashed pass, raw (unprojected,
// unnormalised) vectors.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../../../../electron/engine/images/decode.ts';
import { ImageProcessor, type EncoderInputs } from '../../../../electron/engine/images/processor.ts';
import { gemPowered, gemWindow, gemWindows, slidingWindows } from '../../../../electron/engine/models/pooling.ts';
import { nsfwjsPreprocessing } from '../../build-default-pack.ts';

export interface RegionConfig {
  name: string;
  inputSize: [number, number];
  windowCells: number;
  strideCells: number;
}

/** The app's processor for the converted nsfwjs encoder with a region pass at `regionSize` (null: whole image only). */
export function processorFor(regionSize: [number, number] | null): ImageProcessor {
  return new ImageProcessor({ preprocessing: nsfwjsPreprocessing([224, 224]), regions: regionSize && { inputSize: regionSize } });
}

/** An image file's encoder inputs, decoded and resized exactly as ingest does under `processor`. */
export async function loadInputs(processor: ImageProcessor, file: string): Promise<EncoderInputs> {
  return processor.inputs(await processor.decode(readFileSync(file), file));
}

export class Encoder {
  /** The tensor depends on the preprocessing only, which every region size shares. */
  private readonly processor = processorFor(null);

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly gemP: number,
  ) {}

  static async open(model: string, threads = 2, gemP = 3): Promise<Encoder> {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new Encoder(session, gemP);
  }

  /** Feature map [C, H, W] of one image at its own size. */
  async featureMap(img: RgbImage): Promise<{ map: Float32Array; c: number; h: number; w: number }> {
    const { data, dims } = this.processor.tensor([img]);
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

  /** One raw GeM vector per sliding window (edge-flush windows included), row-major: ImageEncoder's pooling call. */
  windows(fm: { map: Float32Array; c: number; h: number; w: number }, cfg: RegionConfig): { vectors: Float32Array; n: number } {
    const wins = slidingWindows(fm.w, fm.h, cfg.windowCells, cfg.strideCells);
    const powered = gemPowered(fm.map, this.gemP);
    const vectors = new Float32Array(wins.length * fm.c);
    gemWindows(powered, fm.c, fm.h, fm.w, this.gemP, wins, vectors);
    return { vectors, n: wins.length };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
