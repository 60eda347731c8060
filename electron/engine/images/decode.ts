// Reading and decoding evidence images: each file is refused from its size and header signature before its body is
// read, then read once (MD5, SHA-1 and SHA-256 of the same bytes, as they arrive), its header checked before any
// pixel is decoded, and decoded once to a reduced, EXIF-oriented RGB buffer that every derived image
// (thumbnail, encoder inputs) is resized from.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { IMAGE_EXTENSIONS as IMAGE_FILE_EXTENSIONS } from '../../shared/constants.ts';
import { openedOutside } from '../../shared/paths.ts';
import { describeFileType, notRegularFileMessage } from '../../../native-models/runtime/io/regularFile.ts';

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

/**
 * Largest file read, in bytes; bigger files are refused from their size before a byte is read. 256 MiB holds any
 * camera JPEG/HEIC (≤ 50 MB) and large uncompressed TIFF scans (a 200-megapixel RGB TIFF is 600 MB and is refused
 * by the pixel limit anyway); a hostile 1 GB sparse ".jpg" costs nothing.
 */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Bytes read (and hashed) per read call: the only buffer hashing alone needs. */
const READ_CHUNK = 1024 * 1024;

/** Bytes of the header the format is sniffed from. */
const SNIFF_BYTES = 32;

export interface FileHashes {
  md5: string;
  sha1: string;
  sha256: string;
}

export interface FileBytes extends FileHashes {
  bytes: Buffer;
  size: number;
  mtimeMs: number;
  /** The container the header's signature names (jpeg, png, gif, webp, tiff, heif). */
  sniffed: string;
}

export interface ReadOptions {
  /** Refuse files above this size (default DEFAULT_MAX_FILE_BYTES). */
  maxBytes?: number;
  /** Refuse a symbolic link as the last path component (the caller resolved and vetted the real path). */
  noFollow?: boolean;
  /**
   * The real path of the folder the file must lie in, checked on the open descriptor before a byte is read
   * (openedOutside): a folder on its path swapped for a link after the caller's check is refused.
   */
  within?: string;
}

/** HEIF/AVIF "ftyp" major brands libvips' heif loader takes. */
const HEIF_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** The image container named by the first bytes of a file, or null when none of the ingested formats matches. */
export function sniffFormat(head: Buffer): string | null {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  const tiff = ascii(0, 4);
  if (tiff === 'II*\0' || tiff === 'MM\0*' || tiff === 'II+\0' || tiff === 'MM\0+') return 'tiff';
  if (ascii(4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii(8, 12))) return 'heif';
  return null;
}

/**
 * Reads a regular file once, computing MD5, SHA-1 and SHA-256 of the same bytes as they arrive. Refuses before
 * reading the body: anything but a regular file (FIFO, socket, device, directory; opened non-blocking so a file
 * swapped for a FIFO cannot hang), an empty file, a file above `maxBytes` (from its size), and a header that
 * names no ingested image format. Memory: the file's bytes (≤ maxBytes), allocated once at the stat size.
 * A file that changes size or mtime while it is read is refused. Never writes.
 */
export async function readFileBytes(path: string, options: ReadOptions = {}): Promise<FileBytes> {
  const r = await readHashed(path, options, true);
  return r as FileBytes;
}

/** Hashes a file in READ_CHUNK pieces without keeping its bytes (back-filling the hashes of catalogued files). */
export async function hashFile(path: string, options: ReadOptions = {}): Promise<FileHashes & { size: number; mtimeMs: number }> {
  return readHashed(path, options, false);
}

async function readHashed(path: string, options: ReadOptions, keep: boolean): Promise<FileHashes & { size: number; mtimeMs: number; bytes?: Buffer; sniffed?: string }> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const flags = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (options.noFollow ? fsConstants.O_NOFOLLOW : 0);
  let handle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP' && options.noFollow) throw new Error(`${path} became a symbolic link while being ingested`);
    throw err;
  }
  try {
    if (options.within !== undefined) {
      const outside = await openedOutside(handle, path, options.within);
      if (outside) throw new Error(`${path}: left the evidence folder ${options.within} while being opened (${outside}); not read`);
    }
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(notRegularFileMessage(path, describeFileType(st)));
    if (st.size === 0) throw new Error(`${path} is empty (0 bytes)`);
    if (st.size > maxBytes) {
      throw new Error(`${path}: ${st.size} bytes exceeds the limit of ${maxBytes} bytes per file; not read`);
    }
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
    await handle.read(head, 0, head.length, 0);
    const sniffed = sniffFormat(head);
    if (keep && !sniffed) {
      throw new Error(`${path}: not a decodable image (its first bytes, ${head.subarray(0, 8).toString('hex')}, name no JPEG, PNG, GIF, WebP, TIFF or HEIF/AVIF signature)`);
    }
    const md5 = createHash('md5');
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    const bytes = keep ? Buffer.allocUnsafe(st.size) : null;
    const scratch = keep ? null : Buffer.allocUnsafe(Math.min(READ_CHUNK, st.size));
    let offset = 0;
    while (offset < st.size) {
      const len = Math.min(READ_CHUNK, st.size - offset);
      const target = bytes ?? scratch!;
      const at = bytes ? offset : 0;
      const { bytesRead } = await handle.read(target, at, len, offset);
      if (bytesRead === 0) throw new Error(`${path} shrank while being read (${offset} of ${st.size} bytes)`);
      const piece = target.subarray(at, at + bytesRead);
      md5.update(piece);
      sha1.update(piece);
      sha256.update(piece);
      offset += bytesRead;
    }
    const after = await handle.stat();
    if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) throw new Error(`${path} changed while being read`);
    return {
      ...(bytes ? { bytes, sniffed: sniffed! } : {}),
      md5: md5.digest('hex'),
      sha1: sha1.digest('hex'),
      sha256: sha256.digest('hex'),
      size: st.size,
      mtimeMs: st.mtimeMs,
    };
  } finally {
    await handle.close();
  }
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

/** Longest side of thumbnails. The pHash is computed from the same pixels (duplicates/phash.ts). */
export const THUMBNAIL_SIZE = 256;

/**
 * The thumbnail's pixels: an already decoded (oriented) image reduced, never enlarged, to fit in THUMBNAIL_SIZE².
 * Ingest makes the thumbnail JPEG and the pHash from them, so the full decode is reduced once for both.
 */
export async function thumbnailPixels(image: RgbImage): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The JPEG thumbnail of thumbnailPixels' output. */
export async function makeThumbnail(pixels: RgbImage, quality = 80): Promise<Buffer> {
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}
