// Opens a hash-set file for the synchronous readers. A plain open of a FIFO blocks until a writer appears, and the
// readers run on the host's main thread, so a FIFO handed over as a hash set would freeze the whole app: every open
// is O_NONBLOCK and the descriptor must be a regular file (checked on the descriptor itself, so a file swapped for a
// FIFO or device after an earlier check is refused too). The size at open bounds what the readers read: a file
// that grows while it is read (appended to without end) is refused instead of read for ever.
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { describeFileType } from '../images/decode.ts';

/**
 * Largest hash-set file accepted: far above any NSRL RDS or VICS publication, so a path to a disk image or a
 * device-sized file is refused before hours of hashing.
 */
export const HASH_SET_MAX_BYTES = 2 ** 40;

/** A read-only descriptor of the regular file `file` and its size; throws naming the file for anything else. */
export function openRegularFile(file: string): { fd: number; size: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const st = fstatSync(fd);
  if (!st.isFile() || st.size > HASH_SET_MAX_BYTES) {
    closeSync(fd);
    throw new Error(
      st.isFile()
        ? `${file} is ${st.size} bytes, more than the ${HASH_SET_MAX_BYTES} bytes a hash set may have`
        : `${file} is not a regular file but ${describeFileType(st)}; a hash set is read from a file`,
    );
  }
  return { fd, size: st.size };
}

/** Throws when `total` bytes were read from a file that had `size` at open. */
export function checkWithinSize(file: string, total: number, size: number): void {
  if (total > size) throw new Error(`${file} grew while it was read (more than the ${size} bytes it had when opened)`);
}
