// Opens a hash-set file for the synchronous readers. A plain open of a FIFO blocks until a writer appears, and the
// readers run on the host's main thread, so a FIFO handed over as a hash set would freeze the whole app: every open
// is O_NONBLOCK and the descriptor must be a regular file (checked on the descriptor itself, so a file swapped for a
// FIFO or device after an earlier check is refused too).
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { describeFileType } from '../images/decode.ts';

/** A read-only descriptor of the regular file `file`; throws naming the file for anything else. */
export function openRegularFile(file: string): number {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new Error(`${file} is not a regular file but ${describeFileType(st)}; a hash set is read from a file`);
  }
  return fd;
}
