// Lists the candidate image files under an evidence folder. Read-only; symlinked directories are never followed
// (those inside the root are walked anyway, those outside it are not the analyst's selection, and either can loop).
import type { Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { describeFileType } from '../../../native-models/runtime/io/regularFile.ts';
import { IMAGE_EXTENSIONS } from '../images/decode.ts';

export interface WalkEntry {
  path: string;
  /** A symlink is followed when the file is read; a broken one becomes a recorded failure. */
  kind: 'file' | 'symlink' | 'special';
}

export interface WalkResult {
  entries: WalkEntry[];
  /** Folders that could not be listed. */
  errors: { path: string; error: string }[];
}

/** Every file with an image extension under `root` (absolute, resolved), depth first in name order. */
export async function walkImages(
  root: string,
  options: { signal?: AbortSignal; onEntry?: (count: number) => void } = {},
): Promise<WalkResult> {
  const entries: WalkEntry[] = [];
  const errors: WalkResult['errors'] = [];
  const stack = [root];
  while (stack.length > 0) {
    if (options.signal?.aborted) break;
    const dir = stack.pop()!;
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      errors.push({ path: dir, error: (err as Error).message });
      continue;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const d of dirents) {
      const path = join(dir, d.name);
      if (d.isDirectory()) {
        subdirs.push(path);
        continue;
      }
      if (!IMAGE_EXTENSIONS.has(extname(d.name).toLowerCase())) continue;
      if (d.isFile()) entries.push({ path, kind: 'file' });
      else if (d.isSymbolicLink()) {
        if (await isDirectoryTarget(path)) continue;
        entries.push({ path, kind: 'symlink' });
      } else entries.push({ path, kind: 'special' });
    }
    // Reverse so that popping visits subfolders in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    options.onEntry?.(entries.length);
  }
  return { entries, errors };
}

async function isDirectoryTarget(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * stat through symlinks; for a broken or looping link, the link's own lstat plus the error; null when the path
 * no longer exists at all.
 */
export async function statEntry(
  path: string,
): Promise<{ size: number; mtimeMs: number; isFile: boolean; error: Error | null; describe: string } | null> {
  try {
    const st = await stat(path);
    return { size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile(), error: null, describe: describeFileType(st) };
  } catch (err) {
    try {
      const l = await lstat(path);
      return { size: l.size, mtimeMs: l.mtimeMs, isFile: false, error: err as Error, describe: describeFileType(l) };
    } catch {
      return null;
    }
  }
}
