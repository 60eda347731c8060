// Opens a hash-set file for the synchronous readers, through the shared bounded open (native-models/runtime/io/
// regularFile.ts): the readers run on the host's main thread, so a FIFO handed over as a hash set must be refused
// at open without blocking (O_NONBLOCK), and the descriptor itself must be a regular file (so a file swapped for a
// FIFO or device after an earlier check is refused too). The size at open bounds what the readers read: a file
// that grows while it is read (appended to without end) is refused instead of read for ever.
import { openRegularFileSync } from '../../../native-models/runtime/io/regularFile.ts';

/**
 * Largest hash-set file accepted: far above any NSRL RDS or VICS publication, so a path to a disk image or a
 * device-sized file is refused before hours of hashing.
 */
export const HASH_SET_MAX_BYTES = 2 ** 40;

/** A read-only descriptor of the hash-set file and its size at open; throws naming the file for anything else. */
export function openHashSetFile(file: string): { fd: number; size: number } {
  return openRegularFileSync(file, { maxBytes: HASH_SET_MAX_BYTES });
}

/** Throws when `total` bytes were read from a file that had `size` at open. */
export function checkWithinSize(file: string, total: number, size: number): void {
  if (total > size) throw new Error(`${file} grew while it was read (more than the ${size} bytes it had when opened)`);
}
