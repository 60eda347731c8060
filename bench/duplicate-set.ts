// A generated duplicate set with its ground truth, for the duplicate-stack bench and tests: photo-like originals
// (bench/ingest-photos.ts), some of them with copies made the ways evidence gets copied — byte-identical,
// recompressed, downsized, slightly cropped — and the rest distinct. Nothing here comes from outside the project.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { photoLikeJpeg } from './ingest-photos.ts';

export const COPY_KINDS = ['exact', 'recompressed', 'resized', 'cropped'] as const;
export type CopyKind = (typeof COPY_KINDS)[number];

export interface DuplicateFile {
  path: string;
  /** The original this file shows (its own index for an original). */
  group: number;
  /** null for an original. */
  kind: CopyKind | null;
}

export interface DuplicateSetOptions {
  /** Originals; the first `withCopies` of them get one copy of each kind. */
  originals: number;
  withCopies: number;
  width?: number;
  height?: number;
  seed?: number;
}

export async function makeDuplicateSet(folder: string, options: DuplicateSetOptions): Promise<DuplicateFile[]> {
  const { originals, withCopies, width = 800, height = 600, seed = 5000 } = options;
  await mkdir(folder, { recursive: true });
  const files: DuplicateFile[] = [];
  for (let g = 0; g < originals; g++) {
    const jpeg = await photoLikeJpeg(seed + g, width, height, 90);
    const path = join(folder, `photo-${String(g).padStart(4, '0')}.jpg`);
    await writeFile(path, jpeg);
    files.push({ path, group: g, kind: null });
    if (g >= withCopies) continue;
    const dir = join(folder, 'copies');
    await mkdir(dir, { recursive: true });
    for (const kind of COPY_KINDS) {
      const out = join(dir, `photo-${String(g).padStart(4, '0')}-${kind}.jpg`);
      if (kind === 'exact') await copyFile(path, out);
      else await writeFile(out, await copyOf(jpeg, kind, width, height, g));
      files.push({ path: out, group: g, kind });
    }
  }
  return files;
}

/** Recompressed at quality 50; downsized to 45 %; cropped by 2–5 % on each side (varying with the photo). */
async function copyOf(jpeg: Buffer, kind: Exclude<CopyKind, 'exact'>, width: number, height: number, g: number): Promise<Buffer> {
  if (kind === 'recompressed') return sharp(jpeg).jpeg({ quality: 50 }).toBuffer();
  if (kind === 'resized') return sharp(jpeg).resize(Math.round(width * 0.45)).jpeg({ quality: 85 }).toBuffer();
  const frac = 0.02 + 0.03 * ((g * 37) % 11) / 10;
  const left = Math.round(width * frac);
  const top = Math.round(height * frac);
  return sharp(jpeg)
    .extract({ left, top, width: width - 2 * left, height: height - 2 * top })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export interface TierScore {
  /** Share of copies (by kind, and all) that share a stack with their original. */
  recall: Record<CopyKind | 'all', number>;
  /** Stacks holding files of more than one original, per 1,000 images. */
  falseStacksPer1000: number;
  stacks: number;
}

/** Scores stacks (lists of file indices) against the set's ground truth. */
export function scoreStacks(files: readonly DuplicateFile[], stacks: readonly (readonly number[])[]): TierScore {
  const stackOf = new Map<number, number>();
  stacks.forEach((members, s) => members.forEach((i) => stackOf.set(i, s)));
  const originalOf = new Map(files.flatMap((f, i) => (f.kind === null ? [[f.group, i] as const] : [])));
  const hits: Record<string, [number, number]> = {};
  for (const [i, f] of files.entries()) {
    if (f.kind === null) continue;
    const o = originalOf.get(f.group)!;
    const same = stackOf.has(i) && stackOf.get(i) === stackOf.get(o);
    for (const key of [f.kind, 'all']) {
      const h = (hits[key] ??= [0, 0]);
      h[0] += same ? 1 : 0;
      h[1]++;
    }
  }
  const recall = Object.fromEntries([...COPY_KINDS, 'all'].map((k) => [k, hits[k] ? hits[k][0] / hits[k][1] : 0])) as TierScore['recall'];
  const falseStacks = stacks.filter((m) => new Set(m.map((i) => files[i]!.group)).size > 1).length;
  return { recall, falseStacksPer1000: (1000 * falseStacks) / files.length, stacks: stacks.length };
}
