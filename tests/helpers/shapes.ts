// Random filled polygons and circles as SVG: an image with many distinct corners, so ORB (stage 3) finds keypoints
// that match only where the same shapes are. Reproducible from the seed.
import { mulberry32 } from '../../electron/engine/search/rng.ts';

/** Random filled polygons and circles: many corners for ORB, reproducible from the seed. */
export function shapesSvg(width: number, height: number, seed: number, count: number): Buffer {
  const next = mulberry32(seed);
  const colour = () => `rgb(${Math.floor(next() * 256)},${Math.floor(next() * 256)},${Math.floor(next() * 256)})`;
  let body = `<rect width="${width}" height="${height}" fill="${colour()}"/>`;
  for (let i = 0; i < count; i++) {
    if (next() < 0.5) {
      const pts = Array.from({ length: 3 + Math.floor(next() * 4) }, () => `${(next() * width).toFixed(1)},${(next() * height).toFixed(1)}`);
      body += `<polygon points="${pts.join(' ')}" fill="${colour()}"/>`;
    } else {
      body += `<circle cx="${(next() * width).toFixed(1)}" cy="${(next() * height).toFixed(1)}" r="${(4 + next() * width * 0.08).toFixed(1)}" fill="${colour()}"/>`;
    }
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`);
}
