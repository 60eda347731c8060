// Debian packages that supply freely licensed training/benchmark images, and where the local cache lives.
// The cache sits outside the repo so no image ever reaches git.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { splitOf, type Split } from './split.ts';

export type SourceRole = 'scene' | 'object';

export interface DebianSource {
  pkg: string;
  role: SourceRole;
  /** Only files under these extracted paths are used (the rest of a package is icons, UI chrome, code). */
  include: string[];
  /** Paths containing any of these substrings are skipped (thumbnails, icons, masks). */
  exclude?: string[];
  /**
   * 'cross': the whole package belongs to the cross-family benchmark of `npm run eval` (split 'cross', never the
   * hash split): no training, whitening or checkpoint selection ever reads it. 'extra': the whole package is split
   * 'train' (added training families; see below). Absent: the hash split of split.ts.
   */
  family?: 'cross' | 'extra';
}

/**
 * Reserved by the project for an independent evaluation: never fetched, catalogued, trained on or benchmarked
 * (tests/unit/training-sources.test.ts checks SOURCES against this list).
 */
export const RESERVED_PACKAGES: readonly RegExp[] = [/^wesnoth/, /^tuxpaint-stamps/, /^gcompris-qt-data$/, /^plasma-workspace-wallpapers$/, /^mate-backgrounds$/];

export const isReserved = (pkg: string): boolean => RESERVED_PACKAGES.some((r) => r.test(pkg));

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
  // Cross-family benchmark (family 'cross'): other artists, other object kinds, other photographers than anything above.
  // Listed last so catalog.ts's duplicate filter drops a cross image that repeats an earlier (training) one, never
  // the reverse. Why each is disjoint from training: README.md "Cross-family benchmark".
  { pkg: 'ukui-wallpapers', role: 'scene', family: 'cross', include: ['usr/share/backgrounds/'] },
  { pkg: 'palapeli-data', role: 'scene', family: 'cross', include: ['usr/share/palapeli/collection/', 'usr/share/palapeli/backgrounds/'] },
  { pkg: 'sway-backgrounds', role: 'scene', family: 'cross', include: ['usr/share/backgrounds/sway/'], exclude: ['Portrait', '1136x640', '1366x768', '768x1024', '1920x1080'] },
  { pkg: 'krita-data', role: 'scene', family: 'cross', include: ['usr/share/krita/patterns/'] },
  { pkg: 'tuxtype-data', role: 'scene', family: 'cross', include: ['usr/share/tuxtype/images/'] },
  { pkg: 'oxygen-icon-theme', role: 'object', family: 'cross', include: ['usr/share/icons/oxygen/base/256x256/'] },
  { pkg: 'lincity-ng-data', role: 'object', family: 'cross', include: ['usr/share/games/lincity-ng/images/tiles/'] },
  { pkg: 'freedroid-data', role: 'object', family: 'cross', include: ['usr/share/games/freedroid/graphics/'] },
  // More object families for training (family 'extra': the whole package is split train, so the hash splits above,
  // and with them the held-out benchmark, stay byte-identical). Listed after the cross-family packages: an image that
  // repeats a cross-family one is dropped here, never there. Game props and hats, bubbles and flags, and pingus'
  // ground pieces (photo-textured rock, wood, ice, crystal with alpha) — train.py can hold a family out
  // (--val-family) to select checkpoints on objects of a kind it never trained on.
  { pkg: 'hedgewars-data', role: 'object', family: 'extra', include: ['usr/share/games/hedgewars/Data/Graphics/Hats/', 'usr/share/games/hedgewars/Data/Graphics/Graves/', 'usr/share/games/hedgewars/Data/Themes/'], exclude: ['Sky', 'horizont', 'LandTex', 'LandBackTex', 'Border', 'icon', 'Water', 'Clouds', 'Splash', 'Droplet', 'Flake', 'Chunk'] },
  { pkg: 'frozen-bubble-data', role: 'object', family: 'extra', include: ['usr/share/games/frozen-bubble/gfx/'], exclude: ['pinguins', 'anims', 'font', 'back', 'intro'] },
  { pkg: 'pingus-data', role: 'object', family: 'extra', include: ['usr/share/games/pingus/data/images/groundpieces/', 'usr/share/games/pingus/data/images/worldobjs/'] },
  { pkg: 'lomiri-wallpapers-20.04', role: 'scene', family: 'extra', include: ['usr/share/backgrounds/'] },
];

/** The split of one image of `src` with grouping key `group`: whole-package families first, else the hash split. */
export function assignSplit(src: Pick<DebianSource, 'family'>, group: string): Split {
  return src.family === 'cross' ? 'cross' : src.family === 'extra' ? 'train' : splitOf(group);
}

export function cacheDir(): string {
  return process.env.QUARI_TRAINING_CACHE ?? join(homedir(), '.cache', 'quari-training');
}

export const debsDir = (): string => join(cacheDir(), 'debs');
export const extractDir = (pkg: string): string => join(cacheDir(), 'pkgs', pkg);
export const SOURCES_MANIFEST = 'sources.json';
export const CATALOG_FILE = 'catalog.json';
