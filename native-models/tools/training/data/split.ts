// Deterministic train / whitening / eval assignment by hash of a grouping key, so that near-variants of one picture
// (badlands0@2x / badlands1@2x, aloeL / aloeR, wood-l / wood-d, star_01 / star_02) always land in the same split and
// the held-out eval never sees a training or whitening object or scene.
import { createHash } from 'node:crypto';
import { basename, dirname, extname } from 'node:path';

/**
 * 'cross' is not a hash split: it is every image of a package marked `family: 'cross'` in sources.ts (the
 * cross-family benchmark), so no object family or scene photographer of it reaches training, whitening or selection.
 */
export type Split = 'train' | 'whitening' | 'eval' | 'cross';

/** Fractions of [0,1) hash space: train below TRAIN_FRACTION, whitening below TRAIN+WHITENING, eval above. */
export const TRAIN_FRACTION = 0.6;
export const WHITENING_FRACTION = 0.15;

/** Grouping key of an image: package, folder, and the file stem without resolution/variant/sequence suffixes. */
export function groupKey(pkg: string, relPath: string): string {
  let stem = basename(relPath, extname(relPath)).replace(/@\dx$/, '');
  stem = stem.replace(/(?:[-_ ]?(?:\d+|left|right|original|modified)|[-_][ld]|[LRAB])+$/, '') || stem;
  return `${pkg}/${dirname(relPath)}/${stem.toLowerCase()}`;
}

export function hashUnit(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

export function splitOf(key: string): Split {
  const u = hashUnit(key);
  if (u < TRAIN_FRACTION) return 'train';
  if (u < TRAIN_FRACTION + WHITENING_FRACTION) return 'whitening';
  return 'eval';
}
