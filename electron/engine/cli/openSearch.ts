// Shared by `quari search` and `quari eval`: open a catalog and the search service for the pack it was built with.
import { existsSync } from 'node:fs';
import { catalogDataDir } from '../catalogData.ts';
import type { CatalogStore } from '../../../db/Interface.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import { ivfIndexPath, SearchService } from '../search/SearchService.ts';
import type { IndexDtype } from '../search/VectorIndex.ts';
import { openCliCatalog } from './catalog.ts';

/** The pack to search with: the one asked for, else the only pack with embeddings, else the default pack. */
export function choosePackId(store: CatalogStore, requested: string | undefined): string {
  if (requested) return requested;
  const withEmbeddings = store.stats().packs.filter((p) => p.embeddings > 0);
  if (withEmbeddings.length === 1) return withEmbeddings[0]!.id;
  if (withEmbeddings.length > 1) throw new Error(`the catalog holds embeddings of several packs (${withEmbeddings.map((p) => p.id).join(', ')}); choose one with --pack`);
  return DEFAULT_PACK_ID;
}

export async function openSearch(catalogFile: string, packId: string | undefined, indexDtype: IndexDtype, command: string, nprobe?: number) {
  if (!existsSync(catalogFile)) throw new Error(`no catalog at ${catalogFile}`);
  const store = openCliCatalog(catalogFile, command);
  try {
    const pack = await new PackRegistry().load(choosePackId(store, packId));
    const indexFile = ivfIndexPath(catalogDataDir(catalogFile), pack.manifest.id);
    const service = await SearchService.open(store, pack, { indexDtype, indexFile, nprobe });
    if (service.indexWarning) console.error(`warning: ${service.indexWarning}`);
    if (service.imageCount === 0) throw new Error(`the catalog has no embeddings of pack ${pack.manifest.id}; run quari ingest first`);
    return { store, service, close: async () => { await service.close(); store.close(); } };
  } catch (err) {
    store.close();
    throw err;
  }
}

export function parseIndexDtype(value: unknown): IndexDtype {
  if (value === undefined || value === 'float16' || value === 'float32') return value ?? 'float16';
  throw new Error(`--index-dtype must be float16 or float32, got "${value}"`);
}
