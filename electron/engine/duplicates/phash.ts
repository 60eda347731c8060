// The perceptual hash of the duplicate tier between identical bytes and similar content: a 64-bit DCT pHash
// (32×32 greyscale, the 8×8 lowest frequencies after DC, each bit "above the mean"), the hash sharp-phash 2.2.0
// defines — its sharp pipeline, its DCT-II coefficients, summed in its order, so the bits are its bits
// (tests/unit/phash.test.ts compares with the package on generated photos).
//
// Why sharp-phash's definition: a maintained npm package (≈470k downloads a month, MIT) on top of sharp, which the
// project already decodes with; PDQ (Meta's 256-bit hash, sturdier to crops) has no maintained JavaScript package,
// and pHash's robustness to recompression, resizing and small crops is what `npm run bench` measures on generated
// copies (dupes_* figures). Why not the package's code itself: it computes all 1,024 coefficients of the 32×32 DCT
// in JavaScript to read 64 of them, ≈ 22 CPU-ms per ingested image (of ≈ 150; measured on 20 of the bench's
// 1600×1200 photos at load average 14, `bench/ingest.ts` stage profile); the 64 cost ≈ 1/16 of that. Ingest hashes
// the pixels it already decoded, not the file again. Distances are Hamming distances over the 64 bits.
import sharp from 'sharp';
import type { RgbImage } from '../images/decode.ts';

const SAMPLE = 32;
const LOW = 8;

/** COS[i][u] = cos((2i + 1)·u·π / 2N), sharp-phash's table. */
const COS = Array.from({ length: SAMPLE }, (_, k) => Float64Array.from({ length: SAMPLE }, (_, n) => Math.cos(((2 * k + 1) / (2.0 * SAMPLE)) * n * Math.PI)));

/**
 * pHash of decoded sRGB pixels (EXIF orientation applied), as 16 lower-case hex digits. Ingest and the back-fill
 * hash the thumbnail's pixels (images/decode.ts thumbnailPixels): sharp-phash's greyscale conversion runs before
 * its 32×32 reduction, ≈ 9 CPU-ms on a 896×672 decode against < 1 on 256×192 (measured under load 22).
 */
export async function perceptualHash(image: RgbImage): Promise<string> {
  const grey = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .greyscale()
    .resize(SAMPLE, SAMPLE, { fit: 'fill' })
    .rotate()
    .raw()
    .toBuffer();
  if (grey.length !== SAMPLE * SAMPLE) throw new Error(`pHash sample is ${grey.length} bytes, expected ${SAMPLE * SAMPLE}`);
  // F[u][v] = ¼ Σ_i Σ_j COS[i][u]·COS[j][v]·f[i][j] with f[i][j] = pixel (x = i, y = j), for u, v in 1..8 only.
  const coeffs = new Float64Array(LOW * LOW);
  let total = 0;
  for (let u = 1; u <= LOW; u++) {
    for (let v = 1; v <= LOW; v++) {
      let sum = 0;
      for (let i = 0; i < SAMPLE; i++) {
        for (let j = 0; j < SAMPLE; j++) sum += COS[i][u] * COS[j][v] * grey[SAMPLE * j + i];
      }
      sum *= 0.25; // sharp-phash's (SQRT[u]·SQRT[v]) / 4, with SQRT = 1 off the DC row and column
      coeffs[(u - 1) * LOW + (v - 1)] = sum;
      total += sum;
    }
  }
  const avg = total / (LOW * LOW);
  let hex = '';
  for (let k = 0; k < LOW * LOW; k += 4) {
    let nibble = 0;
    for (let b = 0; b < 4; b++) nibble = (nibble << 1) | (coeffs[k + b] > avg ? 1 : 0);
    hex += nibble.toString(16);
  }
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
