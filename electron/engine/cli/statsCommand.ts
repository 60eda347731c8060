// quari stats --catalog F [--json]
import { existsSync } from 'node:fs';
import { openCatalog } from '../../../db/CatalogStore.ts';
import { parse, requireString, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari stats --catalog <file> [--json]

Counts of the catalog: images, embeddings, failed files, and the model packs with their embedding counts.
With --json: {"images":n,"embeddings":n,"failed":n,"packs":[{"id","version","dim","embeddings"}],
"known":{"sets":n,"ignorable":n,"ofInterest":n,"unknown":n,"ofInterestByCategory":{category:n},"missingHashes":n}}:
images only in ignorable sets (NSRL), in of-interest sets (VICS, lists), in none; 'ok' images still lacking
MD5/SHA-1 (catalogued before them: the next ingest of their folder adds them).`;

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
      const known = { ...store.knownStats(), missingHashes: store.countImagesMissingHashes() };
      if (parsed.values.json) console.log(JSON.stringify({ images: s.images, embeddings: s.embeddings, failed: s.failed, packs, known }));
      else {
        console.log(`${s.images} images (${s.ok} ok, ${s.failed} failed, ${s.pending} pending), ${s.embeddings} embeddings`);
        console.log(`  known files: ${known.ignorable} ignorable, ${known.ofInterest} of interest, ${known.unknown} unknown (${known.sets} hash sets)`);
        for (const p of packs) console.log(`  ${terminalSafe(p.id)} v${terminalSafe(p.version)}: ${p.embeddings} embeddings of ${p.dim} dimensions`);
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
