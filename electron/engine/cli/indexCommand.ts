// quari index --catalog F [--pack ID] [--nlist N] [--json]: builds (or rebuilds) the on-disk IVF index of one pack's
// embeddings beside the catalog, with progress on stderr. Searches use it from then on; images ingested later are
// searched exactly beside it until the next build (which ingest starts by itself: indexPolicy.ts). The build
// replaces the file atomically, so a search running meanwhile, or a crash, sees the old index or the new one.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { catalogDataDir } from '../catalogData.ts';
import { openCliCatalog } from './catalog.ts';
import { buildIvfIndex } from '../search/IvfIndex.ts';
import { ivfIndexPath } from '../search/SearchService.ts';
import { parse, positiveInt, requireString, type Command } from './args.ts';
import { choosePackId } from './openSearch.ts';

const usage = `Usage: quari index --catalog <file> [--pack <id>] [--nlist N] [--json]

Builds the on-disk stage-1 index (IVF lists of the region vectors) of the pack's embeddings next to the catalog,
printing progress on stderr. quari ingest (and the app's ingest) does this by itself from 50,000 images on and
rebuilds it as images are added; newer images are searched exactly beside the index meanwhile. Run it by hand on a
smaller catalog to search it through the index anyway (e.g. to measure the approximation's effect).
With --json: {"pack","file","images","rows","nlist","build_s"}.`;

export const indexCommand: Command = {
  synopsis: 'index --catalog F         build the on-disk search index of a catalog',
  usage,
  async run(argv) {
    const parsed = parse(argv, { catalog: { type: 'string' }, pack: { type: 'string' }, nlist: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const file = requireString(parsed.values.catalog, '--catalog');
    const nlist = positiveInt(parsed.values.nlist, '--nlist', 0);
    if (!existsSync(file)) throw new Error(`no catalog at ${file}`);
    const store = openCliCatalog(file, 'index');
    try {
      const packId = choosePackId(store, parsed.values.pack);
      const out = ivfIndexPath(catalogDataDir(file), packId);
      mkdirSync(dirname(out), { recursive: true });
      const started = performance.now();
      let lastPrint = 0;
      const header = await buildIvfIndex(store, packId, out, {
        ...(nlist > 0 ? { nlist } : {}),
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastPrint < 2000 && p.done !== p.total) return;
          lastPrint = now;
          console.error(`index ${packId}: ${p.phase} ${p.done}/${p.total} (${((now - started) / 1000).toFixed(0)} s)`);
        },
      });
      const buildS = (performance.now() - started) / 1000;
      const result = { pack: packId, file: out, images: header.images, rows: header.rows, nlist: header.nlist, build_s: +buildS.toFixed(1) };
      if (parsed.values.json) console.log(JSON.stringify(result));
      else console.log(`indexed ${header.images} images (${header.rows} vectors, ${header.nlist} lists) of ${packId} in ${buildS.toFixed(1)} s: ${out}`);
      return 0;
    } finally {
      store.close();
    }
  },
};
