// Minimal zip reader for torch.save archives. fflate's unzipSync silently clamps entries that run past the end of
// the buffer and copies every stored entry, so we walk the central directory ourselves: every entry is bounds-checked
// (a cut file is reported as truncated) and CRC-checked, and stored entries come back as views, not copies.
// Deflated entries are inflated only while their declared sizes fit the caller's budget, so a small archive cannot
// declare its way to gigabytes of output buffers.
import { crc32 } from 'node:zlib';
import { inflateSync } from 'fflate';

export interface ZipEntry {
  name: string;
  /** Entry bytes: a view into the archive buffer for stored entries, a fresh buffer for deflated ones. */
  data: Uint8Array;
}

const EOCD_SIG = 0x06054b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

/**
 * Reads every entry of the zip archive in `buf`. `file` only names the archive in error messages; `inflateBudget`
 * caps the total bytes deflated entries may inflate to.
 */
export function readZip(buf: Uint8Array, file: string, inflateBudget: number): Map<string, ZipEntry> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string): Error => new Error(`${file}: truncated or corrupt zip archive (${why})`);

  let eocd = -1;
  for (let p = buf.length - EOCD_MIN; p >= Math.max(0, buf.length - EOCD_MIN - MAX_COMMENT); p--) {
    if (view.getUint32(p, true) === EOCD_SIG) { eocd = p; break; }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new Error(`${file}: zip64 archives are not supported`);
  }
  if (cdOffset + cdSize > eocd) throw bad('central directory lies past its end record');

  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let p = cdOffset;
  let inflated = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CDIR_SIG) throw bad(`central directory entry ${i} is damaged`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const compSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const localOffset = view.getUint32(p + 42, true);
    const name = decoder.decode(buf.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;

    if (localOffset + 30 > buf.length || view.getUint32(localOffset, true) !== LOCAL_SIG) {
      throw bad(`local header of ${name} is missing`);
    }
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (start + compSize > buf.length) throw bad(`entry ${name} runs past the end of the file`);
    const raw = buf.subarray(start, start + compSize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      inflated += size;
      if (inflated > inflateBudget) {
        throw new Error(`${file}: entry ${name} would inflate the archive past ${inflateBudget} bytes (declared size ${size})`);
      }
      data = inflateSync(raw, { out: new Uint8Array(size) });
    }
    else throw new Error(`${file}: entry ${name} uses unsupported zip compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw bad(`entry ${name} fails its size/CRC check`);
    entries.set(name, { name, data });
  }
  return entries;
}
