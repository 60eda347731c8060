// Child process for db-crash.test.ts and db-concurrency.test.ts: ingests N synthetic files the way the ingest writer
// does (pending row first, then image + embedding in one transaction), skipping files already done, until it finishes or is killed.
import { openCatalog } from '../../db/CatalogStore.ts';
import { embedding, ingested, rng } from '../unit/db-fixtures.ts';

const [file, countArg] = process.argv.slice(2);
const count = Number(countArg);
const store = openCatalog(file);
store.registerPack({ id: 'pack', version: '1', name: 'Pack', dim: 32, manifest: {} });
process.stdout.write('started\n');
for (let i = 0; i < count; i++) {
  const item = ingested(`/evidence/crash/${i}.jpg`, i, [embedding('pack', 'float16', 32, 1 + (i % 5), rng(i + 1))]);
  if (store.getImageByPath(item.path)?.status === 'ok') continue;
  store.upsertPendingImage(item);
  store.commitIngestedImage(item);
}
store.close();
process.stdout.write('finished\n');
