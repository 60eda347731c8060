// Deterministic photo-like test images: a lit gradient, overlapping shapes and sensor-like noise, so that JPEG
// decoding costs what it costs on real photos (flat synthetic images decode unrealistically fast).
import sharp, { type Sharp } from 'sharp';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const hex = (r: () => number) =>
  `#${Math.floor(r() * 0xffffff)
    .toString(16)
    .padStart(6, '0')}`;

/** An SVG scene; `seed` picks colours and shapes. */
export function sceneSvg(seed: number, width: number, height: number, shapes = 24): string {
  const r = rng(seed);
  let body = `<defs><linearGradient id="g" x1="0" y1="0" x2="${r().toFixed(2)}" y2="1">` +
    `<stop offset="0" stop-color="${hex(r)}"/><stop offset="1" stop-color="${hex(r)}"/></linearGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#g)"/>`;
  for (let i = 0; i < shapes; i++) {
    const x = r() * width;
    const y = r() * height;
    const s = (0.03 + r() * 0.2) * Math.min(width, height);
    const fill = hex(r);
    const op = (0.4 + r() * 0.6).toFixed(2);
    const kind = Math.floor(r() * 3);
    if (kind === 0) body += `<circle cx="${x}" cy="${y}" r="${s}" fill="${fill}" opacity="${op}"/>`;
    else if (kind === 1) body += `<rect x="${x}" y="${y}" width="${s * 1.6}" height="${s}" fill="${fill}" opacity="${op}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`;
    else body += `<ellipse cx="${x}" cy="${y}" rx="${s}" ry="${s * 0.4}" fill="none" stroke="${fill}" stroke-width="${2 + r() * 12}" opacity="${op}"/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

const noiseTiles = new Map<string, Promise<Buffer>>();

/** One raw gaussian-noise tile per size, 32 px larger than the image; each image takes it at its own offset. */
function noiseTile(width: number, height: number): Promise<Buffer> {
  const key = `${width}x${height}`;
  let tile = noiseTiles.get(key);
  if (!tile) {
    tile = sharp({ create: { width: width + 32, height: height + 32, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
      .raw()
      .toBuffer();
    noiseTiles.set(key, tile);
  }
  return tile;
}

/**
 * A photo-like image as a sharp pipeline (before encoding), so callers pick the format. `shapes` sets how busy it
 * is: the default 24 gives smooth scenes with few corners; a few hundred give the keypoint density of real photos.
 */
export async function photoLike(seed: number, width: number, height: number, shapes?: number): Promise<Sharp> {
  const tile = await noiseTile(width, height);
  const r = rng(seed * 7919);
  const noise = await sharp(tile, { raw: { width: width + 32, height: height + 32, channels: 3 } })
    .extract({ left: Math.floor(r() * 32), top: Math.floor(r() * 32), width, height })
    .raw()
    .toBuffer();
  const scene = await sharp(Buffer.from(sceneSvg(seed, width, height, shapes))).removeAlpha().raw().toBuffer();
  return sharp(scene, { raw: { width, height, channels: 3 } }).composite([
    { input: noise, raw: { width, height, channels: 3 }, blend: 'soft-light' },
  ]);
}

export async function photoLikeJpeg(seed: number, width = 1600, height = 1200, quality = 90): Promise<Buffer> {
  return (await photoLike(seed, width, height)).jpeg({ quality }).toBuffer();
}

/** A photo-like 640×480 JPEG whose EXIF names a camera (Canon EOS 5D), a capture time (2024-05-03 10:11:12) and a
 *  place (51.5° N, 0.125° W): the image the search-filter tests find by its facts. */
export async function cameraJpeg(seed = 9001): Promise<Buffer> {
  return sharp(await photoLikeJpeg(seed, 640, 480))
    .withExif({
      IFD0: { Make: 'Canon', Model: 'EOS 5D' },
      IFD2: { DateTimeOriginal: '2024:05:03 10:11:12' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 30/1' },
    })
    .jpeg()
    .toBuffer();
}
