// The perceptual hash is sharp-phash's, bit for bit: the package itself is the reference, on generated photos of
// several sizes and aspects, a flat grey image (coefficients that are rounding noise around zero: the order of the
// sums decides them) and resized and recompressed copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { hammingDistance, perceptualHash } from '../../electron/engine/duplicates/phash.ts';
import { decodeRgb } from '../../electron/engine/images/decode.ts';
import { photoLike } from '../../bench/ingest-photos.ts';

const reference = createRequire(import.meta.url)('sharp-phash') as typeof import('sharp-phash').default;

async function referenceHex(rgb: { data: Uint8Array; width: number; height: number }): Promise<string> {
  const bits = await reference(Buffer.from(rgb.data.buffer, rgb.data.byteOffset, rgb.data.byteLength), { raw: { width: rgb.width, height: rgb.height, channels: 3 } });
  let hex = '';
  for (let i = 0; i < 64; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex;
}

test('perceptualHash gives sharp-phash 2.2.0 bits on photos, copies and a flat image', async () => {
  const images: Buffer[] = [];
  for (const [seed, w, h] of [[1, 1600, 1200], [2, 640, 480], [3, 480, 640], [4, 300, 100], [5, 33, 40]] as const) {
    const photo = await (await photoLike(seed, w, h)).jpeg({ quality: 90 }).toBuffer();
    images.push(photo, await sharp(photo).resize(Math.ceil(w / 2)).jpeg({ quality: 60 }).toBuffer());
  }
  images.push(await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } }).png().toBuffer());
  const hashes: string[] = [];
  for (const [k, bytes] of images.entries()) {
    const rgb = await decodeRgb(bytes, `image ${k}`, [896, 672]);
    const ours = await perceptualHash(rgb);
    assert.equal(ours, await referenceHex(rgb), `image ${k}`);
    hashes.push(ours);
  }
  // A half-size recompressed copy stays near its original; different photos do not.
  assert.ok(hammingDistance(hashes[0], hashes[1]) <= 6, `copy distance ${hammingDistance(hashes[0], hashes[1])}`);
  assert.ok(hammingDistance(hashes[0], hashes[2]) > 10);
});
