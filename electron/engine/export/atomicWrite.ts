// Writes every export file (the app's exports folder and `quari case export --out`): the bytes go to a temporary
// file in the target's folder (opened O_EXCL|O_NOFOLLOW, so no planted file or link is followed), are fsync'd,
// renamed over the final name and the folder fsync'd. A full disk or a crash mid-write leaves at most a `.tmp`
// (removed on failure), never a truncated report under its final name (issue 11.1: ENOSPC used to leave a
// 307,200-byte .html). In the exports folder the name is also checked to be one plain file name inside the
// folder's real path.
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import { QuariApiError } from '../../shared/api.ts';
import { isPathInside } from '../../shared/paths.ts';

/** The fs calls the writer makes; tests may wrap them, production passes node:fs. */
export type AtomicFs = Pick<
  typeof nodeFs,
  'mkdirSync' | 'realpathSync' | 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'
>;

/** One file name: letters, digits, '.', '_' and '-', not starting with a dot, at most 200 characters. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * Writes `content` to `<dir>/<fileName>` atomically and durably; returns the final path. Throws QuariApiError
 * 'bad-request' for a name that is not one plain file name inside `dir`, 'unavailable' when the disk refuses.
 */
export function writeFileAtomic(dir: string, fileName: string, content: string | Uint8Array, fs: AtomicFs = nodeFs): string {
  if (!FILE_NAME.test(fileName) || fileName.includes('..')) {
    throw new QuariApiError('bad-request', `export file name ${JSON.stringify(fileName.slice(0, 100))} is not a plain file name`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const realDir = fs.realpathSync(dir);
  const target = path.resolve(realDir, fileName);
  if (!isPathInside(target, realDir) || path.dirname(target) !== realDir) {
    throw new QuariApiError('bad-request', `export file ${fileName} would lie outside the exports folder ${realDir}`);
  }
  writeFileDurably(target, content, fs);
  return target;
}

/**
 * Writes `content` to `target` (an absolute path whose folder exists) through a temporary file, fsync and
 * rename; throws QuariApiError 'unavailable' naming the file and the system's error code when the disk refuses.
 */
export function writeFileDurably(target: string, content: string | Uint8Array, fs: AtomicFs = nodeFs): void {
  const fileName = path.basename(target);
  const folder = path.dirname(target);
  const temp = path.join(folder, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  let fd: number | null = null;
  try {
    fd = fs.openSync(temp, nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT | nodeFs.constants.O_EXCL | (nodeFs.constants.O_NOFOLLOW ?? 0), 0o644);
    for (let offset = 0; offset < bytes.byteLength; ) offset += fs.writeSync(fd, bytes, offset, bytes.byteLength - offset);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temp, target);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    const e = err as NodeJS.ErrnoException;
    throw new QuariApiError('unavailable', `writing export ${fileName} failed (${e.code ?? e.message}); nothing was written under that name`);
  }
  // The rename is durable only once the folder's entry is on disk.
  const dirFd = fs.openSync(folder, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
