// quari search --catalog F --image P [--crop x,y,w,h]... [--mode baseline|adaptive] [--k K] [--verify-k K] [--top N] [--json]
import { resolve } from 'node:path';
import { DEFAULT_K, DEFAULT_TOP, SEARCH_MODES, type SearchMode } from '../../shared/constants.ts';
import { DEFAULT_VERIFY_PARAMS } from '../verify/params.ts';
import { parse, parseBox, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { openSearch, parseIndexDtype } from './openSearch.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari search --catalog <file> --image <path> [--crop x,y,w,h]...
                    [--mode baseline|adaptive] [--k K] [--verify-k K] [--top N] [--pack <id>] [--index-dtype float16|float32] [--json]

Searches the catalog for images holding what the query shows. --crop (pixels of the query image, EXIF orientation
applied; repeat it for several regions) restricts the query to regions; with several, an image scores the mean of
its best match to each region. --mode adaptive (the default when the pack ships a QuARI checkpoint) rescores the
--k best images of the plain search (default ${DEFAULT_K}; 0 = the whole catalog) with QuARI; --top hits are printed
(default ${DEFAULT_TOP}). Then the --verify-k best hits (default ${DEFAULT_VERIFY_PARAMS.k}; 0 = off; single-region
queries) are verified geometrically: local features of the crop matched in the hit and a homography fitted; verified
hits rank first by inliers and their box is the fitted outline's. The search and every parameter are recorded in the
catalog's history. With --json each hit is one line:
{"rank","path","score","baselineScore","box","verification":{"status","inliers","quad"[,"error"]}}.`;

export const searchCommand: Command = {
  synopsis: 'search --catalog F --image P   find images holding a query region',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      {
        catalog: { type: 'string' },
        image: { type: 'string' },
        crop: { type: 'string', multiple: true },
        mode: { type: 'string' },
        k: { type: 'string' },
        'verify-k': { type: 'string' },
        top: { type: 'string' },
        pack: { type: 'string' },
        'index-dtype': { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (!parsed) return 0;
    const { values } = parsed;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    const catalogFile = requireString(values.catalog, '--catalog');
    const imagePath = resolve(requireString(values.image, '--image'));
    const crops = (values.crop ?? []).map((c) => parseBox(c, '--crop'));
    if (values.mode !== undefined && !(SEARCH_MODES as readonly string[]).includes(values.mode)) {
      throw new UsageError(`--mode must be ${SEARCH_MODES.join(' or ')}, got "${values.mode}"`);
    }
    const k = positiveInt(values.k, '--k', DEFAULT_K);
    const top = positiveInt(values.top, '--top', DEFAULT_TOP);
    const verifyK = positiveInt(values['verify-k'], '--verify-k', DEFAULT_VERIFY_PARAMS.k);
    if (top === 0) throw new UsageError('--top must be at least 1');
    const session = await openSearch(catalogFile, values.pack, parseIndexDtype(values['index-dtype']));
    try {
      const { service } = session;
      const mode = (values.mode as SearchMode | undefined) ?? (service.checkpointHash ? 'adaptive' : 'baseline');
      const result = await service.search(
        { imagePath, crops, mode, k, top, verify: { k: verifyK } },
        { record: {} },
      );
      for (const hit of result.hits) {
        const box = [hit.box.x, hit.box.y, hit.box.w, hit.box.h];
        const v = hit.verification;
        const quad = v.quad ? v.quad.flatMap((p) => [Math.round(p.x), Math.round(p.y)]) : null;
        if (values.json) {
          console.log(JSON.stringify({ rank: hit.rank, path: hit.path, score: hit.score, baselineScore: hit.baselineScore, box, verification: { status: v.status, inliers: v.inliers, quad, ...(v.error ? { error: v.error } : {}) } }));
        } else {
          const tag = v.status === 'verified' ? `verified ${v.inliers} inliers, quad ${quad!.join(',')}` : v.status;
          console.log(`${String(hit.rank).padStart(4)}  ${hit.score.toFixed(4)}  (baseline ${hit.baselineScore.toFixed(4)})  ${terminalSafe(hit.path)}  [${box.join(',')}]  ${tag}`);
        }
      }
      if (!values.json) {
        console.error(
          `${mode} search #${result.searchId} over ${service.imageCount} images (stage 1: ${service.stage1Kind}): ${result.hits.length} hits, ${result.candidates} candidates, ${result.durationMs.toFixed(0)} ms` +
            (result.verification ? `; verified ${result.verification.verified} of ${result.verification.checked} in ${result.verification.ms.toFixed(0)} ms` : ''),
        );
        for (const f of result.verification?.failed ?? []) console.error(terminalSafe(`verification could not read ${f.path}: ${f.error}`));
      }
      return 0;
    } finally {
      await session.close();
    }
  },
};
