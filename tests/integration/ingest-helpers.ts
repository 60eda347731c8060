// Shared set-up for the ingest and image-encoder tests: the real default pack (built from nsfwjs if missing),
// variants of it with a region scheme and a projection, snapshots of an evidence folder, and small test images.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { PackManifest, RegionScheme } from '../../native-models/runtime/packs/manifest.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../../native-models/runtime/packs/registry.ts';
import { verifyPack, type VerifiedPack } from '../../native-models/runtime/packs/verify.ts';

/** The default pack as installed; built with the converter first when `npm install` has not built it. */
export async function defaultPack(): Promise<VerifiedPack> {
  const registry = new PackRegistry();
  try {
    return await registry.load(DEFAULT_PACK_ID);
  } catch {
    // Imported only when needed: the converter pulls in the whole tfjs conversion chain.
    const { buildNsfwjsPack } = await import('../../native-models/tools/build-default-pack.ts');
    buildNsfwjsPack('mobilenet_v2');
    return registry.load(DEFAULT_PACK_ID);
  }
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A copy of `base` in `dir` with the given region scheme and, when `projectionDim` is set, a seeded random
 * projection — to exercise those manifest paths on the real model whatever the default pack ships.
 */
export async function packVariant(
  base: VerifiedPack,
  dir: string,
  opts: { id: string; regions?: Omit<RegionScheme, 'kind' | 'rationale'>; projectionDim?: number; seed?: number },
): Promise<VerifiedPack> {
  mkdirSync(dir, { recursive: true });
  const m: PackManifest = structuredClone(base.manifest);
  m.id = opts.id;
  // A QuARI checkpoint is trained for the base pack's vectors; a variant has other vectors.
  delete m.quariCheckpoint;
  const files: PackManifest['files'] = {};
  const add = (name: string, bytes: Buffer) => {
    writeFileSync(join(dir, name), bytes);
    files[name] = { sha256: sha(bytes), bytes: bytes.length };
  };
  add(m.image.model, readFileSync(join(base.dir, m.image.model)));
  if (opts.regions) m.regions = { kind: 'feature-map-windows', ...opts.regions, rationale: 'test variant' };
  else delete m.regions;
  delete m.projection;
  m.embeddingDim = m.image.featureChannels;
  if (opts.projectionDim) {
    let s = opts.seed ?? 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    const inDim = m.image.featureChannels;
    const mean = Float32Array.from({ length: inDim }, () => rnd() * 0.1);
    const matrix = Float32Array.from({ length: inDim * opts.projectionDim }, () => rnd());
    add('proj-mean.f32', Buffer.from(mean.buffer));
    add('proj-matrix.f32', Buffer.from(matrix.buffer));
    m.projection = { meanFile: 'proj-mean.f32', matrixFile: 'proj-matrix.f32', inputDim: inDim, outputDim: opts.projectionDim, provenance: 'random (test)' };
    m.embeddingDim = opts.projectionDim;
  }
  m.files = files;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  return verifyPack(dir);
}

/** Every entry under `root` (not following symlinks): type, size, mtime, link target and content hash. */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    const names = readdirSync(dir).sort();
    out[`${dir}/`] = `dir ${lstatSync(dir).mtimeMs} [${names.join('|')}]`;
    for (const name of names) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) out[p] = `link ${readlinkSync(p)} ${st.mtimeMs}`;
      else if (st.isFile()) out[p] = `file ${st.size} ${st.mtimeMs} ${sha(readFileSync(p))}`;
      else out[p] = `special ${st.mode} ${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}


/**
 * A valid PNG of `side`×`side` 1-bit grey pixels, all zero: a few hundred KB on disk that would decode to
 * side² pixels — a decompression bomb.
 */
export function pngBomb(side: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(side / 8);
  const idat = deflateSync(Buffer.alloc(rowBytes * side), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** A 160×120 PNG of seeded noise, distinct per seed; with `block`, a coloured block placed by the seed as well. */
export async function noisePng(seed: number, block = false): Promise<Buffer> {
  const w = 160;
  const h = 120;
  const px = Buffer.alloc(w * h * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1103515245 + 12345) % 2147483648) >> 23;
  if (block) for (let y = 20; y < 60; y++) for (let x = 30 + seed * 10; x < 80 + seed * 10; x++) px.set([seed * 60, 255 - seed * 50, 40], (y * w + x) * 3);
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}
