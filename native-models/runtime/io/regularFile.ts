// Bounded reads of files that come from outside (model packs, QuARI checkpoints, hash sets from a USB stick; evidence
// images are read by images/decode.ts, which refuses with the same wording, notRegularFileMessage): only
// regular files are read (a FIFO, socket or device is refused at open, without blocking: O_NONBLOCK makes opening a
// FIFO return at once instead of waiting for a writer, so no thread of libuv's pool hangs), optionally no symbolic
// links (O_NOFOLLOW), and never more bytes than the caller's cap, checked on the open descriptor before anything is
// read.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export interface RegularFileOptions {
  /** Refuse the file when it is larger than this many bytes. */
  maxBytes: number;
  /** Refuse a symbolic link in the last path component (O_NOFOLLOW) instead of following it. */
  noFollow?: boolean;
}

const flags = (noFollow: boolean | undefined): number =>
  constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0);

/** What stat (or lstat) tells of a path's kind. */
export interface FileKind {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}

/** 'a FIFO', 'a folder', …: what a path is, for error messages. */
export function describeFileType(st: FileKind): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a device';
}

/**
 * The one wording, for every reader of outside files (packs, hash sets, evidence), of a path it refuses to read;
 * `what` is the path's kind as describeFileType words it.
 */
export function notRegularFileMessage(path: string, what: string): string {
  return `${path}: is ${what}; only regular files are accepted`;
}

function openError(path: string, err: NodeJS.ErrnoException, noFollow: boolean | undefined): Error {
  if (noFollow && err.code === 'ELOOP') return new Error(`${path}: is a symbolic link; only regular files are accepted`);
  if (err.code === 'ENOENT') return new Error(`${path}: no such file`);
  return new Error(`${path}: cannot be opened (${err.code ?? err.message})`);
}

function checkStats(path: string, st: Stats, maxBytes: number): void {
  if (!st.isFile()) throw new Error(notRegularFileMessage(path, describeFileType(st)));
  if (st.size > maxBytes) throw new Error(`${path}: ${st.size} bytes is more than the limit of ${maxBytes} bytes`);
}

/**
 * A read-only descriptor of a checked regular file of at most `maxBytes` (the caller closes it), and its size at
 * open: for readers that stream the file synchronously and must stop if it grows.
 */
export function openRegularFileSync(path: string, options: RegularFileOptions): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, flags(options.noFollow));
  } catch (err) {
    throw openError(path, err as NodeJS.ErrnoException, options.noFollow);
  }
  try {
    const st = fstatSync(fd);
    checkStats(path, st, options.maxBytes);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The whole file, read through one descriptor after checking it is a regular file of at most `maxBytes`. */
export function readRegularFileSync(path: string, options: RegularFileOptions): Buffer {
  const { fd, size } = openRegularFileSync(path, options);
  try {
    const buf = Buffer.allocUnsafe(size);
    let n = 0;
    while (n < size) {
      const got = readSync(fd, buf, n, size - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n !== size) throw new Error(`${path}: shrank from ${size} to ${n} bytes while being read`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** An open handle on a checked regular file (the caller closes it) and its size. */
export async function openRegularFile(path: string, options: RegularFileOptions): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags(options.noFollow));
  } catch (err) {
    throw openError(path, err as NodeJS.ErrnoException, options.noFollow);
  }
  try {
    const st = await handle.stat();
    checkStats(path, st, options.maxBytes);
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
