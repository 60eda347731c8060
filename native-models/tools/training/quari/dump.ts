// Training data for the QuARI hypernetwork, embedded by the product's own encoder so training sees what search sees.
// Renders synthetic scenes exactly like the benchmark generator (benchmark/generate.ts: a train-split object pasted
// at 3–15 % of the area into a train-split scene photo with position/scale/rotation/lighting/blur/JPEG jitter, plus
// distractor objects), then runs electron/engine/models/ImageEncoder.ts on each JPEG:
//   gallery  = every stored vector of every scene (row 0 whole image, then the region windows), as ingest stores them;
//   queries  = ImageEncoder.encodeCrop of (a) --crops jittered boxes around the pasted object in EVERY scene holding it
//              (object queries; targets = the other scenes' windows over the object) and (b) random crops of 3–15 %
//              of the area anywhere in a scene (self-supervised queries; targets = that scene's windows covering it).
// Output (DIR): gallery.f32 [rows × dim], queries.f32 [queries × dim] (float32 LE) and meta.json (pack identity,
// options, per image: file/scene/target object + box/distractors; per gallery row: owner image + box; per query:
// image, object id or -1, crop box). Boxes are [x, y, w, h] normalised to the image. No image is written.
// Usage: npx tsx native-models/tools/training/quari/dump.ts --out DIR [--pack PACK_DIR] [--objects 500] [--seed 7]
//        [--extra 0.25] [--crops 1] [--selfsup 1] [--catalog CACHE/catalog.json] [--limit N] [--shard K/N]
//        [--split train|whitening] [--tiers] [--max-scene-side 1600]
// --tiers renders the generator's difficulty tiers as augmentation: two thirds of the objects get perspective, strong
// lighting, partial occlusion, downscaling or heavy JPEG in all their scenes but the first (real-photo changes).
// --split whitening draws objects and scene photos from the projection's split (never the eval split).
// --shard K/N dumps only planned images i with i % N = K (run N processes on N folders; train.py merges them).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ImageEncoder } from '../../../../electron/engine/models/ImageEncoder.ts';
import type { PackManifest, Projection, RegionScheme } from '../../../runtime/packs/manifest.ts';
import { BUILT_PACKS_DIR, DEFAULT_PACK_ID } from '../../../runtime/packs/registry.ts';
import { verifyPack } from '../../../runtime/packs/verify.ts';
import { planBenchmark, queryCrop, renderImage, type Box, type DecodedScene, type PlannedImage } from '../benchmark/generate.ts';
import { mulberry32 } from '../../../../electron/engine/search/rng.ts';
import type { Catalog } from '../data/catalog.ts';
import { CATALOG_FILE, cacheDir } from '../data/sources.ts';

export interface DumpImage {
  file: string;
  scene: string;
  /** Index into meta.objects, or -1 for a scene without a target. */
  target: number;
  targetBox: Box | null;
  distractors: Box[];
}

export interface DumpQuery {
  image: number;
  /** Object index (object query) or -1 (self-supervised crop). */
  object: number;
  box: Box;
}

export interface DumpMeta {
  /** vectorsId: what determines the vectors (see vectorsId()); dumps of equal vectorsId can be trained on together. */
  pack: { id: string; version: string; embeddingDim: number; manifestSha256: string; vectorsId: string };
  options: Record<string, unknown>;
  dim: number;
  objects: string[];
  images: DumpImage[];
  /** Per gallery row: owner image index. */
  owner: number[];
  /** Per gallery row: box [x, y, w, h] normalised; row 0 of each image is the whole image. */
  boxes: number[];
  queries: DumpQuery[];
}

/**
 * Identity of the vectors a pack produces: encoder and projection files, preprocessing, pooling, regions and
 * projection shapes — not the version string, prose, measurements or a QuARI checkpoint shipped beside them.
 */
export function vectorsId(m: PackManifest): string {
  const { rationale: _r, ...regions } = m.regions ?? ({} as Partial<RegionScheme>);
  const { provenance: _p, ...projection } = m.projection ?? ({} as Partial<Projection>);
  const files = [m.image.model, m.projection?.meanFile, m.projection?.matrixFile].filter((f): f is string => !!f).map((f) => m.files[f]?.sha256);
  return createHash('sha256').update(JSON.stringify({ image: m.image, regions, projection, dim: m.embeddingDim, files })).digest('hex').slice(0, 16);
}

const norm = (b: Box, W: number, H: number): Box => [b[0] / W, b[1] / H, b[2] / W, b[3] / H];

/** A random crop of 3–15 % of the image area, aspect 0.6–1.6, fully inside. Pixels. */
function randomCrop(r: () => number, W: number, H: number): Box {
  const area = (0.03 + 0.12 * r()) * W * H;
  const aspect = Math.exp(Math.log(0.6) + (Math.log(1.6) - Math.log(0.6)) * r());
  const w = Math.min(W, Math.round(Math.sqrt(area * aspect)));
  const h = Math.min(H, Math.round(Math.sqrt(area / aspect)));
  return [Math.floor(r() * (W - w + 1)), Math.floor(r() * (H - h + 1)), w, h];
}

function writeF32(path: string, chunks: Float32Array[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
  renameSync(tmp, path);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      pack: { type: 'string', default: join(BUILT_PACKS_DIR, DEFAULT_PACK_ID) },
      objects: { type: 'string', default: '500' },
      seed: { type: 'string', default: '7' },
      extra: { type: 'string', default: '0.25' },
      crops: { type: 'string', default: '1' },
      selfsup: { type: 'string', default: '1' },
      catalog: { type: 'string', default: join(cacheDir(), CATALOG_FILE) },
      limit: { type: 'string' },
      shard: { type: 'string', default: '0/1' },
      split: { type: 'string', default: 'train' },
      tiers: { type: 'boolean', default: false },
      'max-scene-side': { type: 'string' },
    },
  });
  if (!values.out) throw new Error('--out DIR is required');
  // The eval split is npm run eval's: training on it would leak into the figures it reports.
  if (values.split !== 'train' && values.split !== 'whitening') throw new Error(`--split: '${values.split}' is not train or whitening`);
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: '${v}' is not a non-negative number`);
    return n;
  };
  const out = resolve(values.out);
  const seed = num('seed', values.seed!);
  const selfsup = num('selfsup', values.selfsup!);
  const nCrops = num('crops', values.crops!);
  const catalog = JSON.parse(readFileSync(values.catalog!, 'utf8')) as Catalog;
  const root = join(values.catalog!, '..');
  const plan = planBenchmark(catalog, {
    split: values.split,
    seed,
    objects: num('objects', values.objects!),
    extraFraction: num('extra', values.extra!),
    tiers: values.tiers,
    ...(values['max-scene-side'] ? { maxSceneSide: num('max-scene-side', values['max-scene-side']) } : {}),
  });
  const [shardK, shardN] = values.shard!.split('/').map(Number);
  if (!(Number.isInteger(shardK) && Number.isInteger(shardN) && shardK >= 0 && shardK < shardN)) throw new Error(`--shard: '${values.shard}' is not K/N with 0 ≤ K < N`);
  const all = values.limit ? plan.images.slice(0, num('limit', values.limit)) : plan.images;
  // Keep each image's index in the plan: crop seeds depend on it, so a sharded dump equals an unsharded one.
  const planned: { img: PlannedImage; at: number }[] = all.map((img, at) => ({ img, at })).filter((p) => p.at % shardN === shardK);
  const opts = plan.options;
  const W = opts.width;
  const H = opts.height;

  const pack = await verifyPack(resolve(values.pack!));
  const m = pack.manifest;
  if (!m.regions) throw new Error(`pack ${m.id} at ${pack.dir} has no region scheme: training pairs need region vectors`);
  const encoder = await ImageEncoder.open(pack, { intraOpThreads: 1 });
  sharp.concurrency(1);
  const objects = new Map(catalog.objects.map((o) => [o.path, o]));
  const scenes = new Map(catalog.scenes.map((s) => [s.path, s]));
  const objectIds = new Map<string, number>();
  const objectId = (path: string): number => {
    if (!objectIds.has(path)) objectIds.set(path, objectIds.size);
    return objectIds.get(path)!;
  };

  const gallery: Float32Array[] = [];
  const queryVecs: Float32Array[] = [];
  const meta: DumpMeta = {
    pack: { id: m.id, version: m.version, embeddingDim: m.embeddingDim, manifestSha256: createHash('sha256').update(readFileSync(join(pack.dir, 'manifest.json'))).digest('hex'), vectorsId: vectorsId(m) },
    options: { ...opts, crops: nCrops, selfsup, shard: values.shard, source: 'native-models/tools/training/quari/dump.ts' },
    dim: m.embeddingDim,
    objects: [],
    images: [],
    owner: [],
    boxes: [],
    queries: [],
  };
  const t0 = Date.now();
  // Render image i+1 while image i is encoded (sharp runs in libuv's pool, the encoder in ORT's thread).
  const sceneCache = new Map<string, Promise<DecodedScene>>(); // used with --max-scene-side only
  let next = renderImage(root, objects, scenes, planned[0].img, opts, sceneCache);
  for (let i = 0; i < planned.length; i++) {
    const { jpeg, rendered } = await next;
    if (i + 1 < planned.length) next = renderImage(root, objects, scenes, planned[i + 1].img, opts, sceneCache);
    const at = planned[i].at;
    const emb = await encoder.encodeImage(jpeg);
    gallery.push(emb.vectors);
    for (let k = 0; k < emb.nVectors; k++) {
      meta.owner.push(i);
      meta.boxes.push(...emb.boxes.subarray(k * 4, k * 4 + 4));
    }
    const target = rendered.target ? objectId(rendered.target.object) : -1;
    meta.images.push({
      file: rendered.file,
      scene: planned[i].img.scene,
      target,
      targetBox: rendered.target ? norm(rendered.target.box, W, H) : null,
      distractors: rendered.distractors.map((d) => norm(d.box, W, H)),
    });
    const crops: { object: number; box: Box }[] = [];
    // Several analyst crops of one occurrence (independent ≤ 5 % edge jitter): cheap extra queries, one gallery pass.
    for (let k = 0; rendered.target && k < nCrops; k++) {
      crops.push({ object: target, box: queryCrop(rendered.target.box, seed * 1_000_003 + at + k * 100_000_007, W, H) });
    }
    const r = mulberry32(seed * 7_919 + at);
    for (let k = 0; k < selfsup; k++) crops.push({ object: -1, box: randomCrop(r, W, H) });
    for (const c of crops) {
      queryVecs.push(await encoder.encodeCrop(jpeg, { x: c.box[0], y: c.box[1], w: c.box[2], h: c.box[3] }));
      meta.queries.push({ image: i, object: c.object, box: norm(c.box, W, H) });
    }
    if (i % 100 === 0 || i === planned.length - 1) {
      const s = (Date.now() - t0) / 1000;
      console.log(`${i + 1}/${planned.length} images, ${meta.owner.length} gallery rows, ${meta.queries.length} queries, ${s.toFixed(0)} s`);
    }
  }
  await encoder.close();
  meta.objects = [...objectIds.keys()];
  mkdirSync(out, { recursive: true });
  writeF32(join(out, 'gallery.f32'), gallery);
  writeF32(join(out, 'queries.f32'), queryVecs);
  const tmp = join(out, `meta.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(meta));
  renameSync(tmp, join(out, 'meta.json'));
  console.log(`wrote ${out}: ${meta.images.length} images, ${meta.owner.length} gallery rows of dim ${meta.dim}, ${meta.queries.length} queries (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
