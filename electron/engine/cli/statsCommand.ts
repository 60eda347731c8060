// quari stats --catalog F [--json]
import { existsSync } from 'node:fs';
import { openCatalog } from '../../../db/CatalogStore.ts';
import { parse, requireString, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari stats --catalog <file> [--json]

Counts of the catalog: images, embeddings, failed files, and the model packs with their embedding counts.
With --json: {"images":n,"embeddings":n,"failed":n,"packs":[{"id","version","dim","embeddings"}]}.`;

export const statsCommand: Command = {
  synopsis: 'stats --catalog F         counts of a catalog',
  usage,
  async run(argv) {
    const parsed = parse(argv, { catalog: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const file = requireString(parsed.values.catalog, '--catalog');
    if (!existsSync(file)) throw new Error(`no catalog at ${file}`);
    const store = openCatalog(file);
    try {
      const s = store.stats();
      const packs = s.packs.map((p) => ({ id: p.id, version: p.version, dim: p.dim, embeddings: p.embeddings }));
      if (parsed.values.json) console.log(JSON.stringify({ images: s.images, embeddings: s.embeddings, failed: s.failed, packs }));
      else {
        console.log(`${s.images} images (${s.ok} ok, ${s.failed} failed, ${s.pending} pending), ${s.embeddings} embeddings`);
        for (const p of packs) console.log(`  ${terminalSafe(p.id)} v${terminalSafe(p.version)}: ${p.embeddings} embeddings of ${p.dim} dimensions`);
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
