// Reading and decoding evidence images: each file is read once (hashed from the same bytes), its header checked
// before any pixel is decoded, and decoded once to a reduced, EXIF-oriented RGB buffer that every derived image
// (thumbnail, encoder inputs) is resized from.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { IMAGE_EXTENSIONS as IMAGE_FILE_EXTENSIONS } from '../../shared/constants.ts';

/** Interleaved 8-bit RGB, row-major (HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Pixel rectangle in the coordinates of an image as stored (EXIF orientation applied). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Extensions ingest looks at: the one list (electron/shared/constants.ts), as a set. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(IMAGE_FILE_EXTENSIONS);

/** Largest image ingest decodes, in pixels (width × height of one page); bigger ones are refused as likely bombs. */
export const DEFAULT_MAX_PIXELS = 200_000_000;

export interface FileBytes {
  bytes: Buffer;
  sha256: string;
  size: number;
  mtimeMs: number;
}

/**
 * Reads a regular file whole and hashes it. Refuses anything else (FIFO, socket, device, directory) before
 * reading, and opens non-blocking so that a file swapped for a FIFO cannot hang ingest. Never writes.
 */
export async function readFileBytes(path: string): Promise<FileBytes> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${path} is not a regular file but ${describeFileType(st)}`);
    const bytes = await handle.readFile();
    if (bytes.length === 0) throw new Error(`${path} is empty (0 bytes)`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { bytes, sha256, size: st.size, mtimeMs: st.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** 'a FIFO', 'a directory', …: what a path is, for error messages. */
export function describeFileType(st: {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a device';
}

export interface ImageHeader {
  /** Decoder name: jpeg, png, webp, tiff, gif, avif, heif. */
  format: string;
  /** Pixel size with EXIF orientation applied (first page). */
  width: number;
  height: number;
  /** EXIF orientation 1..8, or null when absent. */
  orientation: number | null;
  /** Raw EXIF block, when the container has one (used where exifr cannot read the container itself). */
  exif: Buffer | null;
}

/** Reads only the header: format and size. Throws for non-images and for images above `maxPixels`. */
export async function readImageHeader(bytes: Buffer, what: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageHeader> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new Error(`${what}: not a decodable image (${(err as Error).message})`);
  }
  const rawW = meta.width;
  const rawH = meta.pageHeight ?? meta.height;
  if (!rawW || !rawH) throw new Error(`${what}: image header has no size`);
  if (rawW * rawH > maxPixels) {
    throw new Error(`${what}: ${rawW}×${rawH} pixels exceeds the limit of ${maxPixels} pixels (possible decompression bomb)`);
  }
  const swapped = (meta.orientation ?? 1) >= 5;
  const format = meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : String(meta.format);
  return {
    format,
    width: swapped ? rawH : rawW,
    height: swapped ? rawW : rawH,
    orientation: meta.orientation ?? null,
    exif: meta.exif ?? null,
  };
}

/**
 * Decodes once to sRGB 8-bit RGB with EXIF orientation applied and transparency flattened onto white, reduced
 * (never enlarged) so that it still covers `cover` ([width, height]) — JPEGs take the decoder's DCT shrink-on-load.
 */
export async function decodeRgb(
  bytes: Buffer,
  what: string,
  cover: readonly [number, number],
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', autoOrient: true })
      .resize(cover[0], cover[1], { fit: 'outside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`${what}: cannot decode (${(err as Error).message})`);
  }
}

/** JPEG thumbnail fitting in size×size, from an already decoded (oriented) image. */
export async function makeThumbnail(image: RgbImage, size = 256, quality = 80): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}
