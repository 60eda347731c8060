// How every CLI verb opens a catalog: as the examiner named by $QUARI_EXAMINER (else the catalog's stored examiner,
// else the OS user), with a 'catalog.opened' audit record naming the verb, so CLI work sits in the same hash-chained
// log as the app's.
import { openCatalog } from '../../../db/CatalogStore.ts';
import type { CatalogStore } from '../../../db/Interface.ts';

export function openCliCatalog(file: string, command: string): CatalogStore {
  const examiner = process.env.QUARI_EXAMINER;
  const store = openCatalog(file, examiner ? { examiner } : {});
  try {
    store.appendAudit('catalog.opened', { client: 'cli', command });
    return store;
  } catch (err) {
    store.close();
    throw err;
  }
}
