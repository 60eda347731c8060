// Scans the extracted packages for usable scenes and objects, filters out unusable ones, deduplicates, assigns the
// deterministic split and writes catalog.json into the cache.
// Scenes: photos/paintings at least MIN_SCENE_SIDE on the short side, not flat.
// Objects: images with an alpha channel whose opaque part is big enough, compact enough and not a flat silhouette.
// Usage: npx tsx native-models/tools/training/data/catalog.ts   (after fetch-debian.ts)
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { CATALOG_FILE, SOURCES, SOURCES_MANIFEST, assignSplit, cacheDir, extractDir, type DebianSource } from './sources.ts';
import { groupKey, type Split } from './split.ts';

export interface SceneEntry {
  /** Relative to the cache folder. */
  path: string;
  pkg: string;
  width: number;
  height: number;
  group: string;
  split: Split;
}

export interface ObjectEntry extends SceneEntry {
  /** Bounding box [x, y, w, h] of the opaque pixels in the source image. */
  bbox: [number, number, number, number];
  /** Fraction of the bounding box that is opaque. */
  fill: number;
}

export interface Catalog {
  sources: Record<string, { version: string; licences: string[]; copyrightFile: string }>;
  scenes: SceneEntry[];
  objects: ObjectEntry[];
}

const MIN_SCENE_SIDE = 360;
const MIN_OBJECT_SIDE = 64;
const MIN_OBJECT_FILL = 0.2;
const MAX_OBJECT_ASPECT = 3;
const MIN_STDEV = 14;
/** openclipart holds >1,300 near-identical stars in one folder: cap any folder so no family dominates. */
const MAX_OBJECTS_PER_FOLDER = 80;
const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp']);

function walk(dir: string, out: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const p = join(dir, n);
    const st = statSync(p, { throwIfNoEntry: false }); // packages ship dangling symlinks to system fonts
    if (!st) continue;
    if (st.isDirectory()) walk(p, out);
    else if (IMAGE_EXT.has(extname(n).toLowerCase())) out.push(p);
  }
  return out;
}

function candidates(src: DebianSource): string[] {
  const root = extractDir(src.pkg);
  const files = src.include.flatMap((inc) => walk(join(root, inc), []));
  return files.filter((f) => !(src.exclude ?? []).some((x) => relative(root, f).includes(x)));
}

/** Mean per-channel standard deviation of the RGB pixels, weighting by alpha when present. */
async function sceneCheck(file: string): Promise<{ width: number; height: number; ok: boolean; hash: string }> {
  const meta = await sharp(file).metadata();
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (Math.min(width, height) < MIN_SCENE_SIDE || Math.max(width, height) / Math.min(width, height) > 2.5) {
    return { width, height, ok: false, hash: '' };
  }
  const { data } = await sharp(file).rotate().removeAlpha().resize(32, 32, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const sd = channelStdev(data, 3);
  return { width, height, ok: sd >= MIN_STDEV, hash: coarseHash(data) };
}

async function objectCheck(file: string): Promise<{ ok: boolean; width: number; height: number; bbox: [number, number, number, number]; fill: number; hash: string }> {
  const img = sharp(file);
  const meta = await img.metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const none = { ok: false, width, height, bbox: [0, 0, 0, 0] as [number, number, number, number], fill: 0, hash: '' };
  if (!meta.hasAlpha || Math.min(width, height) < MIN_OBJECT_SIDE) return none;
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let x0 = info.width, y0 = info.height, x1 = -1, y1 = -1, opaque = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[(y * info.width + x) * 4 + 3] >= 32) {
        opaque++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return none;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const fill = opaque / (bw * bh);
  if (Math.min(bw, bh) < MIN_OBJECT_SIDE || Math.max(bw, bh) / Math.min(bw, bh) > MAX_OBJECT_ASPECT || fill < MIN_OBJECT_FILL) {
    return { ...none, bbox: [x0, y0, bw, bh], fill };
  }
  // Colour variety over opaque pixels only: flat-colour silhouettes and blank sheets carry nothing to match on.
  const rgb: number[] = [];
  const step = Math.max(1, Math.floor(Math.sqrt((bw * bh) / 4096)));
  for (let y = y0; y <= y1; y += step) {
    for (let x = x0; x <= x1; x += step) {
      const i = (y * info.width + x) * 4;
      if (data[i + 3] >= 128) rgb.push(data[i], data[i + 1], data[i + 2]);
    }
  }
  const sd = channelStdev(Uint8Array.from(rgb), 3);
  const thumb = await sharp(file).extract({ left: x0, top: y0, width: bw, height: bh }).flatten({ background: '#808080' }).resize(32, 32, { fit: 'fill' }).raw().toBuffer();
  return { ok: sd >= MIN_STDEV, width, height, bbox: [x0, y0, bw, bh], fill, hash: coarseHash(thumb) };
}

function channelStdev(data: Uint8Array, channels: number): number {
  const n = data.length / channels;
  if (n < 2) return 0;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    let s = 0, s2 = 0;
    for (let i = c; i < data.length; i += channels) {
      s += data[i];
      s2 += data[i] * data[i];
    }
    total += Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  }
  return total / channels;
}

/** Exact-duplicate detector: a 32×32 thumbnail quantised to 16 levels. */
function coarseHash(data: Uint8Array): string {
  return Buffer.from(data.map((v) => v >> 4)).toString('base64');
}

async function main(): Promise<void> {
  sharp.concurrency(1);
  const fetched = JSON.parse(readFileSync(join(cacheDir(), SOURCES_MANIFEST), 'utf8')) as Record<string, { version: string; licences: string[]; copyrightFile: string }>;
  const catalog: Catalog = { sources: {}, scenes: [], objects: [] };
  const seen = new Set<string>();
  for (const src of SOURCES) {
    const f = fetched[src.pkg];
    if (!f) throw new Error(`${src.pkg}: not in ${SOURCES_MANIFEST}; run fetch-debian.ts first`);
    catalog.sources[src.pkg] = { version: f.version, licences: f.licences, copyrightFile: join('pkgs', src.pkg, f.copyrightFile) };
    const perFolder = new Map<string, number>();
    let kept = 0, total = 0;
    for (const file of candidates(src)) {
      total++;
      const rel = relative(cacheDir(), file);
      const inPkg = relative(extractDir(src.pkg), file);
      const group = groupKey(src.pkg, inPkg);
      const split = assignSplit(src, group);
      try {
        if (src.role === 'scene') {
          const c = await sceneCheck(file);
          if (!c.ok || seen.has(c.hash)) continue;
          seen.add(c.hash);
          catalog.scenes.push({ path: rel, pkg: src.pkg, width: c.width, height: c.height, group, split });
        } else {
          const folder = join(inPkg, '..');
          if ((perFolder.get(folder) ?? 0) >= MAX_OBJECTS_PER_FOLDER) continue;
          const c = await objectCheck(file);
          if (!c.ok || seen.has(c.hash)) continue;
          seen.add(c.hash);
          perFolder.set(folder, (perFolder.get(folder) ?? 0) + 1);
          catalog.objects.push({ path: rel, pkg: src.pkg, width: c.width, height: c.height, group, split, bbox: c.bbox, fill: c.fill });
        }
        kept++;
      } catch (e) {
        console.warn(`skip ${rel}: ${(e as Error).message}`);
      }
    }
    console.log(`${src.pkg}: kept ${kept} of ${total} ${src.role} candidates`);
  }
  for (const role of ['scenes', 'objects'] as const) {
    const counts: Record<Split, number> = { train: 0, whitening: 0, eval: 0, cross: 0 };
    for (const e of catalog[role]) counts[e.split]++;
    console.log(`${role}: ${JSON.stringify(counts)}`);
  }
  const out = join(cacheDir(), CATALOG_FILE);
  writeFileSync(out, JSON.stringify(catalog, null, 1));
  console.log(`wrote ${out}`);
}

await main();
