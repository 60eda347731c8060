// Path containment, the one definition: media served by both hosts, the web host's static files, case exports.
// Media decisions are made on real paths (symlinks resolved on both the file and the roots), so neither `..`
// segments nor a symlink planted inside an evidence folder can reach a file outside the catalog's data folder or
// a registered evidence root; and checked again on the open descriptor (openedOutside, openServableFile), so a file
// or folder swapped between the check and the open is refused. Node code: hosts and engine import it, the renderer
// never does.
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

type PathApi = Pick<typeof path, 'isAbsolute' | 'relative' | 'resolve' | 'sep'>;

/**
 * True when `child` lies strictly inside `parent`. Both must be absolute and already normalised the way the
 * caller wants them compared (real paths for files on disk). `pathApi` is path.win32 or path.posix (default:
 * the host's); Windows comparisons are case-insensitive and never cross drives.
 */
export function isPathInside(child: string, parent: string, pathApi: PathApi = path): boolean {
  if (!child || !parent || child.includes('\0') || parent.includes('\0')) return false;
  if (!pathApi.isAbsolute(child) || !pathApi.isAbsolute(parent)) return false;
  const rel = pathApi.relative(pathApi.resolve(parent), pathApi.resolve(child));
  if (rel === '' || pathApi.isAbsolute(rel)) return false;
  const first = rel.split(pathApi.sep, 1)[0];
  return first !== '..';
}

/** True when `child` is `parent` itself or lies inside it (lexically, after resolving both against the cwd). */
export function isSameOrInside(child: string, parent: string): boolean {
  const c = path.resolve(child);
  const p = path.resolve(parent);
  return c === p || isPathInside(c, p);
}

/**
 * Checks that the file open on `handle` lies inside `root` (a real path), on the descriptor rather than on a path, so
 * nothing swapped between a caller's containment check and its open — a folder on the way replaced by a link out
 * of `root` — goes unnoticed (O_NOFOLLOW guards only the last component). Two checks: where the OS names an open
 * descriptor's file (Linux /proc/self/fd) that name must lie inside `root`, which is exact; everywhere, the real
 * path `path` has now must lie inside `root` and name the same file (device and inode) as the descriptor.
 * Resolves to null when inside, else to why not.
 */
export async function openedOutside(handle: FileHandle, path: string, root: string): Promise<string | null> {
  const opened = await fsp.readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
  if (opened !== null && !isPathInside(opened, root)) return `the opened file is ${opened}`;
  let real: string;
  try {
    real = await fsp.realpath(path);
  } catch (err) {
    return `it no longer resolves (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (!isPathInside(real, root)) return `it now resolves to ${real}`;
  const [held, named] = await Promise.all([handle.stat(), fsp.stat(real).catch(() => null)]);
  if (named === null || named.dev !== held.dev || named.ino !== held.ino) return `the opened file is not the one ${real} names`;
  return null;
}

export type ServableFile = { ok: true; realPath: string; root: string } | { ok: false; reason: 'invalid' | 'missing' | 'outside' | 'not-a-file' };

/**
 * Resolves `candidate` to its real path and accepts it only if that is a regular file strictly inside the real
 * path of one of `roots`. Roots that do not exist are ignored. Never throws for a bad candidate.
 */
export async function resolveServableFile(candidate: string, roots: readonly string[]): Promise<ServableFile> {
  if (typeof candidate !== 'string' || candidate === '' || candidate.includes('\0') || !path.isAbsolute(candidate)) {
    return { ok: false, reason: 'invalid' };
  }
  let realPath: string;
  try {
    realPath = await fsp.realpath(candidate);
  } catch {
    return { ok: false, reason: 'missing' };
  }
  const realRoots: string[] = [];
  for (const root of roots) {
    if (typeof root !== 'string' || !path.isAbsolute(root)) continue;
    try {
      realRoots.push(await fsp.realpath(root));
    } catch {
      // An evidence drive that is not mounted right now serves nothing.
    }
  }
  const root = realRoots.find((r) => isPathInside(realPath, r));
  if (root === undefined) return { ok: false, reason: 'outside' };
  try {
    if (!(await fsp.stat(realPath)).isFile()) return { ok: false, reason: 'not-a-file' };
  } catch {
    return { ok: false, reason: 'missing' };
  }
  return { ok: true, realPath, root };
}

export type OpenedServableFile =
  | { ok: true; realPath: string; handle: FileHandle; size: number; mtimeMs: number }
  | { ok: false; reason: 'invalid' | 'missing' | 'outside' | 'not-a-file' };

/**
 * resolveServableFile, then the file itself opened O_NOFOLLOW|O_NONBLOCK and checked on its descriptor: a regular
 * file inside the same root (openedOutside). So an evidence file swapped after the check for a FIFO (which would
 * hold a libuv thread on a blocking open), a device, a link, or a folder on its way for a link out of the root, is
 * refused, never read or waited on. The caller reads through `handle` and closes it.
 */
export async function openServableFile(candidate: string, roots: readonly string[]): Promise<OpenedServableFile> {
  const checked = await resolveServableFile(candidate, roots);
  if (!checked.ok) return checked;
  let handle: FileHandle;
  try {
    handle = await fsp.open(checked.realPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  } catch {
    return { ok: false, reason: 'missing' };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      return { ok: false, reason: 'not-a-file' };
    }
    if (await openedOutside(handle, checked.realPath, checked.root)) {
      await handle.close();
      return { ok: false, reason: 'outside' };
    }
    return { ok: true, realPath: checked.realPath, handle, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    await handle.close();
    return { ok: false, reason: 'missing' };
  }
}
