// The model packs a catalog's vectors were made with: id, version, dim, the manifest (for provenance) and the
// encoder fingerprint that makes a pack id immutable in a catalog; and how many embeddings each pack has. Plain functions taking the database
// (CatalogStore delegates here); schema in migrations/001_initial.ts and 005_run_owner_pack_fingerprint.ts.
import { canonicalSha256 } from './audit.ts';
import { now, sql, type Db } from './connection.ts';
import { CatalogError } from './errors.ts';
import type { PackInput, PackRow } from './Interface.ts';
import { audited } from './session.ts';

const PACK_COLUMNS = `id, version, name, dim, manifest, fingerprint, registered_at AS registeredAt`;

type PackDbRow = Omit<PackRow, 'manifest' | 'fingerprint'> & { manifest: string; fingerprint: string | null };

function packFromDb({ fingerprint, ...r }: PackDbRow): PackRow {
  return { ...r, manifest: JSON.parse(r.manifest) as unknown, ...(fingerprint === null ? {} : { fingerprint }) };
}

/** SHA-256 of a pack manifest's canonical JSON: names exactly which pack build a search used. */
export function manifestHash(manifest: unknown): string | null {
  return manifest === null || manifest === undefined ? null : canonicalSha256(manifest);
}

/** Inserts or refreshes a pack (audited); refuses another encoder under a stored id, or a new dim once it has embeddings. */
export function registerPack(db: Db, file: string, pack: PackInput): PackRow {
  if (typeof pack.id !== 'string' || pack.id === '') throw new CatalogError('invalid', 'id', 'registerPack: id must be a non-empty string');
  if (!Number.isSafeInteger(pack.dim) || pack.dim < 1) throw new CatalogError('invalid', 'dim', `registerPack(${pack.id}): invalid dim ${pack.dim}`);
  const manifest = JSON.stringify(pack.manifest);
  if (manifest === undefined) throw new CatalogError('invalid', 'manifest', `registerPack(${pack.id}): manifest is not JSON-serialisable`);
  if (pack.fingerprint !== undefined && !/^[0-9a-f]{64}$/.test(pack.fingerprint)) {
    throw new CatalogError('invalid', 'fingerprint', `registerPack(${pack.id}): fingerprint must be 64 hex digits`);
  }
  return audited(db, 'pack.registered', () => {
    const existing = getPack(db, pack.id);
    if (existing?.fingerprint !== undefined && pack.fingerprint !== undefined && existing.fingerprint !== pack.fingerprint) {
      throw new CatalogError(
        'conflict',
        'fingerprint',
        `model pack "${pack.id}" is already in catalog ${file} with another encoder (fingerprint ` +
          `${existing.fingerprint.slice(0, 12)}…, this pack's is ${pack.fingerprint.slice(0, 12)}…); a pack id is immutable ` +
          'in a catalog, so vectors of two encoders never mix: give the new pack a new id',
      );
    }
    if (existing && existing.dim !== pack.dim && countEmbeddings(db, pack.id) > 0) {
      throw new CatalogError(
        'conflict',
        'dim',
        `registerPack(${pack.id}): dim ${pack.dim} differs from the catalogued ${existing.dim} and the pack has embeddings; ` +
          'give the new pack a new id',
      );
    }
    sql(db, `INSERT INTO model_packs (id, version, name, dim, manifest, fingerprint, registered_at)
      VALUES (@id, @version, @name, @dim, @manifest, @fingerprint, @registeredAt)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name, dim = excluded.dim,
        manifest = excluded.manifest, fingerprint = coalesce(excluded.fingerprint, fingerprint)`).run({
      id: pack.id,
      version: pack.version,
      name: pack.name,
      dim: pack.dim,
      manifest,
      fingerprint: pack.fingerprint ?? null,
      registeredAt: now(),
    });
    return getPack(db, pack.id)!;
  }, (row) => ({ packId: row.id, version: row.version, fingerprint: row.fingerprint ?? null, manifestSha256: manifestHash(row.manifest) }));
}

export function getPack(db: Db, id: string): PackRow | undefined {
  const r = sql(db, `SELECT ${PACK_COLUMNS} FROM model_packs WHERE id = ?`).get(id) as PackDbRow | undefined;
  return r && packFromDb(r);
}

export function listPacks(db: Db): PackRow[] {
  return (sql(db, `SELECT ${PACK_COLUMNS} FROM model_packs ORDER BY id`).all() as PackDbRow[]).map(packFromDb);
}

/** The registered dim of `packId`, without parsing its manifest (this runs once per ingested embedding). */
export function packDim(db: Db, what: string, packId: string): number {
  const dim = sql(db, `SELECT dim FROM model_packs WHERE id = ?`).pluck().get(packId) as number | undefined;
  if (dim === undefined) throw new CatalogError('not-found', 'packId', `${what}: model pack '${packId}' is not registered in the catalog`);
  return dim;
}

/** Embeddings stored for one pack, or for all. */
export function countEmbeddings(db: Db, packId?: string): number {
  return (
    packId === undefined
      ? sql(db, `SELECT count(*) FROM embeddings`).pluck().get()
      : sql(db, `SELECT count(*) FROM embeddings WHERE pack_id = ?`).pluck().get(packId)
  ) as number;
}
