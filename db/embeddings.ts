// The catalog's embeddings: one row per (image, pack) holding the whole-image and region vectors (float16 or
// float32 BLOBs, little-endian), their boxes and content scores, and the columnar bulk loads search builds its
// index from. Plain functions taking the database (CatalogStore delegates here); schema in migrations/001_initial.ts.
import type Database from 'better-sqlite3';
import { checkId, checkRange, now, read, sql, type Db } from './connection.ts';
import { CatalogError, onConstraint } from './errors.ts';
import type { EmbeddingInput, EmbeddingRow, LoadedEmbeddings, LoadEmbeddingsOptions } from './Interface.ts';
import { packDim } from './packs.ts';

const EMBEDDING_COLUMNS = `image_id, pack_id, n_vectors, dim, dtype, explicit_score, content_scores, created_at,
  boxes, vectors`;

type EmbeddingDbRow = {
  image_id: number;
  pack_id: string;
  n_vectors: number;
  dim: number;
  dtype: 'float16' | 'float32';
  explicit_score: number | null;
  content_scores: string | null;
  created_at: string;
  boxes: Buffer;
  vectors: Buffer;
};
type LoadSummary = { count: number; total: number; minDtype: string | null; maxDtype: string | null; minDim: number; maxDim: number };

function bytesOf(a: Float32Array | Uint16Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies a BLOB into a fresh, aligned typed array (a Buffer's byteOffset need not be aligned). */
function copyFloat32(buf: Buffer): Float32Array {
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function copyUint16(buf: Buffer): Uint16Array {
  const out = new Uint16Array(buf.byteLength / 2);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function checkEmbedding(what: string, e: EmbeddingInput, dim: number): void {
  const where = `${what} (pack ${e.packId})`;
  const invalid = (field: string, message: string) => new CatalogError('invalid', field, `${where}: ${message}`);
  if (!Number.isSafeInteger(e.nVectors) || e.nVectors < 1) throw invalid('nVectors', `invalid nVectors ${e.nVectors}`);
  if (e.dim !== dim) throw invalid('dim', `dim ${e.dim} does not match the pack's dim ${dim}`);
  const expectedType = e.dtype === 'float32' ? Float32Array : e.dtype === 'float16' ? Uint16Array : null;
  if (expectedType === null) throw invalid('dtype', `unknown dtype '${String(e.dtype)}'`);
  if (!(e.vectors instanceof expectedType)) throw invalid('vectors', `${e.dtype} vectors must be a ${expectedType.name}`);
  if (e.vectors.length !== e.nVectors * e.dim) {
    throw invalid('vectors', `vectors has ${e.vectors.length} values, expected nVectors × dim = ${e.nVectors * e.dim}`);
  }
  if (!(e.boxes instanceof Float32Array) || e.boxes.length !== e.nVectors * 4) {
    throw invalid('boxes', `boxes must be a Float32Array of nVectors × 4 = ${e.nVectors * 4} values`);
  }
  for (let i = 0; i < e.boxes.length; i++) {
    const v = e.boxes[i];
    if (!(v >= 0 && v <= 1)) throw invalid('boxes', `box value ${v} (row ${i >> 2}) is outside [0, 1]`);
  }
  if (e.boxes[0] !== 0 || e.boxes[1] !== 0 || e.boxes[2] !== 1 || e.boxes[3] !== 1) {
    throw invalid('boxes', 'box row 0 must be the whole image (0, 0, 1, 1)');
  }
  if (e.contentScores !== null) {
    if (!Array.isArray(e.contentScores) || e.contentScores.some((s) => !(Number.isFinite(s) && s >= 0 && s <= 1))) {
      throw invalid('contentScores', 'contentScores must be null or an array of probabilities in [0, 1]');
    }
  }
  checkRange(where, 'explicitScore', e.explicitScore, 0, 1);
}

/** Inserts or replaces the (image, pack) embedding. */
export function putEmbedding(db: Db, imageId: number, embedding: EmbeddingInput): void {
  checkId('putEmbedding', imageId);
  checkEmbedding(`putEmbedding(${imageId})`, embedding, packDim(db, 'putEmbedding', embedding.packId));
  writeEmbedding(db, imageId, embedding, now());
}

/** Writes an embedding checkEmbedding has passed. */
export function writeEmbedding(db: Db, imageId: number, e: EmbeddingInput, createdAt: string): void {
  onConstraint(
    'FOREIGNKEY',
    'imageId',
    () => `putEmbedding: no image with id ${imageId}`,
    () =>
      sql(db, `INSERT OR REPLACE INTO embeddings (${EMBEDDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        imageId,
        e.packId,
        e.nVectors,
        e.dim,
        e.dtype,
        e.explicitScore,
        e.contentScores === null ? null : JSON.stringify(e.contentScores),
        createdAt,
        bytesOf(e.boxes),
        bytesOf(e.vectors),
      ),
  );
}

export function getEmbedding(db: Db, imageId: number, packId: string): EmbeddingRow | undefined {
  const r = sql(db, `SELECT ${EMBEDDING_COLUMNS} FROM embeddings WHERE image_id = ? AND pack_id = ?`).get(imageId, packId) as EmbeddingDbRow | undefined;
  if (!r) return undefined;
  const common = {
    imageId: r.image_id,
    packId: r.pack_id,
    nVectors: r.n_vectors,
    dim: r.dim,
    boxes: copyFloat32(r.boxes),
    contentScores: r.content_scores === null ? null : (JSON.parse(r.content_scores) as number[]),
    explicitScore: r.explicit_score,
    createdAt: r.created_at,
  };
  return r.dtype === 'float32'
    ? { ...common, dtype: 'float32', vectors: copyFloat32(r.vectors) }
    : { ...common, dtype: 'float16', vectors: copyUint16(r.vectors) };
}

/** Columnar bulk load in image-id order from one consistent snapshot; all rows of a pack must share a dtype. */
export function loadEmbeddings(db: Db, packId: string, options?: LoadEmbeddingsOptions): LoadedEmbeddings {
  const dim = packDim(db, 'loadEmbeddings', packId);
  const after = options?.afterImageId ?? 0;
  const limit = options?.limit ?? -1; // SQLite: a negative LIMIT means none
  if (!Number.isSafeInteger(after) || after < 0) throw new CatalogError('invalid', 'afterImageId', `loadEmbeddings(${packId}): invalid afterImageId ${after}`);
  if (!Number.isSafeInteger(limit) || (options?.limit !== undefined && limit < 0)) {
    throw new CatalogError('invalid', 'limit', `loadEmbeddings(${packId}): invalid limit ${options?.limit}`);
  }
  const summary = sql(db, `SELECT count(*) AS count, coalesce(sum(n_vectors), 0) AS total, min(dtype) AS minDtype,
      max(dtype) AS maxDtype, min(dim) AS minDim, max(dim) AS maxDim
      FROM (SELECT n_vectors, dtype, dim FROM embeddings WHERE pack_id = ? AND image_id > ? ORDER BY image_id LIMIT ?)`);
  const rows = sql(db, `SELECT image_id, n_vectors, explicit_score, boxes, vectors FROM embeddings
      WHERE pack_id = ? AND image_id > ? ORDER BY image_id LIMIT ?`).raw(true);
  return collectEmbeddings(db, 'loadEmbeddings', packId, dim, [packId, after, limit], summary, rows);
}

/** The ids of the images with an embedding of the pack, ascending: the primary key alone, no vector is read. */
export function embeddedImageIds(db: Db, packId: string): Uint32Array {
  packDim(db, 'embeddedImageIds', packId);
  const ids = sql(db, `SELECT image_id FROM embeddings WHERE pack_id = ? ORDER BY image_id`).pluck().all(packId) as number[];
  return Uint32Array.from(ids);
}

/** The embeddings of the given images (ascending id; images without one are left out): stage 2 over a disk index. */
export function loadEmbeddingsOf(db: Db, packId: string, imageIds: readonly number[]): LoadedEmbeddings {
  const dim = packDim(db, 'loadEmbeddingsOf', packId);
  for (const id of imageIds) {
    if (!Number.isSafeInteger(id) || id < 1) throw new CatalogError('invalid', 'imageIds', `loadEmbeddingsOf(${packId}): invalid image id ${id}`);
  }
  // The candidates' rows by primary key (a JSON array of ids).
  const summary = sql(db, `SELECT count(*) AS count, coalesce(sum(n_vectors), 0) AS total, min(dtype) AS minDtype,
      max(dtype) AS maxDtype, min(dim) AS minDim, max(dim) AS maxDim
      FROM embeddings WHERE pack_id = ? AND image_id IN (SELECT value FROM json_each(?))`);
  const rows = sql(db, `SELECT image_id, n_vectors, explicit_score, boxes, vectors FROM embeddings
      WHERE pack_id = ? AND image_id IN (SELECT value FROM json_each(?)) ORDER BY image_id`).raw(true);
  return collectEmbeddings(db, 'loadEmbeddingsOf', packId, dim, [packId, JSON.stringify(imageIds)], summary, rows);
}

/** Sizes, then copies, the selected embeddings into typed arrays (one read transaction: one snapshot for both). */
function collectEmbeddings(
  db: Db,
  fn: string,
  packId: string,
  dim: number,
  params: unknown[],
  summary: Database.Statement,
  rowsStatement: Database.Statement,
): LoadedEmbeddings {
  return read(db, (): LoadedEmbeddings => {
    const sum = summary.get(...params) as LoadSummary;
    if (sum.count > 0 && sum.minDtype !== sum.maxDtype) {
      throw new Error(`${fn}(${packId}): the pack's embeddings mix float16 and float32; re-embed one of them`);
    }
    if (sum.count > 0 && (sum.minDim !== dim || sum.maxDim !== dim)) {
      throw new Error(`${fn}(${packId}): stored dims ${sum.minDim}..${sum.maxDim} differ from the pack's ${dim}`);
    }
    const dtype = (sum.minDtype ?? 'float32') as 'float16' | 'float32';
    const imageIds = new Uint32Array(sum.count);
    const offsets = new Uint32Array(sum.count + 1);
    const boxes = new Float32Array(sum.total * 4);
    const explicitScores = new Float32Array(sum.count);
    const vectors = dtype === 'float32' ? new Float32Array(sum.total * dim) : new Uint16Array(sum.total * dim);
    const boxBytes = new Uint8Array(boxes.buffer);
    const vecBytes = new Uint8Array(vectors.buffer);
    let i = 0;
    let row = 0;
    let vecByte = 0;
    for (const r of rowsStatement.iterate(...params) as IterableIterator<[number, number, number | null, Buffer, Buffer]>) {
      imageIds[i] = r[0];
      offsets[i] = row;
      explicitScores[i] = r[2] ?? NaN;
      boxBytes.set(r[3], row * 16);
      vecBytes.set(r[4], vecByte);
      vecByte += r[4].byteLength;
      row += r[1];
      i++;
    }
    offsets[i] = row;
    if (i !== sum.count || row !== sum.total) {
      throw new Error(`${fn}(${packId}): catalog changed during the load (${i}/${sum.count} images)`);
    }
    const common = { packId, dim, count: i, totalVectors: row, imageIds, offsets, boxes, explicitScores };
    return vectors instanceof Float32Array ? { ...common, dtype: 'float32', vectors } : { ...common, dtype: 'float16', vectors };
  });
}
