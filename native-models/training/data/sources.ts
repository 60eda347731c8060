// Debian packages that supply freely licensed training/benchmark images, and where the local cache lives.
// The cache sits outside the repo so no image ever reaches git.
import { homedir } from 'node:os';
import { join } from 'node:path';

export type SourceRole = 'scene' | 'object';

export interface DebianSource {
  pkg: string;
  role: SourceRole;
  /** Only files under these extracted paths are used (the rest of a package is icons, UI chrome, code). */
  include: string[];
  /** Paths containing any of these substrings are skipped (thumbnails, icons, masks). */
  exclude?: string[];
}

export const SOURCES: DebianSource[] = [
  { pkg: 'endless-sky-high-dpi', role: 'scene', include: ['usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/'] },
  { pkg: 'kphotoalbum', role: 'scene', include: ['usr/share/kphotoalbum/demo/'], exclude: ['CategoryImages', 'qt-logo'] },
  { pkg: 'opencv-doc', role: 'scene', include: ['usr/share/doc/opencv-doc/examples/data/'], exclude: ['/dnn/', 'left0', 'left1', 'right0', 'right1', 'chessboard', 'digits', 'sudoku', 'gradient', 'Text', 'notes', 'logo', 'Logo', 'mask', 'detect_blob', 'ellipses', 'pic'] },
  { pkg: 'labelme-examples', role: 'scene', include: ['usr/share/doc/labelme-examples/examples/'], exclude: ['Segmentation', 'Visualization', 'Object', 'label.png', 'mask', '_viz', '.readme'] },
  { pkg: 'lomiri-wallpapers-16.04', role: 'scene', include: ['usr/share/backgrounds/'] },
  { pkg: 'python3-skimage', role: 'scene', include: ['usr/lib/python3/dist-packages/skimage/data/'], exclude: ['/tests/', 'chessboard', 'checker', 'text', 'page', 'palette', 'phantom', 'foo3', 'logo', 'binary', 'tiny', 'truncated', 'green_'] },
  { pkg: 'tuxpaint-data', role: 'scene', include: ['usr/share/tuxpaint/templates/'] },
  { pkg: 'scratch', role: 'scene', include: ['usr/share/scratch/Media/Backgrounds/'] },
  { pkg: 'gnome-backgrounds', role: 'scene', include: ['usr/share/backgrounds/'] },
  { pkg: 'openclipart-png', role: 'object', include: ['usr/share/openclipart/png/'] },
  { pkg: 'pysiogame', role: 'object', include: ['usr/share/games/pysiogame/'], exclude: ['/sounds/', '/locale/', 'fonts', 'bg', 'background', 'icon', 'logo', 'menu', 'btn', 'button'] },
];

export function cacheDir(): string {
  return process.env.QUARI_TRAINING_CACHE ?? join(homedir(), '.cache', 'quari-training');
}

export const debsDir = (): string => join(cacheDir(), 'debs');
export const extractDir = (pkg: string): string => join(cacheDir(), 'pkgs', pkg);
export const SOURCES_MANIFEST = 'sources.json';
export const CATALOG_FILE = 'catalog.json';
