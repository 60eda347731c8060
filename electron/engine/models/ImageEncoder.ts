// The image encoder runtime: runs a verified pack's ONNX model the way its manifest says and turns feature maps
// into stored vectors — one whole-image vector, one per region window, projected and L2-normalised — plus the
// content classifier's scores.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { PackManifest } from '../../../native-models/runtime/packs/manifest.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import { DEFAULT_MAX_PIXELS, readFileBytes, readImageHeader, type Box, type RgbImage } from '../images/decode.ts';
import { ImageProcessor, type EncoderInputs } from '../images/processor.ts';
import { gemPowered, gemWindow, gemWindows, l2NormalizeRows, slidingWindows } from './pooling.ts';
import { Projection } from './projection.ts';

/** One image's vectors: row 0 is the whole image, rows 1.. the region windows. */
export interface ImageEmbedding {
  dim: number;
  nVectors: number;
  /** nVectors × dim, each row L2-normalised. */
  vectors: Float32Array;
  /** nVectors × (x, y, w, h) normalised to [0, 1] of the image; row 0 is (0, 0, 1, 1). */
  boxes: Float32Array;
  /** In the order of manifest.content.labels; null when the pack has no content classifier. */
  contentScores: number[] | null;
  /** Sum of the explicit labels' probabilities, clamped to [0, 1]. */
  explicitScore: number | null;
}

/** What ingest needs from an encoder, whether it runs in this thread or in worker threads. */
export interface PixelEncoder {
  readonly manifest: PackManifest;
  encodeInputs(batch: readonly EncoderInputs[]): Promise<ImageEmbedding[]>;
  close(): Promise<void>;
}

export interface EncoderOptions {
  /** ONNX Runtime intra-op threads for this session (default 1). */
  intraOpThreads?: number;
}

export class ImageEncoder implements PixelEncoder {
  private readonly windowsBySize = new Map<string, ReturnType<typeof slidingWindows>>();
  private readonly inputBuffers = new Map<string, Float32Array>();
  private running: Promise<void> = Promise.resolve();
  private readonly explicitIdx: number[];
  readonly processor: ImageProcessor;

  private constructor(
    readonly manifest: PackManifest,
    private readonly session: ort.InferenceSession,
    private readonly projection: Projection | null,
  ) {
    this.processor = ImageProcessor.forPack(manifest);
    const content = manifest.content;
    this.explicitIdx = content ? content.explicitLabels.map((l) => content.labels.indexOf(l)) : [];
    if (this.explicitIdx.includes(-1)) {
      throw new Error(`pack ${manifest.id}: content.explicitLabels names a label missing from content.labels`);
    }
  }

  static async open(pack: VerifiedPack, options: EncoderOptions = {}): Promise<ImageEncoder> {
    const { manifest, dir } = pack;
    const session = await ort.InferenceSession.create(join(dir, manifest.image.model), {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const spec = manifest.image;
    for (const name of [spec.featureMapOutput, spec.contentScoresOutput].filter((n): n is string => !!n)) {
      if (!session.outputNames.includes(name)) {
        throw new Error(`pack ${manifest.id}: model ${spec.model} has no output "${name}" (has ${session.outputNames.join(', ')})`);
      }
    }
    if (!session.inputNames.includes(spec.inputName)) {
      throw new Error(`pack ${manifest.id}: model ${spec.model} has no input "${spec.inputName}"`);
    }
    const projection = await Projection.open(manifest, dir, options.intraOpThreads ?? 1);
    return new ImageEncoder(manifest, session, projection);
  }

  get dim(): number {
    return this.manifest.embeddingDim;
  }

  /** Encodes a batch; whole-image passes run as one batch, region passes as another (inputs of one size). */
  async encodeInputs(batch: readonly EncoderInputs[]): Promise<ImageEmbedding[]> {
    if (batch.length === 0) return [];
    const wholeOut = await this.run(batch.map((b) => b.whole), true);
    const regionImages = batch.map((b) => b.region).filter((r): r is RgbImage => r !== null);
    if (this.manifest.regions && regionImages.length !== batch.length) {
      throw new Error(`pack ${this.manifest.id} has a region scheme, but an input lacks its region image`);
    }
    const regionOut = this.manifest.regions ? await this.run(regionImages, false) : null;
    const pooled = batch.map((_, i) => {
      const rows: Float32Array[] = [];
      const boxes: number[] = [0, 0, 1, 1];
      rows.push(this.poolWhole(wholeOut.features, wholeOut.dims, i));
      if (regionOut) {
        const regions = this.poolRegions(regionOut.features, regionOut.dims, i);
        rows.push(regions.vectors);
        boxes.push(...regions.boxes);
      }
      return { raw: concat(rows), boxes };
    });
    // One projection call for the whole batch's vectors.
    const all = await this.finish(concat(pooled.map((p) => p.raw)));
    let offset = 0;
    return pooled.map(({ boxes }, i) => {
      const nVectors = boxes.length / 4;
      const vectors = all.slice(offset * this.dim, (offset + nVectors) * this.dim);
      offset += nVectors;
      let contentScores: number[] | null = null;
      let explicitScore: number | null = null;
      if (wholeOut.scores && this.manifest.content) {
        const k = this.manifest.content.labels.length;
        contentScores = Array.from(wholeOut.scores.subarray(i * k, (i + 1) * k));
        explicitScore = Math.min(1, Math.max(0, this.explicitIdx.reduce((s, j) => s + contentScores![j], 0)));
      }
      return { dim: this.dim, nVectors, vectors, boxes: Float32Array.from(boxes), contentScores, explicitScore };
    });
  }

  /** Decodes a file or buffer and encodes it (whole image + regions). For ingest use the pipelined path instead. */
  async encodeImage(source: string | Buffer, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageEmbedding> {
    const bytes = typeof source === 'string' ? (await readFileBytes(source)).bytes : source;
    const what = typeof source === 'string' ? source : 'image buffer';
    await readImageHeader(bytes, what, maxPixels);
    const image = await this.processor.decode(bytes, what, maxPixels);
    const [embedding] = await this.encodeInputs([await this.processor.inputs(image)]);
    return embedding;
  }

  /**
   * A query vector for a crop: `box` in pixels of the image with EXIF orientation applied. The crop alone is
   * encoded (ImageProcessor.crop), GeM-pooled over its whole feature map.
   */
  async encodeCrop(source: string | Buffer, box: Box, maxPixels = DEFAULT_MAX_PIXELS): Promise<Float32Array> {
    const bytes = typeof source === 'string' ? (await readFileBytes(source)).bytes : source;
    const what = typeof source === 'string' ? source : 'query image';
    const crop = await this.processor.crop(bytes, what, box, { maxPixels });
    const out = await this.run([crop], false);
    return this.finish(this.poolWhole(out.features, out.dims, 0));
  }

  async close(): Promise<void> {
    await this.session.release();
    await this.projection?.close();
  }

  /**
   * One forward pass. Passes run one at a time (the session computes synchronously anyway), which lets each input
   * size keep one input buffer across calls.
   */
  private async run(images: RgbImage[], withScores: boolean) {
    const previous = this.running;
    let release!: () => void;
    this.running = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await this.runNow(images, withScores);
    } finally {
      release();
    }
  }

  private async runNow(images: RgbImage[], withScores: boolean) {
    const spec = this.manifest.image;
    const key = `${images.length}x${images[0].width}x${images[0].height}`;
    const { data, dims } = this.processor.tensor(images, this.inputBuffers.get(key));
    // A handful of sizes recur (whole pass, region pass, query crops); anything else must not accumulate.
    if (!this.inputBuffers.has(key) && this.inputBuffers.size >= 4) this.inputBuffers.clear();
    this.inputBuffers.set(key, data);
    const fetches = [spec.featureMapOutput];
    if (withScores && spec.contentScoresOutput) fetches.push(spec.contentScoresOutput);
    const result = await this.session.run({ [spec.inputName]: new ort.Tensor('float32', data, dims) }, fetches);
    const fm = result[spec.featureMapOutput];
    if (fm.dims.length !== 4 || fm.dims[1] !== spec.featureChannels) {
      throw new Error(`pack ${this.manifest.id}: feature map has shape [${fm.dims.join(', ')}], expected [N, ${spec.featureChannels}, H, W]`);
    }
    const scores = withScores && spec.contentScoresOutput ? (result[spec.contentScoresOutput].data as Float32Array) : null;
    return { features: fm.data as Float32Array, dims: fm.dims as readonly number[], scores };
  }

  private imageMap(features: Float32Array, dims: readonly number[], i: number): Float32Array {
    const size = dims[1] * dims[2] * dims[3];
    return features.subarray(i * size, (i + 1) * size);
  }

  private poolWhole(features: Float32Array, dims: readonly number[], i: number): Float32Array {
    const [, c, h, w] = dims;
    const p = this.manifest.image.gemP;
    const out = new Float32Array(c);
    gemWindow(gemPowered(this.imageMap(features, dims, i), p), c, h, w, p, { x: 0, y: 0, w, h }, out, 0);
    return out;
  }

  private poolRegions(features: Float32Array, dims: readonly number[], i: number): { vectors: Float32Array; boxes: number[] } {
    const [, c, h, w] = dims;
    const r = this.manifest.regions!;
    const key = `${w}x${h}`;
    let windows = this.windowsBySize.get(key);
    if (!windows) {
      windows = slidingWindows(w, h, r.windowCells, r.strideCells);
      this.windowsBySize.set(key, windows);
    }
    const p = this.manifest.image.gemP;
    const powered = gemPowered(this.imageMap(features, dims, i), p);
    const vectors = new Float32Array(windows.length * c);
    gemWindows(powered, c, h, w, p, windows, vectors);
    const boxes = windows.flatMap((win) => win.box);
    return { vectors, boxes };
  }

  /** Projection (if any), then L2 normalisation of each row. */
  private async finish(raw: Float32Array): Promise<Float32Array> {
    if (!this.projection) return l2NormalizeRows(raw, this.manifest.image.featureChannels);
    return l2NormalizeRows(await this.projection.apply(raw), this.projection.outputDim);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
