// The one image processor, proven on the real model: the region-scheme training tools
// (native-models/tools/training/regions/encode.ts) compute exactly what ingest stored for the same image and exactly the
// app's crop-query vector for the same box — for an EXIF-rotated JPEG and for a PNG whose transparent pixels hide
// a colour (the white flatten the training tools used to skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openCatalog } from '../../db/CatalogStore.ts';
import { ImageProcessor } from '../../electron/engine/images/processor.ts';
import { ingestFolder } from '../../electron/engine/ingest/ingestFolder.ts';
import { toFloat16Array } from '../../electron/engine/models/float16.ts';
import { ImageEncoder } from '../../electron/engine/models/ImageEncoder.ts';
import { l2NormalizeRows } from '../../electron/engine/models/pooling.ts';
import { nsfwjsPreprocessing } from '../../native-models/tools/build-default-pack.ts';
import { Encoder, loadInputs, processorFor, type RegionConfig } from '../../native-models/tools/training/regions/encode.ts';
import { photoLike } from '../../bench/ingest-photos.ts';
import { defaultPack, packVariant } from '../integration/ingest-helpers.ts';

const REGIONS: RegionConfig = { name: '448x320-w5s3', inputSize: [448, 320], windowCells: 5, strideCells: 3 };

/** A photo-like RGBA PNG whose left half is transparent over saturated red: flattened onto white, the red is gone. */
async function transparentPng(): Promise<Buffer> {
  const { data, info } = await (await photoLike(11, 640, 480)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width / 2; x++) data.set([255, 0, 0, 0], (y * info.width + x) * 4);
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
}

/** Training's vectors of one image under REGIONS: row 0 whole, then the windows; L2-normalised as the app stores them. */
async function trainingRows(enc: Encoder, file: string): Promise<Float32Array> {
  const inputs = await loadInputs(processorFor(REGIONS.inputSize), file);
  const whole = await enc.pooled(inputs.whole);
  const { vectors } = enc.windows(await enc.featureMap(inputs.region!), REGIONS);
  const rows = new Float32Array(whole.length + vectors.length);
  rows.set(whole);
  rows.set(vectors, whole.length);
  return l2NormalizeRows(rows, whole.length);
}

test('training encodes an image exactly as ingest stored it, and a crop exactly as the app queries it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'processor-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const base = await defaultPack();
  // The training tools are written for the converted nsfwjs encoder: its preprocessing is the default pack's.
  assert.deepEqual(base.manifest.image.preprocessing, nsfwjsPreprocessing([224, 224]));
  const pack = await packVariant(base, join(dir, 'pack'), { id: 'test-processor', regions: REGIONS });

  const evidence = join(dir, 'evidence');
  mkdirSync(evidence);
  const files = {
    rotated: join(evidence, 'rotated.jpg'),
    transparent: join(evidence, 'transparent.png'),
  };
  writeFileSync(files.rotated, await (await photoLike(5, 800, 600)).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer());
  writeFileSync(files.transparent, await transparentPng());

  const catalog = openCatalog(join(dir, 'catalog.sqlite'));
  t.after(() => catalog.close());
  const run = await ingestFolder({ root: evidence, catalog, pack, threading: { kind: 'in-process', intraOpThreads: 1 } });
  assert.equal(run.added, 2);

  const enc = await Encoder.open(join(pack.dir, pack.manifest.image.model), 1, pack.manifest.image.gemP);
  t.after(() => enc.close());
  for (const file of Object.values(files)) {
    const stored = catalog.getEmbedding(catalog.getImageByPath(file)!.id, pack.manifest.id)!;
    const rows = await trainingRows(enc, file);
    assert.equal(stored.nVectors * stored.dim, rows.length, file);
    assert.deepEqual(stored.vectors, toFloat16Array(rows), `${file}: training's vectors are the stored ones`);
  }

  // The test can fail: training's former decode (orientation applied, alpha dropped, no white flatten) gave other
  // pixels for the transparent PNG, hence other vectors than the catalog holds.
  const { data, info } = await sharp(readFileSync(files.transparent)).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const unflattened = await processorFor(REGIONS.inputSize).inputs({ data, width: info.width, height: info.height });
  const stored = catalog.getEmbedding(catalog.getImageByPath(files.transparent)!.id, pack.manifest.id)!;
  const whole = l2NormalizeRows(await enc.pooled(unflattened.whole), pack.manifest.image.featureChannels);
  assert.notDeepEqual(toFloat16Array(whole), stored.vectors.subarray(0, whole.length));

  // Crop queries: the app's encodeCrop and training's crop input give the same vector, bit for bit.
  const app = await ImageEncoder.open(pack);
  t.after(() => app.close());
  const processor = new ImageProcessor({ preprocessing: pack.manifest.image.preprocessing });
  for (const [file, box] of [
    [files.rotated, { x: 130, y: 410, w: 300, h: 220 }],
    [files.transparent, { x: 250, y: 100, w: 200, h: 260 }],
  ] as const) {
    const bytes = readFileSync(file);
    const query = await app.encodeCrop(bytes, box);
    const trained = l2NormalizeRows(await enc.pooled(await processorFor(null).crop(bytes, file, box)), query.length);
    assert.deepEqual(trained, query, `${file}: crop vector`);
  }
  // Boxes are in the oriented image (the rotated JPEG is viewed 600×800): x = 700 lies outside it.
  await assert.rejects(processor.crop(readFileSync(files.rotated), 'rotated.jpg', { x: 700, y: 0, w: 50, h: 50 }), /crop box .* lies outside rotated\.jpg \(600×800\)/);
});
