import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeThumbnail, readFileBytes, readImageHeader, thumbnailPixels } from './electron/engine/images/decode.ts';
import { readExif } from './electron/engine/images/exif.ts';
import { perceptualHash } from './electron/engine/duplicates/phash.ts';
import { ImageEncoder } from './electron/engine/models/ImageEncoder.ts';
import { toEmbeddingInput } from './electron/engine/ingest/ingestFolder.ts';
import { verifyPack } from './native-models/runtime/packs/verify.ts';
const dir = '/tmp/quari-bench-photos-v1-1600x1200-q90';
const files = readdirSync(dir).sort().slice(0, Number(process.env.N ?? 20)).map((f) => join(dir, f));
const pack = await verifyPack('native-models/packs/built/mobilenetv2-nsfwjs');
const enc = await ImageEncoder.open(pack, { intraOpThreads: 1 });
const p = enc.processor;
const t: Record<string, number> = {};
const time = async <T>(k: string, fn: () => Promise<T> | T): Promise<T> => { const c = process.cpuUsage(); const r = await fn(); const d = process.cpuUsage(c); t[k] = (t[k] ?? 0) + (d.user + d.system) / 1000; return r; };
await enc.encodeImage(files[0]);
for (const f of files) {
  const b = await time('readHash', () => readFileBytes(f));
  const h = await time('header', () => readImageHeader(b.bytes, f));
  await time('exif', () => readExif(b.bytes, h.exif));
  const rgb = await time('decode', () => p.decode(b.bytes, f));
  const inp = await time('resize', () => p.inputs(rgb));
  const small = await time('thumbPx', () => thumbnailPixels(rgb));
  await time('thumbJpeg', () => makeThumbnail(small));
  await time('phash', () => perceptualHash(small));
  const [e] = await time('encode', () => enc.encodeInputs([inp]));
  await time('f16', () => toEmbeddingInput(pack.manifest.id, e));
}
let sum = 0;
for (const [k, v] of Object.entries(t)) { console.log(k.padEnd(16), (v / files.length).toFixed(1)); sum += v / files.length; }
console.log('total'.padEnd(16), sum.toFixed(1));
await enc.close();
