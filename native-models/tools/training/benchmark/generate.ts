// Synthetic small-object retrieval benchmark: real scene photos with real clip-art objects pasted in, each target
// object in several scenes under different position, scale, rotation, lighting, blur and JPEG quality.
// A query is a crop around the object in one scene; the relevant images are the other scenes holding it.
// With `tiers`, a third of the targets keep that jitter ('easy'), a third get one hard change in each relevant scene
// ('medium') and a third two or three ('hard'): a perspective warp, a strong lighting/colour change, partial
// occlusion, downscaling or heavy JPEG — what separates "the same lamp in another photo" from a pasted copy.
// The query image itself is never hardened (the analyst crops the object where it is clearest).
// Everything is drawn from a seeded RNG, so a (catalog, split, seed, options) tuple always yields the same bytes.
// Output: <out>/images/*.jpg, <out>/queries.json (the `quari eval` input) and <out>/boxes.json (every pasted box,
// for training crop → region pairs).
// Usage: npx tsx native-models/tools/training/benchmark/generate.ts --out DIR [--split eval] [--seed 1] [--objects 150]
//        [--extra 0.5] [--tiers] [--catalog CACHE/catalog.json]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import type { Catalog, ObjectEntry, SceneEntry } from '../data/catalog.ts';
import { CATALOG_FILE, cacheDir } from '../data/sources.ts';
import type { Split } from '../data/split.ts';
import { mulberry32 } from '../../../../electron/engine/search/rng.ts';

export type Box = [number, number, number, number];

export interface BenchmarkOptions {
  split: Split;
  seed: number;
  /** Number of target objects (= number of queries). */
  objects: number;
  /** Each target object appears in this many scenes (inclusive range). */
  scenesPerObject: [number, number];
  /** Images holding no target, as a fraction of the target images (pure distractor catalogue). */
  extraFraction: number;
  width: number;
  height: number;
  /** Area of the pasted object's box as a fraction of the image area. */
  areaRange: [number, number];
  /** Distractor objects per image (inclusive range); each distractor object is used once. */
  distractorsPerImage: [number, number];
  distractorAreaRange: [number, number];
  maxRotationDeg: number;
  jpegQuality: [number, number];
  /** Difficulty tiers (see the header); off for the held-out benchmark and the training dumps' default. */
  tiers: boolean;
  /**
   * When set, each scene photo is decoded once, shrunk to this longest side and kept in memory for every image
   * drawn on it (4K wallpapers cost ~1 s per decode). Unset: the original photo per image (held-out benchmark bytes).
   */
  maxSceneSide?: number;
}

export const TIERS = ['easy', 'medium', 'hard'] as const;
export type Tier = (typeof TIERS)[number];
export const HARD_KINDS = ['perspective', 'lighting', 'occlusion', 'downscale', 'jpeg'] as const;
export type HardKind = (typeof HARD_KINDS)[number];

/** The hard changes of one relevant image; only the parameters of the listed kinds are applied. */
export interface Hardening {
  kinds: HardKind[];
  /** Plane tilted about a vertical (or horizontal) axis: the far side is shortened by this fraction of its length. */
  tilt: number;
  tiltAxis: 'vertical' | 'horizontal';
  tiltFarSide: 0 | 1;
  /** Strong light: gain of the whole image per channel (colour cast) and of the object's brightness/saturation/hue. */
  gain: [number, number, number];
  lightBrightness: number;
  lightSaturation: number;
  lightHue: number;
  /** A patch of the scene in front of the object, covering this fraction of the box from one side. */
  occlusion: number;
  occlusionSide: 0 | 1 | 2 | 3;
  /** The whole image resampled to this fraction of its size and back. */
  downscale: number;
  /** Heavy JPEG quality (replaces the image's quality). */
  heavyQuality: number;
}

export const DEFAULT_OPTIONS: BenchmarkOptions = {
  split: 'eval',
  seed: 1,
  objects: 150,
  scenesPerObject: [3, 4],
  extraFraction: 0.5,
  width: 1024,
  height: 768,
  areaRange: [0.03, 0.15],
  distractorsPerImage: [0, 2],
  distractorAreaRange: [0.01, 0.06],
  maxRotationDeg: 15,
  jpegQuality: [55, 95],
  tiers: false,
};

/** Photometric and geometric jitter of one pasted object. */
export interface Paste {
  object: string;
  /** Fraction of the image area for the pasted box. */
  area: number;
  rotation: number;
  brightness: number;
  saturation: number;
  hue: number;
  flip: boolean;
  /** Position of the box within the free range, in [0, 1]. */
  u: number;
  v: number;
}

export interface PlannedImage {
  file: string;
  scene: string;
  /** 4:3 background crop: size as a fraction of the largest 4:3 region, offsets in [0, 1] of the slack. */
  cropScale: number;
  cropU: number;
  cropV: number;
  flipScene: boolean;
  sceneBrightness: number;
  blurSigma: number;
  quality: number;
  target?: Paste;
  /** Hard changes of this image (tiered benchmarks: relevant images of medium/hard targets). */
  hard?: Hardening;
  distractors: Paste[];
}

export interface Plan {
  options: BenchmarkOptions;
  images: PlannedImage[];
  /** Per target object: the files holding it, the first being the query image. */
  targets: { object: string; files: string[]; tier?: Tier }[];
}

export interface QueryRecord {
  image: string;
  crop: Box | null;
  relevant: string[];
  /** Tiered benchmarks only (quari eval ignores the field). */
  tier?: Tier;
}

export interface RenderedImage {
  file: string;
  target?: { object: string; box: Box };
  distractors: { object: string; box: Box }[];
}

const uniform = (r: () => number, lo: number, hi: number): number => lo + (hi - lo) * r();
const intIn = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function shuffle<T>(r: () => number, items: T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function paste(r: () => number, object: string, area: [number, number], opts: BenchmarkOptions): Paste {
  return {
    object,
    // Keep clear of the range ends so pixel rounding of the rendered box cannot leave the range.
    area: uniform(r, area[0] * 1.03, area[1] * 0.97),
    rotation: uniform(r, -opts.maxRotationDeg, opts.maxRotationDeg),
    brightness: uniform(r, 0.7, 1.3),
    saturation: uniform(r, 0.75, 1.25),
    hue: uniform(r, -12, 12),
    flip: r() < 0.5,
    u: r(),
    v: r(),
  };
}

function hardening(r: () => number, tier: Tier): Hardening {
  const n = tier === 'medium' ? 1 : intIn(r, 2, 3);
  const kinds = shuffle(r, [...HARD_KINDS]).slice(0, n).sort((a, b) => HARD_KINDS.indexOf(a) - HARD_KINDS.indexOf(b));
  const dark = r() < 0.5;
  return {
    kinds,
    tilt: uniform(r, 0.2, 0.45),
    tiltAxis: r() < 0.5 ? 'vertical' : 'horizontal',
    tiltFarSide: r() < 0.5 ? 0 : 1,
    gain: [uniform(r, 0.6, 1.4), uniform(r, 0.6, 1.4), uniform(r, 0.6, 1.4)],
    lightBrightness: dark ? uniform(r, 0.4, 0.6) : uniform(r, 1.5, 1.9),
    lightSaturation: r() < 0.5 ? uniform(r, 0.3, 0.6) : uniform(r, 1.5, 2),
    lightHue: (r() < 0.5 ? -1 : 1) * uniform(r, 20, 45),
    occlusion: uniform(r, 0.25, 0.45),
    occlusionSide: intIn(r, 0, 3) as 0 | 1 | 2 | 3,
    downscale: uniform(r, 0.25, 0.45),
    heavyQuality: intIn(r, 6, 15),
  };
}

/** Pure planning step: which objects go in which scenes with which jitter. No image is touched. */
export function planBenchmark(catalog: Pick<Catalog, 'scenes' | 'objects'>, options: Partial<BenchmarkOptions> = {}): Plan {
  const opts: BenchmarkOptions = { ...DEFAULT_OPTIONS, ...options };
  const r = mulberry32(opts.seed);
  const scenes = catalog.scenes.filter((s) => s.split === opts.split).map((s) => s.path).sort();
  const objects = shuffle(r, catalog.objects.filter((o) => o.split === opts.split).map((o) => o.path).sort());
  if (scenes.length < opts.scenesPerObject[1]) throw new Error(`split '${opts.split}': ${scenes.length} scenes, need at least ${opts.scenesPerObject[1]}`);
  if (objects.length < opts.objects) throw new Error(`split '${opts.split}': ${objects.length} objects, --objects asks for ${opts.objects}`);
  const targets = objects.slice(0, opts.objects);
  const distractorPool = objects.slice(opts.objects);

  const drafts: Omit<PlannedImage, 'file'>[] = [];
  const targetDrafts: number[][] = [];
  const background = (): Omit<PlannedImage, 'file' | 'scene' | 'target' | 'distractors'> => ({
    cropScale: uniform(r, 0.6, 1),
    cropU: r(),
    cropV: r(),
    flipScene: r() < 0.5,
    sceneBrightness: uniform(r, 0.85, 1.15),
    blurSigma: r() < 0.5 ? 0 : uniform(r, 0.3, 1.2),
    quality: intIn(r, opts.jpegQuality[0], opts.jpegQuality[1]),
  });
  let nextDistractor = 0;
  const distractors = (): Paste[] => {
    const n = intIn(r, opts.distractorsPerImage[0], opts.distractorsPerImage[1]);
    const out: Paste[] = [];
    for (let i = 0; i < n && nextDistractor < distractorPool.length; i++) {
      out.push(paste(r, distractorPool[nextDistractor++], opts.distractorAreaRange, opts));
    }
    return out;
  };
  // Targets are already in shuffled order, so tiers by position are a random, exactly balanced assignment.
  const tierOf = (t: number): Tier | undefined => (opts.tiers ? TIERS[t % TIERS.length] : undefined);
  for (const [t, object] of targets.entries()) {
    const k = intIn(r, opts.scenesPerObject[0], opts.scenesPerObject[1]);
    // Distinct backgrounds for one object: otherwise a query could match on the background instead of the object.
    const picked = shuffle(r, scenes).slice(0, k);
    const idx: number[] = [];
    const tier = tierOf(t);
    for (const [j, scene] of picked.entries()) {
      idx.push(drafts.length);
      const draft: Omit<PlannedImage, 'file'> = { scene, ...background(), target: paste(r, object, opts.areaRange, opts), distractors: distractors() };
      if (tier && tier !== 'easy' && j > 0) draft.hard = hardening(r, tier);
      drafts.push(draft);
    }
    targetDrafts.push(idx);
  }
  const extra = Math.round(drafts.length * opts.extraFraction);
  for (let i = 0; i < extra; i++) {
    drafts.push({ scene: scenes[Math.floor(r() * scenes.length)], ...background(), distractors: distractors() });
  }
  // File names in shuffled order, so neighbouring names say nothing about shared objects.
  const order = shuffle(r, drafts.map((_, i) => i));
  const names = new Array<string>(drafts.length);
  order.forEach((d, pos) => (names[d] = `images/${String(pos).padStart(5, '0')}.jpg`));
  const images = drafts.map((d, i) => ({ file: names[i], ...d })).sort((a, b) => a.file.localeCompare(b.file));
  return {
    options: opts,
    images,
    targets: targets.map((object, t) => ({ object, files: targetDrafts[t].map((i) => names[i]), ...(tierOf(t) ? { tier: tierOf(t) } : {}) })),
  };
}

function boxesOverlap(a: Box, b: Box): boolean {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

/** Solves the 8 homography coefficients mapping each from[i] to to[i] (4 point pairs), by Gaussian elimination. */
function homography(from: [number, number][], to: [number, number][]): number[] {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i];
    const [u, v] = to[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let k = c; k < 9; k++) A[r][k] -= f * A[c][k];
    }
  }
  return A.map((row, i) => row[8] / row[i]);
}

/**
 * Perspective view of the object's plane, tilted about one axis: the far side shrinks by `tilt` of its length
 * (centred), the near side keeps it, so the box stays the object's box. sharp has affine transforms only, hence
 * this inverse-mapped bilinear warp of the RGBA buffer.
 */
function tiltObject(src: Buffer, w: number, h: number, hard: Hardening): Buffer {
  const d = hard.tilt / 2;
  const far = hard.tiltFarSide;
  // Destination corners TL, TR, BR, BL.
  const quad: [number, number][] =
    hard.tiltAxis === 'vertical'
      ? [[0, far === 0 ? d * h : 0], [w, far === 1 ? d * h : 0], [w, far === 1 ? h - d * h : h], [0, far === 0 ? h - d * h : h]]
      : [[far === 0 ? d * w : 0, 0], [far === 0 ? w - d * w : w, 0], [far === 1 ? w - d * w : w, h], [far === 1 ? d * w : 0, h]];
  const m = homography(quad, [[0, 0], [w, 0], [w, h], [0, h]]);
  const out = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + 0.5, Y = y + 0.5;
      const z = m[6] * X + m[7] * Y + 1;
      const sx = (m[0] * X + m[1] * Y + m[2]) / z - 0.5;
      const sy = (m[3] * X + m[4] * Y + m[5]) / z - 0.5;
      if (sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5) continue;
      const x0 = Math.max(0, Math.min(w - 1, Math.floor(sx))), y0 = Math.max(0, Math.min(h - 1, Math.floor(sy)));
      const x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
      const fx = Math.max(0, Math.min(1, sx - x0)), fy = Math.max(0, Math.min(1, sy - y0));
      for (let c = 0; c < 4; c++) {
        const a = src[(y0 * w + x0) * 4 + c] * (1 - fx) + src[(y0 * w + x1) * 4 + c] * fx;
        const b = src[(y1 * w + x0) * 4 + c] * (1 - fx) + src[(y1 * w + x1) * 4 + c] * fx;
        out[(y * w + x) * 4 + c] = Math.round(a * (1 - fy) + b * fy);
      }
    }
  }
  return out;
}

/** The object's opaque part, jittered and rotated, as an RGBA buffer whose size is the pasted box. */
async function renderObject(root: string, entry: ObjectEntry, p: Paste, W: number, H: number, hard?: Hardening): Promise<{ data: Buffer; w: number; h: number }> {
  const [bx, by, bw, bh] = entry.bbox;
  const t = (p.rotation * Math.PI) / 180;
  const c = Math.abs(Math.cos(t));
  const s = Math.abs(Math.sin(t));
  const scale = Math.sqrt((p.area * W * H) / ((bw * c + bh * s) * (bw * s + bh * c)));
  const w = Math.max(1, Math.round(bw * scale));
  const h = Math.max(1, Math.round(bh * scale));
  let img = sharp(join(root, entry.path))
    .ensureAlpha()
    .extract({ left: bx, top: by, width: bw, height: bh })
    .resize(w, h, { fit: 'fill' });
  if (p.flip) img = img.flop();
  const light = hard?.kinds.includes('lighting');
  const resized = await img
    .modulate({
      brightness: p.brightness * (light ? hard!.lightBrightness : 1),
      saturation: p.saturation * (light ? hard!.lightSaturation : 1),
      hue: Math.round(p.hue + (light ? hard!.lightHue : 0)),
    })
    .png()
    .toBuffer();
  const { data, info } = await sharp(resized)
    .rotate(p.rotation, { background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (hard?.kinds.includes('perspective')) return { data: tiltObject(data, info.width, info.height, hard), w: info.width, h: info.height };
  return { data, w: info.width, h: info.height };
}

export interface DecodedScene {
  data: Buffer;
  width: number;
  height: number;
}

async function decodeScene(file: string, maxSide: number): Promise<DecodedScene> {
  const { data, info } = await sharp(file)
    .rotate()
    .removeAlpha()
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Renders one planned image; returns the JPEG bytes and the boxes actually pasted. */
export async function renderImage(
  root: string,
  objects: Map<string, ObjectEntry>,
  scenes: Map<string, SceneEntry>,
  img: PlannedImage,
  opts: BenchmarkOptions,
  sceneCache?: Map<string, Promise<DecodedScene>>,
): Promise<{ jpeg: Buffer; rendered: RenderedImage }> {
  const W = opts.width;
  const H = opts.height;
  const entry = scenes.get(img.scene);
  if (!entry) throw new Error(`plan names scene ${img.scene}, which is not in the catalog`);
  let source: Sharp;
  let scene = { width: entry.width, height: entry.height };
  if (opts.maxSceneSide) {
    const cache = sceneCache ?? new Map<string, Promise<DecodedScene>>();
    if (!cache.has(entry.path)) cache.set(entry.path, decodeScene(join(root, entry.path), opts.maxSceneSide));
    const d = await cache.get(entry.path)!;
    source = sharp(d.data, { raw: { width: d.width, height: d.height, channels: 3 } });
    scene = d;
  } else {
    source = sharp(join(root, entry.path)).rotate().removeAlpha();
  }
  // Largest W:H region of the scene, scaled, then placed by (cropU, cropV).
  const fit = Math.min(scene.width / W, scene.height / H);
  const cw = Math.max(1, Math.floor(W * fit * img.cropScale));
  const ch = Math.max(1, Math.floor(H * fit * img.cropScale));
  const left = Math.floor((scene.width - cw) * img.cropU);
  const top = Math.floor((scene.height - ch) * img.cropV);
  let bg = source.extract({ left, top, width: cw, height: ch }).resize(W, H, { fit: 'fill' });
  if (img.flipScene) bg = bg.flop();
  const background = await bg.modulate({ brightness: img.sceneBrightness }).png().toBuffer();

  const layers: OverlayOptions[] = [];
  const rendered: RenderedImage = { file: img.file, distractors: [] };
  const place = async (p: Paste, avoid: Box[], hard?: Hardening): Promise<Box | undefined> => {
    const entry = objects.get(p.object);
    if (!entry) throw new Error(`plan names object ${p.object}, which is not in the catalog`);
    const o = await renderObject(root, entry, p, W, H, hard);
    if (o.w > W || o.h > H) throw new Error(`object ${p.object} rendered at ${o.w}×${o.h}, larger than the ${W}×${H} image`);
    // Distractors must not cover the target: try positions derived from (u, v) until one is free.
    for (let k = 0; k < 16; k++) {
      const u = (p.u + k * 0.618034) % 1;
      const v = (p.v + k * 0.381966) % 1;
      const box: Box = [Math.round(u * (W - o.w)), Math.round(v * (H - o.h)), o.w, o.h];
      if (avoid.some((a) => boxesOverlap(a, box))) continue;
      layers.push({ input: o.data, raw: { width: o.w, height: o.h, channels: 4 }, left: box[0], top: box[1] });
      return box;
    }
    return undefined;
  };
  const taken: Box[] = [];
  if (img.target) {
    const box = await place(img.target, [], img.hard);
    if (!box) throw new Error(`${img.file}: no position for the target`);
    rendered.target = { object: img.target.object, box };
    taken.push(box);
    if (img.hard?.kinds.includes('occlusion')) layers.push(await occluder(background, W, H, box, img.hard));
  }
  for (const d of img.distractors) {
    const box = await place(d, taken);
    if (!box) continue;
    rendered.distractors.push({ object: d.object, box });
    taken.push(box);
  }
  let out = sharp(background).composite(layers);
  if (img.blurSigma > 0) out = sharp(await out.png().toBuffer()).blur(img.blurSigma);
  // sharp runs one pipeline's operations in its own fixed order, so each hard change starts a new pipeline.
  const hard = img.hard?.kinds ?? [];
  if (hard.includes('lighting')) out = sharp(await out.png().toBuffer()).linear(img.hard!.gain, [0, 0, 0]);
  if (hard.includes('downscale')) {
    const small = await sharp(await out.png().toBuffer()).resize(Math.round(W * img.hard!.downscale), Math.round(H * img.hard!.downscale), { kernel: 'cubic' }).png().toBuffer();
    out = sharp(small).resize(W, H, { kernel: 'cubic' });
  }
  const quality = hard.includes('jpeg') ? img.hard!.heavyQuality : img.quality;
  const jpeg = await out.jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  return { jpeg, rendered };
}

/**
 * Partial occlusion: a patch of the same scene (from the mirrored position, so it is background, not the object)
 * laid over `occlusion` of the target box from one side — something in front of the object.
 */
async function occluder(background: Buffer, W: number, H: number, box: Box, hard: Hardening): Promise<OverlayOptions> {
  const [x, y, w, h] = box;
  const f = hard.occlusion;
  const side = hard.occlusionSide;
  const ow = side < 2 ? Math.max(1, Math.round(w * f)) : w;
  const oh = side < 2 ? h : Math.max(1, Math.round(h * f));
  const left = side === 1 ? x + w - ow : x;
  const top = side === 3 ? y + h - oh : y;
  const srcLeft = Math.min(W - ow, Math.max(0, W - left - ow));
  const srcTop = Math.min(H - oh, Math.max(0, H - top - oh));
  const patch = await sharp(background).extract({ left: srcLeft, top: srcTop, width: ow, height: oh }).png().toBuffer();
  return { input: patch, left, top };
}

/** The analyst's crop: the pasted box with each edge moved by up to 5 % of the box side, kept inside the image. */
export function queryCrop(box: Box, seed: number, W: number, H: number): Box {
  const r = mulberry32(seed);
  const j = (side: number) => Math.round(uniform(r, -0.05, 0.05) * side);
  const x0 = Math.max(0, box[0] + j(box[2]));
  const y0 = Math.max(0, box[1] + j(box[3]));
  const x1 = Math.min(W, box[0] + box[2] + j(box[2]));
  const y1 = Math.min(H, box[1] + box[3] + j(box[3]));
  return [x0, y0, x1 - x0, y1 - y0];
}

export async function generateBenchmark(
  root: string,
  catalog: Pick<Catalog, 'scenes' | 'objects'>,
  outDir: string,
  options: Partial<BenchmarkOptions> = {},
): Promise<{ plan: Plan; rendered: RenderedImage[]; queries: QueryRecord[] }> {
  const plan = planBenchmark(catalog, options);
  const objects = new Map(catalog.objects.map((o) => [o.path, o]));
  const scenes = new Map(catalog.scenes.map((s) => [s.path, s]));
  mkdirSync(join(outDir, 'images'), { recursive: true });
  const rendered: RenderedImage[] = [];
  const sceneCache = new Map<string, Promise<DecodedScene>>();
  for (const img of plan.images) {
    const { jpeg, rendered: r } = await renderImage(root, objects, scenes, img, plan.options, sceneCache);
    writeFileSync(join(outDir, img.file), jpeg);
    rendered.push(r);
  }
  const byFile = new Map(rendered.map((r) => [r.file, r]));
  const queries: QueryRecord[] = plan.targets.map((t, i) => {
    const [q, ...rest] = t.files;
    const box = byFile.get(q)?.target?.box;
    if (!box) throw new Error(`${q}: query image lost its target`);
    const crop = queryCrop(box, plan.options.seed * 1_000_003 + i, plan.options.width, plan.options.height);
    return { image: q, crop, relevant: rest, ...(t.tier ? { tier: t.tier } : {}) };
  });
  writeFileSync(join(outDir, 'queries.json'), JSON.stringify(queries, null, 1));
  // One query file per tier, so `quari eval` reports each difficulty on its own.
  if (plan.options.tiers) {
    for (const tier of TIERS) writeFileSync(join(outDir, `queries-${tier}.json`), JSON.stringify(queries.filter((q) => q.tier === tier), null, 1));
  }
  const hardOf = new Map(plan.images.filter((i) => i.hard).map((i) => [i.file, i.hard!.kinds]));
  const images = rendered.map((r) => (hardOf.has(r.file) ? { ...r, hard: hardOf.get(r.file) } : r));
  writeFileSync(join(outDir, 'boxes.json'), JSON.stringify({ options: plan.options, images }, null, 1));
  return { plan, rendered, queries };
}

function parseArgs(argv: string[]): { out: string; catalog: string; options: Partial<BenchmarkOptions> } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`--${name} needs a value`);
    return v;
  };
  const num = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name}: '${v}' is not a number`);
    return n;
  };
  const out = get('out');
  if (!out) throw new Error('--out DIR is required');
  const split = get('split');
  if (split !== undefined && !['train', 'whitening', 'eval', 'cross'].includes(split)) throw new Error(`--split: '${split}' is not train, whitening, eval or cross`);
  const options: Partial<BenchmarkOptions> = {};
  if (split) options.split = split as Split;
  const seed = num('seed');
  if (seed !== undefined) options.seed = seed;
  const objects = num('objects');
  if (objects !== undefined) options.objects = objects;
  const extra = num('extra');
  if (extra !== undefined) options.extraFraction = extra;
  if (argv.includes('--tiers')) options.tiers = true;
  return { out, catalog: get('catalog') ?? join(cacheDir(), CATALOG_FILE), options };
}

async function main(): Promise<void> {
  const { out, catalog: catalogPath, options } = parseArgs(process.argv.slice(2));
  const catalog = JSON.parse(readFileSync(catalogPath, 'utf8')) as Catalog;
  sharp.concurrency(1);
  const t0 = Date.now();
  const { plan, queries } = await generateBenchmark(join(catalogPath, '..'), catalog, out, options);
  console.log(`${plan.images.length} images, ${queries.length} queries in ${out} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
