// quari search --catalog F --image P [--crop x,y,w,h]... [--mode baseline|adaptive] [--k K] [--verify-k K] [--top N]
//              [filters] [--stack-tier T] [--json]
import { resolve } from 'node:path';
import { KNOWN_FILTERS, type KnownFilter, type SearchFilter, type StackTier } from '../../shared/api.ts';
import { DEFAULT_K, DEFAULT_TOP, SEARCH_MODES, type SearchMode } from '../../shared/constants.ts';
import { DEFAULT_VERIFY_PARAMS } from '../verify/params.ts';
import { parse, parseBox, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { openSearch, parseIndexDtype } from './openSearch.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari search --catalog <file> --image <path> [--crop x,y,w,h]...
                    [--mode baseline|adaptive] [--k K] [--verify-k K] [--top N] [--pack <id>] [--index-dtype float16|float32]
                    [--folder DIR] [--captured-from T] [--captured-to T] [--camera-make S] [--camera-model S]
                    [--has-gps | --no-gps] [--case ID (--tagged | --untagged) [--category ID]]
                    [--known unknown|not-ignorable|of-interest]
                    [--stack-tier exact|perceptual|embedding|none] [--json]

Searches the catalog for images holding what the query shows. --crop (pixels of the query image, EXIF orientation
applied; repeat it for several regions) restricts the query to regions; with several, an image scores the mean of
its best match to each region. --mode adaptive (the default when the pack ships a QuARI checkpoint) rescores the
--k best images of the plain search (default ${DEFAULT_K}; 0 = the whole catalog) with QuARI; --top hits are printed
(default ${DEFAULT_TOP}). Then the --verify-k best hits (default ${DEFAULT_VERIFY_PARAMS.k}; 0 = off; single-region
queries) are verified geometrically: local features of the crop (and of its mirror image) matched in the hit and a
homography fitted; verified hits rank first by inliers and their box is the fitted outline's. The search and every
parameter are recorded in the catalog's history.

Filters apply inside the search, before --k and --top are cut: --folder (images at or below an absolute folder),
--captured-from/--captured-to (EXIF capture time, YYYY-MM-DD[THH[:MM[:SS]]], inclusive at the precision given),
--camera-make/--camera-model (case-insensitive substrings), --has-gps/--no-gps, --tagged/--untagged in --case
(optionally with --category), and --known (files in no hash set; hiding those only in ignorable sets such as
NSRL; only those in an of-interest set such as VICS). --stack-tier folds lower-ranked duplicates of a hit (see
quari dupes) under it (default none: every copy is a hit).
With --json each hit is one line:
{"rank","path","score","baselineScore","box","verification":{"status","inliers","quad"[,"mirrored":true][,"error"]}}
("mirrored": the crop was found mirrored left–right), plus, with a
--stack-tier, "stack": null or {"stackId","tier","size","folded":[image ids]}.`;

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
        folder: { type: 'string' },
        'captured-from': { type: 'string' },
        'captured-to': { type: 'string' },
        'camera-make': { type: 'string' },
        'camera-model': { type: 'string' },
        'has-gps': { type: 'boolean' },
        'no-gps': { type: 'boolean' },
        case: { type: 'string' },
        tagged: { type: 'boolean' },
        untagged: { type: 'boolean' },
        category: { type: 'string' },
        'stack-tier': { type: 'string' },
        known: { type: 'string' },
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
    const filter = parseFilter(values);
    const stackTier = values['stack-tier'] ?? 'none';
    if (!['exact', 'perceptual', 'embedding', 'none'].includes(stackTier)) throw new UsageError(`--stack-tier must be exact, perceptual, embedding or none, got "${stackTier}"`);
    const session = await openSearch(catalogFile, values.pack, parseIndexDtype(values['index-dtype']), 'search');
    try {
      const { service } = session;
      const mode = (values.mode as SearchMode | undefined) ?? (service.checkpointHash ? 'adaptive' : 'baseline');
      const result = await service.search(
        { imagePath, crops, mode, k, top, verify: { k: verifyK }, filter, stackTier: stackTier as StackTier | 'none' },
        { record: {} },
      );
      for (const hit of result.hits) {
        const box = [hit.box.x, hit.box.y, hit.box.w, hit.box.h];
        const v = hit.verification;
        const quad = v.quad ? v.quad.flatMap((p) => [Math.round(p.x), Math.round(p.y)]) : null;
        if (values.json) {
          const line = { rank: hit.rank, path: hit.path, score: hit.score, baselineScore: hit.baselineScore, box, verification: { status: v.status, inliers: v.inliers, quad, ...(v.mirrored ? { mirrored: true } : {}), ...(v.error ? { error: v.error } : {}) } };
          console.log(JSON.stringify(stackTier === 'none' ? line : { ...line, stack: hit.stack }));
        } else {
          const tag = v.status === 'verified' ? `verified${v.mirrored ? ' mirrored' : ''} ${v.inliers} inliers, quad ${quad!.join(',')}` : v.status;
          const stack = hit.stack ? `  (${hit.stack.tier} stack of ${hit.stack.size}, ${hit.stack.folded.length} folded)` : '';
          console.log(`${String(hit.rank).padStart(4)}  ${hit.score.toFixed(4)}  (baseline ${hit.baselineScore.toFixed(4)})  ${terminalSafe(hit.path)}  [${box.join(',')}]  ${tag}${stack}`);
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

function parseFilter(v: Record<string, string | boolean | (string | boolean)[] | undefined>): SearchFilter {
  const text = (flag: string) => (typeof v[flag] === 'string' ? (v[flag] as string) : undefined);
  const filter: SearchFilter = {};
  const folder = text('folder');
  if (folder !== undefined) filter.folderPrefix = resolve(folder);
  const from = text('captured-from');
  const to = text('captured-to');
  if (from !== undefined) filter.capturedFrom = from;
  if (to !== undefined) filter.capturedTo = to;
  const make = text('camera-make');
  const model = text('camera-model');
  if (make !== undefined) filter.cameraMake = make;
  if (model !== undefined) filter.cameraModel = model;
  const known = text('known');
  if (known !== undefined) {
    if (!(KNOWN_FILTERS as readonly string[]).includes(known)) throw new UsageError(`--known must be ${KNOWN_FILTERS.join(', ')}, got "${known}"`);
    filter.known = known as KnownFilter;
  }
  if (v['has-gps'] && v['no-gps']) throw new UsageError('--has-gps and --no-gps exclude each other');
  if (v['has-gps']) filter.hasGps = true;
  if (v['no-gps']) filter.hasGps = false;
  if (v.tagged && v.untagged) throw new UsageError('--tagged and --untagged exclude each other');
  const caseId = text('case');
  const category = text('category');
  if (v.tagged || v.untagged) {
    if (caseId === undefined) throw new UsageError(`--${v.tagged ? 'tagged' : 'untagged'} needs --case`);
    filter.tagged = { caseId: positiveId(caseId, '--case'), state: v.tagged ? 'tagged' : 'untagged', ...(category !== undefined ? { categoryId: positiveId(category, '--category') } : {}) };
  } else if (caseId !== undefined || category !== undefined) throw new UsageError('--case and --category filter only with --tagged or --untagged');
  return filter;
}

function positiveId(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer id, got "${value}"`);
  return n;
}
