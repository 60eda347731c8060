// Synthetic evidence for the end-to-end tests: textured "room" scenes made with sharp, one of which holds a
// distinctive object (a ringed, checkered lamp-like disc covering ~5% of the frame), plus a truncated JPEG
// that ingest must report as failed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../../electron/shared/api.ts';
import { mulberry32 } from '../../../electron/engine/search/rng.ts';

export const SCENE_W = 640;
export const SCENE_H = 480;

export interface SceneSet {
  folder: string;
  scenes: string[];
  /** The scene holding the object, and where the object is in it. */
  objectScene: string;
  objectBox: Box;
  badFile: string;
  /** Width of every scene, px. */
  width: number;
}


function texture(seed: number): Buffer {
  const r = mulberry32(seed);
  const base = [40 + r() * 150, 40 + r() * 150, 40 + r() * 150];
  const accent = [r() * 255, r() * 255, r() * 255];
  const angle = r() * Math.PI;
  const freq = 0.02 + r() * 0.12;
  const blobs = Array.from({ length: 6 }, () => ({ x: r() * SCENE_W, y: r() * SCENE_H, rad: 30 + r() * 90, c: [r() * 255, r() * 255, r() * 255] }));
  const px = Buffer.alloc(SCENE_W * SCENE_H * 3);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  for (let y = 0; y < SCENE_H; y++) {
    for (let x = 0; x < SCENE_W; x++) {
      const stripe = 0.5 + 0.5 * Math.sin((x * ca + y * sa) * freq);
      const noise = (r() - 0.5) * 30;
      const shade = y / SCENE_H;
      let c = [0, 1, 2].map((i) => base[i] * (0.7 + 0.3 * shade) + (accent[i] - base[i]) * 0.35 * stripe + noise);
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y);
        if (d < b.rad) c = c.map((v, i) => v * 0.55 + b.c[i] * 0.45);
      }
      const o = (y * SCENE_W + x) * 3;
      for (let i = 0; i < 3; i++) px[o + i] = Math.max(0, Math.min(255, Math.round(c[i])));
    }
  }
  return px;
}

/** Concentric red/yellow/blue rings over a black-and-white checkerboard: nothing like the backgrounds. */
function paintObject(px: Buffer, box: Box) {
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const R = Math.min(box.w, box.h) / 2;
  const rings = [[220, 30, 40], [250, 210, 20], [30, 70, 220], [250, 250, 250]];
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      const d = Math.hypot(x - cx, y - cy);
      const checker = ((Math.floor((x - box.x) / 10) + Math.floor((y - box.y) / 10)) & 1) === 0;
      const c = d < R ? rings[Math.floor((d / R) * 8) % rings.length] : checker ? [15, 15, 15] : [235, 235, 235];
      const o = (y * SCENE_W + x) * 3;
      px[o] = c[0];
      px[o + 1] = c[1];
      px[o + 2] = c[2];
    }
  }
}

export async function makeScenes(folder: string, count = 12): Promise<SceneSet> {
  await fs.mkdir(folder, { recursive: true });
  // ~5% of 640×480 is 15,360 px: a 124×124 square.
  const objectBox: Box = { x: 410, y: 250, w: 124, h: 124 };
  const objectIndex = 7;
  const scenes: string[] = [];
  for (let i = 0; i < count; i++) {
    const px = texture(1000 + i * 7919);
    if (i === objectIndex) paintObject(px, objectBox);
    const file = path.join(folder, `scene-${String(i + 1).padStart(2, '0')}.jpg`);
    await sharp(px, { raw: { width: SCENE_W, height: SCENE_H, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
    scenes.push(file);
  }
  const whole = await fs.readFile(scenes[0]);
  const badFile = path.join(folder, 'corrupt-upload.jpg');
  await fs.writeFile(badFile, whole.subarray(0, Math.floor(whole.length * 0.4)));
  return { folder, scenes, objectScene: scenes[objectIndex], objectBox, badFile, width: SCENE_W };
}
