// The model-pack manifest: what a pack folder must declare so the engine can verify and run it without guessing.
// A pack is a folder holding `manifest.json` plus every file it lists (with SHA-256), nothing downloaded.
import { createHash } from 'node:crypto';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_SCHEMA = 1;

export interface PackFileEntry {
  sha256: string;
  bytes: number;
}

/** How pixels become the encoder's input tensor. */
export interface Preprocessing {
  /** Input size [width, height] for the whole-image pass. */
  inputSize: [number, number];
  /** `squash`: resize to exactly inputSize, ignoring aspect; `center-crop`: shorter side to size, then crop. */
  resize: 'squash' | 'center-crop';
  /** Pixel value fed = (byte * scale - mean[c]) / std[c]. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  channelOrder: 'RGB' | 'BGR';
  layout: 'NHWC' | 'NCHW';
}

/** A second, larger forward pass whose feature map is pooled over sliding windows: one vector per window. */
export interface RegionScheme {
  kind: 'feature-map-windows';
  /** Input size [width, height] of the region pass (aspect is squashed to it, like the whole-image pass). */
  inputSize: [number, number];
  /** Window side in feature-map cells, and stride in cells. */
  windowCells: number;
  strideCells: number;
  /** Why this scheme, with the measurements that chose it. */
  rationale: string;
}

/** A learned linear map applied to every vector (whole and region) before it is stored: y = normalize((x - mean) · matrix). */
export interface Projection {
  /** float32 LE files: mean [inputDim], matrix [inputDim × outputDim] row-major. */
  meanFile: string;
  matrixFile: string;
  inputDim: number;
  outputDim: number;
  /** How it was learned (data, count, method) and what it bought. */
  provenance: string;
}

export interface ImageEncoderSpec {
  /** ONNX file with a float32 image input of dynamic height and width. */
  model: string;
  inputName: string;
  /** Last convolutional feature map, NCHW. */
  featureMapOutput: string;
  /** Softmax over contentLabels, meaningful for the whole-image pass only. */
  contentScoresOutput?: string;
  featureChannels: number;
  /** Generalised-mean pooling exponent for every pooled vector. */
  gemP: number;
  preprocessing: Preprocessing;
}

export interface PackManifest {
  schema: typeof MANIFEST_SCHEMA;
  id: string;
  version: string;
  name: string;
  licence: string;
  /** Dimension of every stored vector (after projection). */
  embeddingDim: number;
  /** What the embedding is and why it suits instance retrieval. */
  descriptor: string;
  image: ImageEncoderSpec;
  regions?: RegionScheme;
  projection?: Projection;
  /** Labels of the content-score output, in output order, and which of them count as explicit. */
  content?: { labels: string[]; explicitLabels: string[] };
  /** Folder (relative to the pack) in the released QuARI layout: config.yml + weights.pt. */
  quariCheckpoint?: string;
  /** Every file of the pack except manifest.json, path relative to the pack folder. */
  files: Record<string, PackFileEntry>;
  /** Free-form measurements recorded when the pack was built (speed, quality). */
  measurements?: Record<string, unknown>;
}

/**
 * SHA-256 (hex) of everything that decides a pack's stored vectors: dimension, encoder file and spec, region scheme,
 * projection files. Not the prose (rationale, provenance), measurements, name, version or QuARI checkpoint, which
 * only rescores. A catalog pins it per pack id (CatalogStore.registerPack), so two encoders never share an index.
 */
export function encoderFingerprint(m: PackManifest): string {
  const file = (path: string | undefined): PackFileEntry | null => (path === undefined ? null : m.files[path] ?? null);
  const { rationale: _rationale, ...regions } = m.regions ?? ({} as Partial<RegionScheme>);
  const { provenance: _provenance, ...projection } = m.projection ?? ({} as Partial<Projection>);
  const identity = {
    embeddingDim: m.embeddingDim,
    image: { ...m.image, modelFile: file(m.image.model) },
    regions: m.regions ? regions : null,
    projection: m.projection ? { ...projection, meanBytes: file(m.projection.meanFile), matrixBytes: file(m.projection.matrixFile) } : null,
  };
  return createHash('sha256').update(canonicalJson(identity)).digest('hex');
}

/** JSON with object keys sorted, so the fingerprint does not depend on the order a manifest was written in. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
