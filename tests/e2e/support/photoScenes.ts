// Photo-like evidence for the README's screenshots (`npm run screenshots`): real photos from the held-out (EVAL
// split) Debian sources of the training cache with held-out clip-art objects pasted in by the benchmark generator,
// so the screenshots show what an analyst sees rather than synthetic discs. A doc generator, not CI: it needs the
// training cache (native-models/tools/training/data: fetch-debian.ts, then catalog.ts) and says so when it is missing.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../../native-models/tools/training/data/catalog.ts';
import { CATALOG_FILE, cacheDir } from '../../../native-models/tools/training/data/sources.ts';
import { generateBenchmark } from '../../../native-models/tools/training/benchmark/generate.ts';
import type { SceneSet } from './scenes.ts';

/** Held-out scene packages that hold photographs (the others are game art and drawings). */
const PHOTO_PACKAGES = new Set(['labelme-examples', 'opencv-doc', 'kphotoalbum', 'python3-skimage', 'lomiri-wallpapers-16.04', 'gnome-backgrounds']);
export const PHOTO_W = 1024;
export const PHOTO_H = 768;

export async function makePhotoScenes(folder: string): Promise<SceneSet> {
  const catalogFile = path.join(cacheDir(), CATALOG_FILE);
  if (!existsSync(catalogFile)) {
    throw new Error(`${catalogFile} is missing: the screenshots use the training cache's photos (run native-models/tools/training/data/fetch-debian.ts and catalog.ts)`);
  }
  const catalog = JSON.parse(readFileSync(catalogFile, 'utf8')) as Catalog;
  const photos = { scenes: catalog.scenes.filter((s) => PHOTO_PACKAGES.has(s.pkg)), objects: catalog.objects };
  // Three objects in three photos each, plus fifteen photos holding none: 24 images, one query.
  const { queries } = await generateBenchmark(cacheDir(), photos, folder, {
    split: 'eval', seed: 7, objects: 3, scenesPerObject: [3, 3], extraFraction: 15 / 9, width: PHOTO_W, height: PHOTO_H, areaRange: [0.04, 0.08],
  });
  const images = path.join(folder, 'images');
  const scenes = (await fs.readdir(images)).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(images, f));
  const q = queries[0]!;
  const badFile = path.join(images, 'corrupt-upload.jpg');
  const whole = await fs.readFile(scenes[0]!);
  await fs.writeFile(badFile, whole.subarray(0, Math.floor(whole.length * 0.4)));
  const [x, y, w, h] = q.crop!;
  return { folder: images, scenes, objectScene: path.join(folder, q.image), objectBox: { x, y, w, h }, badFile, width: PHOTO_W };
}
