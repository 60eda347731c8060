import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { decodeRgb, hashFile, makeThumbnail, readFileBytes, readImageHeader, sniffFormat, thumbnailPixels } from '../../electron/engine/images/decode.ts';
import { exifDate, readExif } from '../../electron/engine/images/exif.ts';
import { pngBomb } from '../integration/ingest-helpers.ts';

/** 60×40 image: left half red, right half blue. */
async function redBlue(): Promise<Sharp> {
  const half = (r: number, b: number) => sharp({ create: { width: 30, height: 40, channels: 3, background: { r, g: 0, b } } }).png().toBuffer();
  return sharp({ create: { width: 60, height: 40, channels: 3, background: '#000000' } }).composite([
    { input: await half(255, 0), left: 0, top: 0 },
    { input: await half(0, 255), left: 30, top: 0 },
  ]);
}

test('EXIF orientation is applied: header size and decoded pixels are those of the image as viewed', async () => {
  // Stored pixels are 60×40 (red left); orientation 6 means "rotate 90° clockwise to view": viewed 40×60, red on top.
  const stored = await (await redBlue()).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const header = await readImageHeader(stored, 'rotated.jpg');
  assert.deepEqual([header.format, header.width, header.height, header.orientation], ['jpeg', 40, 60, 6]);
  const rgb = await decodeRgb(stored, 'rotated.jpg', [40, 60]);
  assert.deepEqual([rgb.width, rgb.height], [40, 60]);
  const px = (x: number, y: number) => Array.from(rgb.data.subarray((y * rgb.width + x) * 3, (y * rgb.width + x) * 3 + 3));
  assert.ok(px(20, 5)[0] > 200 && px(20, 5)[2] < 60, `top is red: ${px(20, 5)}`);
  assert.ok(px(20, 55)[2] > 200 && px(20, 55)[0] < 60, `bottom is blue: ${px(20, 55)}`);
});

test('decoding reduces to cover the target without enlarging, flattens alpha and greyscale to RGB', async () => {
  const big = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const rgb = await decodeRgb(big, 'big.jpg', [672, 512]);
  assert.ok(rgb.width >= 672 && rgb.height >= 512 && rgb.width < 1600, `${rgb.width}×${rgb.height}`);
  assert.equal(rgb.data.length, rgb.width * rgb.height * 3);
  const small = await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const s = await decodeRgb(small, 'small.png', [672, 512]);
  assert.deepEqual([s.width, s.height, s.data[0]], [20, 10, 255]); // transparent → white, not enlarged
  const grey = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#646464' } }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  const g = await decodeRgb(grey, 'grey.png', [8, 8]);
  assert.equal(g.data.length, 8 * 8 * 3);
  // 16-bit PNG and CMYK JPEG also come out as 8-bit sRGB.
  const deep = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(deep).metadata()).depth, 'ushort');
  const d = await decodeRgb(deep, 'deep.png', [8, 8]);
  assert.deepEqual([d.data.length, d.data[0]], [8 * 8 * 3, 128]);
  const cmyk = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const k = await decodeRgb(cmyk, 'cmyk.jpg', [8, 8]);
  assert.equal(k.data.length, 8 * 8 * 3);
  assert.ok(Math.abs(k.data[0] - 128) < 30, `CMYK grey decodes near grey: ${k.data[0]}`);
});

test('bombs are refused from the header; truncated and non-image bytes fail with the file named', async () => {
  await assert.rejects(readImageHeader(pngBomb(30000), 'bomb.png', 200_000_000), /bomb\.png: 30000×30000 pixels exceeds the limit/);
  const jpeg = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
  const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
  await readImageHeader(truncated, 'cut.jpg'); // the header is intact…
  await assert.rejects(decodeRgb(truncated, 'cut.jpg', [224, 224]), /cut\.jpg: cannot decode/); // …the pixels are not
  await assert.rejects(readImageHeader(Buffer.from('not an image at all'), 'fake.jpg'), /fake\.jpg: not a decodable image/);
});

test('readFileBytes computes MD5, SHA-1 and SHA-256 in one pass; refuses empty, oversized, non-image, FIFO and (noFollow) linked files before reading', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'decode-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const jpeg = await (await redBlue()).jpeg().toBuffer();
  await writeFile(join(dir, 'a.jpg'), jpeg);
  const f = await readFileBytes(join(dir, 'a.jpg'));
  const sum = (tool: string) => execFileSync(tool, [join(dir, 'a.jpg')], { encoding: 'utf8' }).split(' ')[0];
  assert.deepEqual([f.md5, f.sha1, f.sha256], [sum('md5sum'), sum('sha1sum'), sum('sha256sum')]);
  assert.deepEqual([f.size, f.sniffed], [jpeg.length, 'jpeg']);
  assert.ok(f.bytes.equals(jpeg));
  const h = await hashFile(join(dir, 'a.jpg'));
  assert.deepEqual([h.md5, h.sha1, h.sha256], [f.md5, f.sha1, f.sha256]);
  await writeFile(join(dir, 'empty.jpg'), '');
  await assert.rejects(readFileBytes(join(dir, 'empty.jpg')), /empty\.jpg is empty/);
  await writeFile(join(dir, 'text.jpg'), 'abc, not an image');
  await assert.rejects(readFileBytes(join(dir, 'text.jpg')), /text\.jpg: not a decodable image \(its first bytes, 6162632c/);
  await assert.rejects(readFileBytes(join(dir, 'a.jpg'), { maxBytes: jpeg.length - 1 }), new RegExp(`a\\.jpg: ${jpeg.length} bytes exceeds the limit of ${jpeg.length - 1} bytes`));
  execFileSync('mkfifo', [join(dir, 'pipe.jpg')]);
  await assert.rejects(readFileBytes(join(dir, 'pipe.jpg')), /pipe\.jpg: is a FIFO; only regular files are accepted/);
  await symlink(join(dir, 'a.jpg'), join(dir, 'link.jpg'));
  await assert.rejects(readFileBytes(join(dir, 'link.jpg'), { noFollow: true }), /link\.jpg became a symbolic link/);
});

test('sniffFormat names each ingested container from its first bytes and nothing else', async () => {
  const img = await redBlue();
  const heads: Record<string, Buffer> = {
    jpeg: await img.clone().jpeg().toBuffer(),
    png: await img.clone().png().toBuffer(),
    gif: await img.clone().gif().toBuffer(),
    webp: await img.clone().webp().toBuffer(),
    tiff: await img.clone().tiff().toBuffer(),
    heif: await img.clone().avif({ effort: 0 }).toBuffer(),
  };
  for (const [format, bytes] of Object.entries(heads)) assert.equal(sniffFormat(bytes.subarray(0, 32)), format, format);
  assert.equal(sniffFormat(Buffer.alloc(32)), null, 'zeros (a sparse file) are no image');
  assert.equal(sniffFormat(Buffer.from('<html><script>')), null);
});

test('thumbnails fit the requested size and keep the aspect', async () => {
  const rgb = await decodeRgb(await (await redBlue()).resize(600, 400).png().toBuffer(), 'x.png', [600, 400]);
  const meta = await sharp(await makeThumbnail(await thumbnailPixels(rgb))).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 171]);
});

test('EXIF facts: capture time as written, make/model, signed GPS; none for a bare PNG', async () => {
  const withExif = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#123456' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'Canon', Model: 'EOS 5D' },
      IFD2: { DateTimeOriginal: '2020:01:02 03:04:05', OffsetTimeOriginal: '-05:00' },
      IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '12/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '45/1 15/1 36/1' },
    })
    .toBuffer();
  const header = await readImageHeader(withExif, 'e.jpg');
  const facts = await readExif(withExif, header.exif);
  assert.equal(facts.capturedAt, '2020-01-02T03:04:05-05:00');
  assert.equal(facts.cameraMake, 'Canon');
  assert.equal(facts.cameraModel, 'EOS 5D');
  assert.ok(Math.abs(facts.gpsLat! + 12.5) < 1e-9 && Math.abs(facts.gpsLon! + 45.26) < 1e-9, `${facts.gpsLat}, ${facts.gpsLon}`);
  const webp = await sharp(withExif).keepExif().webp().toBuffer();
  assert.equal((await readExif(webp, (await readImageHeader(webp, 'e.webp')).exif)).cameraModel, 'EOS 5D');
  const bare = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer();
  assert.deepEqual(await readExif(bare, null), { capturedAt: null, cameraMake: null, cameraModel: null, gpsLat: null, gpsLon: null });
  assert.equal(exifDate('0000:00:00 00:00:00'), null);
  assert.equal(exifDate('2021:12:31 23:59:58'), '2021-12-31T23:59:58');
});
