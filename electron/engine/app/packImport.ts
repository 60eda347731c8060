// Importing a model pack into the user's pack folder and recording it in a catalog's audit log ('pack.imported'):
// one definition for `quari pack import --catalog F` and the app's Import pack, so both write the same record. A pack
// folder is shared by every catalog of the data home, so the record goes to the catalog the import was made from;
// each catalog also records 'pack.registered' (with the same manifest hash) when it first uses the pack.
import { resolve } from 'node:path';
import { canonicalSha256 } from '../../../db/audit.ts';
import type { CatalogStore } from '../../../db/Interface.ts';
import type { PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';

/** What the audit record says about an imported pack: enough to tell exactly which build was installed, from where. */
export function packImportRecord(pack: VerifiedPack, sourceDir: string): Record<string, unknown> {
  const m = pack.manifest;
  const weights = m.quariCheckpoint ? m.files[`${m.quariCheckpoint}/weights.pt`] : undefined;
  return {
    packId: m.id,
    version: m.version,
    name: m.name,
    source: sourceDir,
    installedAt: pack.dir,
    manifestSha256: canonicalSha256(m),
    checkpointSha256: weights?.sha256 ?? null,
    files: Object.keys(m.files).length,
  };
}

/** Verifies and installs the pack at `sourceDir`, then appends its 'pack.imported' record to `store`'s log. */
export async function importPackAudited(registry: PackRegistry, store: CatalogStore, sourceDir: string): Promise<VerifiedPack> {
  const pack = await registry.import(sourceDir);
  store.appendAudit('pack.imported', packImportRecord(pack, resolve(sourceDir)));
  return pack;
}
