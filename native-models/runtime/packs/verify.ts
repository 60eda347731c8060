// Pack verification: a pack is trusted only after its manifest parses, every listed file is a regular file (no
// symbolic link anywhere in its path, no FIFO or device) of exactly its listed size and SHA-256, and its QuARI
// checkpoint, if any, passes the bounded checkpoint reader (so a pack carrying a hostile weights.pt is refused here,
// not at search time). Limits: manifest.json ≤ MANIFEST_MAX_BYTES, ≤ MAX_PACK_FILES files, each ≤ PACK_FILE_MAX_BYTES.
import { createHash } from 'node:crypto';
import { constants, lstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { openRegularFile, readRegularFileSync } from '../io/regularFile.ts';
import { readQuariCheckpoint } from '../quari/checkpoint/index.ts';
import { MANIFEST_FILE, MANIFEST_SCHEMA, type PackManifest } from './manifest.ts';

/** The default pack's manifest is 74 KB (measurements included); 1 MiB is read in a few ms on every load. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;
/** A pack is an encoder, a projection, a checkpoint and a few small files. */
export const MAX_PACK_FILES = 256;
/** 4 GiB per file: a ViT-L/14 image tower in float32 is 1.2 GB. */
export const PACK_FILE_MAX_BYTES = 4 * 1024 ** 3;

export class PackError extends Error {
  constructor(
    readonly packDir: string,
    /** What is wrong, without the pack's folder (so an import can name its source for a fault found in its copy). */
    readonly detail: string,
  ) {
    super(`model pack ${packDir}: ${detail}`);
    this.name = 'PackError';
  }
}

export interface VerifiedPack {
  dir: string;
  manifest: PackManifest;
}

/** SHA-256 of a regular file of at most `maxBytes` (O_NONBLOCK: a FIFO is refused at once, never waited on). */
export async function sha256File(path: string, maxBytes = PACK_FILE_MAX_BYTES): Promise<string> {
  const { handle } = await openRegularFile(path, { maxBytes });
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * Refuses a symbolic link in any component of `path` below `packDir` (O_NOFOLLOW guards only the last one): a
 * linked file or folder would make verification read, and import copy, something outside the pack.
 */
function checkNoLinks(packDir: string, path: string): void {
  const parts = path.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    let st;
    try {
      st = lstatSync(join(packDir, sub));
    } catch {
      throw new PackError(packDir, `missing file ${path}`);
    }
    if (st.isSymbolicLink()) throw new PackError(packDir, `${sub} is a symbolic link; pack files must be regular files inside the pack`);
  }
}

/** Reads and checks the manifest's shape; throws a PackError naming the field at fault. */
export function readManifest(packDir: string): PackManifest {
  return parseManifest(packDir, readManifestBytes(packDir));
}

/** manifest.json's bytes: a regular file (no link, FIFO or device) of at most MANIFEST_MAX_BYTES. */
export function readManifestBytes(packDir: string): Buffer {
  const file = join(packDir, MANIFEST_FILE);
  try {
    return readRegularFileSync(file, { maxBytes: MANIFEST_MAX_BYTES, noFollow: true });
  } catch (err) {
    throw new PackError(packDir, (err as Error).message.includes('no such file') ? `missing ${MANIFEST_FILE}` : (err as Error).message);
  }
}

/** Checks the shape of manifest bytes already read; throws a PackError naming the field at fault. */
export function parseManifest(packDir: string, bytes: Buffer): PackManifest {
  const text = bytes.toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PackError(packDir, `${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const fail = (field: string, want: string): never => {
    throw new PackError(packDir, `${MANIFEST_FILE}: field "${field}" must be ${want}`);
  };
  const m = raw as Record<string, any>;
  if (typeof m !== 'object' || m === null) fail('(root)', 'an object');
  if (m.schema !== MANIFEST_SCHEMA) fail('schema', `${MANIFEST_SCHEMA}`);
  for (const key of ['id', 'version', 'name', 'licence', 'descriptor'] as const) {
    if (typeof m[key] !== 'string' || m[key].length === 0) fail(key, 'a non-empty string');
  }
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(m.id)) fail('id', 'lowercase letters, digits, ".", "_" or "-"');
  if (!Number.isInteger(m.embeddingDim) || m.embeddingDim <= 0) fail('embeddingDim', 'a positive integer');
  const image = m.image;
  if (typeof image !== 'object' || image === null) fail('image', 'an object');
  for (const key of ['model', 'inputName', 'featureMapOutput'] as const) {
    if (typeof image[key] !== 'string') fail(`image.${key}`, 'a string');
  }
  if (!Number.isInteger(image.featureChannels)) fail('image.featureChannels', 'an integer');
  if (typeof image.gemP !== 'number' || image.gemP < 1) fail('image.gemP', 'a number ≥ 1');
  const pre = image.preprocessing;
  if (typeof pre !== 'object' || pre === null) fail('image.preprocessing', 'an object');
  if (!isSize(pre.inputSize)) fail('image.preprocessing.inputSize', '[width, height] of positive integers');
  if (pre.resize !== 'squash' && pre.resize !== 'center-crop') fail('image.preprocessing.resize', '"squash" or "center-crop"');
  if (typeof pre.scale !== 'number') fail('image.preprocessing.scale', 'a number');
  if (!isTriple(pre.mean)) fail('image.preprocessing.mean', 'three numbers');
  if (!isTriple(pre.std) || pre.std.some((s: number) => s === 0)) fail('image.preprocessing.std', 'three non-zero numbers');
  if (pre.channelOrder !== 'RGB' && pre.channelOrder !== 'BGR') fail('image.preprocessing.channelOrder', '"RGB" or "BGR"');
  if (pre.layout !== 'NHWC' && pre.layout !== 'NCHW') fail('image.preprocessing.layout', '"NHWC" or "NCHW"');
  if (m.regions !== undefined) {
    const r = m.regions;
    if (r.kind !== 'feature-map-windows') fail('regions.kind', '"feature-map-windows"');
    if (!isSize(r.inputSize)) fail('regions.inputSize', '[width, height] of positive integers');
    if (!Number.isInteger(r.windowCells) || r.windowCells <= 0) fail('regions.windowCells', 'a positive integer');
    if (!Number.isInteger(r.strideCells) || r.strideCells <= 0) fail('regions.strideCells', 'a positive integer');
  }
  if (m.projection !== undefined) {
    const p = m.projection;
    if (typeof p.meanFile !== 'string' || typeof p.matrixFile !== 'string') fail('projection.meanFile/matrixFile', 'strings');
    if (p.inputDim !== image.featureChannels) fail('projection.inputDim', `image.featureChannels (${image.featureChannels})`);
    if (p.outputDim !== m.embeddingDim) fail('projection.outputDim', `embeddingDim (${m.embeddingDim})`);
  } else if (m.embeddingDim !== image.featureChannels) {
    fail('embeddingDim', `image.featureChannels (${image.featureChannels}) when there is no projection`);
  }
  if (m.content !== undefined) {
    if (!Array.isArray(m.content.labels) || !Array.isArray(m.content.explicitLabels)) fail('content', '{labels, explicitLabels}');
    if (typeof image.contentScoresOutput !== 'string') fail('image.contentScoresOutput', 'a string when content is set');
  }
  if (typeof m.files !== 'object' || m.files === null || Array.isArray(m.files)) fail('files', 'an object of {path: {sha256, bytes}}');
  if (Object.keys(m.files).length > MAX_PACK_FILES) fail('files', `at most ${MAX_PACK_FILES} entries`);
  for (const [path, entry] of Object.entries(m.files as Record<string, any>)) {
    if (!isInsidePack(packDir, path) || path === MANIFEST_FILE) fail(`files["${path}"]`, 'a path inside the pack folder other than manifest.json');
    if (typeof entry?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256)) fail(`files["${path}"].sha256`, '64 hex digits');
    if (!Number.isInteger(entry.bytes) || entry.bytes < 0 || entry.bytes > PACK_FILE_MAX_BYTES) {
      fail(`files["${path}"].bytes`, `a byte count of at most ${PACK_FILE_MAX_BYTES}`);
    }
  }
  const referenced = [image.model, m.projection?.meanFile, m.projection?.matrixFile];
  for (const path of referenced) {
    if (path !== undefined && !(path in m.files)) fail('files', `to list "${path}", which the manifest refers to`);
  }
  if (m.quariCheckpoint !== undefined) {
    for (const f of ['config.yml', 'weights.pt']) {
      const path = `${m.quariCheckpoint}/${f}`;
      if (!(path in m.files)) fail('files', `to list "${path}" (quariCheckpoint)`);
    }
  }
  return m as PackManifest;
}

/**
 * Full verification: manifest shape; every file a regular file reached without links, of its listed size and
 * SHA-256; then the QuARI checkpoint through the bounded reader, which must match the pack's dimension.
 */
export async function verifyPack(packDir: string): Promise<VerifiedPack> {
  const dir = resolve(packDir);
  const manifest = readManifest(dir);
  for (const [path, entry] of Object.entries(manifest.files)) await readPackFile(dir, path, entry);
  verifyCheckpoint(dir, manifest);
  return { dir, manifest };
}

/** Bytes read per call when copying a pack file. */
const COPY_CHUNK = 1024 * 1024;

/**
 * Reads one listed pack file through a single descriptor — reached without links, a regular file (O_NONBLOCK: a
 * FIFO is refused at once), of exactly its listed size — never past that size, checking its SHA-256. With `copyTo`
 * the same bytes are written to a new file there (O_EXCL|O_NOFOLLOW: nothing pre-placed is kept or followed), so
 * what an import copies is what it verified: a file swapped for a FIFO or another file after a check is either
 * refused at the open or never read.
 */
export async function readPackFile(dir: string, path: string, entry: { sha256: string; bytes: number }, copyTo?: string): Promise<void> {
  checkNoLinks(dir, path);
  const file = join(dir, path);
  let handle;
  let size: number;
  try {
    ({ handle, size } = await openRegularFile(file, { maxBytes: PACK_FILE_MAX_BYTES, noFollow: true }));
  } catch (err) {
    throw new PackError(dir, `file ${path}: ${(err as Error).message.replace(`${file}: `, '')}`);
  }
  let out: FileHandle | undefined;
  try {
    if (size !== entry.bytes) throw new PackError(dir, `file ${path} has ${size} bytes, manifest says ${entry.bytes}`);
    if (copyTo !== undefined) out = await open(copyTo, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(size, 1)));
    // never past the size checked above, even if the file grows meanwhile
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - offset), offset);
      if (bytesRead === 0) throw new PackError(dir, `file ${path} shrank while being read (${offset} of ${size} bytes)`);
      const piece = buf.subarray(0, bytesRead);
      hash.update(piece);
      if (out) await out.write(piece, 0, bytesRead, offset);
      offset += bytesRead;
    }
    const digest = hash.digest('hex');
    if (digest !== entry.sha256) throw new PackError(dir, `checksum mismatch for ${path}: sha256 ${digest}, manifest says ${entry.sha256}`);
    if (out) await out.sync();
  } finally {
    await out?.close();
    await handle.close();
  }
}

/** The pack's QuARI checkpoint, if any, through the bounded reader: it must load and match the pack's dimension. */
function verifyCheckpoint(dir: string, manifest: PackManifest): void {
  if (manifest.quariCheckpoint !== undefined) {
    let dim: number;
    try {
      dim = readQuariCheckpoint(join(dir, manifest.quariCheckpoint)).hparams.embeddingDim;
    } catch (err) {
      throw new PackError(dir, `QuARI checkpoint ${manifest.quariCheckpoint} is refused: ${(err as Error).message}`);
    }
    if (dim !== manifest.embeddingDim) {
      throw new PackError(dir, `QuARI checkpoint ${manifest.quariCheckpoint} has embedding_dim ${dim}, the pack's embeddingDim is ${manifest.embeddingDim}`);
    }
  }
}

function isInsidePack(packDir: string, path: string): boolean {
  const root = resolve(packDir);
  return !path.startsWith('/') && resolve(root, path).startsWith(root + sep);
}

function isSize(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n) && n > 0);
}

function isTriple(v: unknown): v is [number, number, number] {
  return Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
}
