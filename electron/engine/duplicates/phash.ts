// The perceptual hash of the duplicate tier between identical bytes and similar content: a 64-bit DCT pHash
// (32×32 greyscale, the 8×8 lowest frequencies after DC, each bit "above the mean") from the sharp-phash package.
//
// Why sharp-phash: it is maintained on npm (≈470k downloads a month), MIT, 100 lines on top of sharp, which the
// project already decodes with; it accepts raw pixels, so ingest hashes the image it already decoded instead of
// decoding the file twice. PDQ (Meta's 256-bit hash, sturdier to crops) has no maintained JavaScript package —
// only Python bindings — and pHash's robustness to recompression, resizing and small crops is what `npm run bench`
// measures on generated copies (dupes_* figures). Distances are Hamming distances over the 64 bits.
import { createRequire } from 'node:module';
import type { RgbImage } from '../images/decode.ts';

// sharp-phash is CommonJS (module.exports = fn) while its types declare a default export; require gives the function.
const phash = createRequire(import.meta.url)('sharp-phash') as typeof import('sharp-phash').default;

/** pHash of decoded sRGB pixels (EXIF orientation already applied), as 16 lower-case hex digits. */
export async function perceptualHash(image: RgbImage): Promise<string> {
  const bits = await phash(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (!/^[01]{64}$/.test(bits)) throw new Error(`sharp-phash returned ${bits.length} characters, expected 64 bits`);
  let hex = '';
  for (let i = 0; i < 64; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex;
}

/** The hash as two 32-bit halves, for fast Hamming distances. */
export function hashWords(hex: string): [number, number] {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`perceptual hash "${hex}" is not 16 hex digits`);
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8), 16) >>> 0];
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function hammingDistance(a: string, b: string): number {
  const [a0, a1] = hashWords(a);
  const [b0, b1] = hashWords(b);
  return popcount32(a0 ^ b0) + popcount32(a1 ^ b1);
}
