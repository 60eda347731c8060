// quari eval --catalog F --queries queries.json [--top 100] [--k K] [--verify-k K] [--nprobe N] [--json]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { evalFeedback } from '../eval/feedbackEval.ts';
import { dividerSummary, summarise, type RetrievalSummary } from '../eval/metrics.ts';
import type { Box } from '../../shared/api.ts';
import { LIKELY_MIN_INLIERS, likelyMatchCount } from '../../shared/likelyMatches.ts';
import { DEFAULT_VERIFY_PARAMS, verifyParams } from '../verify/params.ts';
import { parse, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { openSearch, parseIndexDtype } from './openSearch.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari eval --catalog <file> --queries <queries.json> [--top 100] [--k K] [--verify-k K] [--pack <id>] [--nprobe N] [--feedback] [--json]

queries.json is a list of {"image": path, "crop": [x,y,w,h] or null, "relevant": [paths]}, paths relative to the
JSON file. Each query is searched in three modes, with the query's own image excluded from its ranking:
"baseline" (cosine over the region index), "adaptive" (QuARI rescoring, when the pack ships a checkpoint) and
"verified" (the full default pipeline: adaptive, or baseline without a checkpoint, then geometric verification of
the --verify-k best hits, default ${DEFAULT_VERIFY_PARAMS.k}). Prints
{"queries":n,"baseline":{"mAP@100","R@1","R@10","R@100"},"adaptive":{...},"verified":{...},"verifyMsMean":ms,
"verifyParams":{...},"divider":{...}}: AP over the first --top ranks, normalised by min(|relevant|, top); R@k = share of
the relevant images in the first k; verifyMsMean = the mean time verification added per query; divider = what the
results grid's "likely matches" line (after the leading hits of the verified mode verified with at least
${LIKELY_MIN_INLIERS} inliers) is worth: hits above it per query, the share of queries with any, their precision, the
precision of the model's ranking cut at the same depth, and the share of the relevant images above it; the same
for other inlier bars under "divider.byMinInliers" (what the bar was chosen on).
--feedback adds "feedback": one simulated round of relevance feedback (the relevant images among the first 10 are
marked, the rest of the 10 marked not relevant, the search runs again) in the best mode, for both ways of joining the
marked regions to the query: {"mode","reviewed":10,"regions":{...},"queries":{...}}.
--nprobe sets how many IVF lists stage 1 reads where the catalog has an on-disk index (quari index; default: a
32nd of the lists, at least 48), to measure what the approximation costs against the exact scan of a catalog
without one.`;

interface EvalQuery {
  image: string;
  crop: [number, number, number, number] | null;
  relevant: string[];
}

export function readEvalQueries(file: string): EvalQuery[] {
  if (!existsSync(file)) throw new Error(`no queries file at ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${file} must hold a non-empty list of queries`);
  const base = dirname(resolve(file));
  return raw.map((q, i) => {
    const where = `${file}: query ${i}`;
    if (typeof q?.image !== 'string') throw new Error(`${where}: "image" must be a path`);
    if (q.crop !== null && !(Array.isArray(q.crop) && q.crop.length === 4 && q.crop.every((n: unknown) => typeof n === 'number' && Number.isFinite(n)))) {
      throw new Error(`${where}: "crop" must be [x,y,w,h] or null`);
    }
    if (!Array.isArray(q.relevant) || q.relevant.length === 0 || !q.relevant.every((p: unknown) => typeof p === 'string')) {
      throw new Error(`${where}: "relevant" must be a non-empty list of paths`);
    }
    return { image: resolve(base, q.image), crop: q.crop, relevant: q.relevant.map((p: string) => resolve(base, p)) };
  });
}

export const evalCommand: Command = {
  synopsis: 'eval --catalog F --queries Q.json   mAP@100 and recall of baseline vs adaptive search',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      { catalog: { type: 'string' }, queries: { type: 'string' }, top: { type: 'string' }, k: { type: 'string' }, 'verify-k': { type: 'string' }, pack: { type: 'string' }, nprobe: { type: 'string' }, 'index-dtype': { type: 'string' }, feedback: { type: 'boolean' }, json: { type: 'boolean' } },
      usage,
    );
    if (!parsed) return 0;
    const { values } = parsed;
    const queries = readEvalQueries(requireString(values.queries, '--queries'));
    const cutoff = positiveInt(values.top, '--top', 100) || 100;
    const k = positiveInt(values.k, '--k', 1000);
    const verify = verifyParams({ k: positiveInt(values['verify-k'], '--verify-k', DEFAULT_VERIFY_PARAMS.k) });
    const nprobe = values.nprobe === undefined ? undefined : positiveInt(values.nprobe, '--nprobe', 0);
    if (nprobe !== undefined && nprobe < 1) throw new UsageError('--nprobe must be at least 1');
    const session = await openSearch(requireString(values.catalog, '--catalog'), values.pack, parseIndexDtype(values['index-dtype']), 'eval', nprobe);
    try {
      const { store, service } = session;
      const modelModes = service.checkpointHash ? (['baseline', 'adaptive'] as const) : (['baseline'] as const);
      const modes = [...modelModes, 'verified'] as const;
      const rankings: Record<string, { ranked: string[]; relevant: Set<string> }[]> = { baseline: [], adaptive: [], verified: [] };
      // The likely-matches line at the product's bar and at the others it was chosen among (none below minInliers:
      // hits under it are not verified at all).
      const bars = [...new Set([LIKELY_MIN_INLIERS, 20, 25, 30, 40, 50, 60])].filter((b) => b >= verify.minInliers || b === LIKELY_MIN_INLIERS).sort((a, b) => a - b);
      const divider = new Map(bars.map((b) => [b, [] as { ranked: string[]; likely: number; reference: string[]; relevant: Set<string> }[]]));
      let verifyMs = 0;
      const missing = new Set<string>();
      for (const [i, q] of queries.entries()) {
        for (const p of q.relevant) if (!store.getImageByPath(p)) missing.add(p);
        const crops: Box[] = q.crop ? [{ x: q.crop[0], y: q.crop[1], w: q.crop[2], h: q.crop[3] }] : [];
        const vectors = await service.queryVectors({ imagePath: q.image, crops });
        const own = store.getImageByPath(q.image);
        for (const mode of modes) {
          const model = mode === 'verified' ? modelModes[modelModes.length - 1]! : mode;
          const result = await service.search(
            { imagePath: q.image, crops, mode: model, k, top: Math.max(cutoff, 100), verify: mode === 'verified' ? verify : { k: 0 } },
            { record: false, vectors, excludeImageIds: own ? [own.id] : [] },
          );
          rankings[mode]!.push({ ranked: result.hits.map((h) => h.path), relevant: new Set(q.relevant) });
          if (mode === 'verified') {
            verifyMs += result.verification?.ms ?? 0;
            for (const [bar, lines] of divider) {
              lines.push({ ranked: result.hits.map((h) => h.path), likely: likelyMatchCount(result.hits, bar), reference: rankings[model]!.at(-1)!.ranked, relevant: new Set(q.relevant) });
            }
          }
        }
        if (process.stderr.isTTY) process.stderr.write(`\rquery ${i + 1}/${queries.length}`);
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (missing.size > 0) console.error(`warning: ${missing.size} relevant images are not in the catalog (they count as not found)`);
      const report = {
        queries: queries.length,
        baseline: summarise(rankings.baseline!, cutoff),
        adaptive: modelModes.length === 2 ? summarise(rankings.adaptive!, cutoff) : null,
        verified: summarise(rankings.verified!, cutoff),
        verifyMsMean: +(verifyMs / queries.length).toFixed(1),
        verifyParams: verify,
        divider: {
          minInliers: LIKELY_MIN_INLIERS,
          ...dividerSummary(divider.get(LIKELY_MIN_INLIERS)!),
          byMinInliers: bars.map((minInliers) => ({ minInliers, ...dividerSummary(divider.get(minInliers)!) })),
        },
      } satisfies { queries: number; baseline: RetrievalSummary; adaptive: RetrievalSummary | null; verified: RetrievalSummary; verifyMsMean: number; verifyParams: object; divider: object };
      const feedback = values.feedback
        ? await evalFeedback(service, store, queries.map((q) => ({ image: q.image, crops: q.crop ? [{ x: q.crop[0], y: q.crop[1], w: q.crop[2], h: q.crop[3] }] : [], relevant: new Set(q.relevant) })), { mode: modelModes.at(-1)!, k, cutoff })
        : undefined;
      if (!report.adaptive) console.error(`pack ${terminalSafe(service.packId)} has no QuARI checkpoint: adaptive figures are null`);
      if (values.json) console.log(JSON.stringify(feedback ? { ...report, feedback } : report));
      else {
        for (const mode of modes) {
          const s = report[mode]!;
          console.log(`${mode.padEnd(9)} mAP@100 ${s['mAP@100'].toFixed(4)}  R@1 ${s['R@1'].toFixed(4)}  R@10 ${s['R@10'].toFixed(4)}  R@100 ${s['R@100'].toFixed(4)}`);
        }
        if (feedback) {
          for (const strategy of ['regions', 'queries'] as const) {
            const s = feedback[strategy];
            console.log(`feedback ${strategy.padEnd(7)} (${feedback.mode}) mAP@100 ${s['mAP@100'].toFixed(4)}  R@1 ${s['R@1'].toFixed(4)}  R@10 ${s['R@10'].toFixed(4)}  R@100 ${s['R@100'].toFixed(4)}`);
          }
        }
        console.log(`${queries.length} queries; verification added ${report.verifyMsMean} ms per query on average (K = ${verify.k})`);
        const d = report.divider;
        const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
        for (const b of d.byMinInliers) {
          const mark = b.minInliers === d.minInliers ? ' (the line)' : '';
          console.log(`likely-matches divider at ≥ ${b.minInliers} inliers${mark}: ${b.likelyPerQuery.toFixed(2)} hits per query (${pct(b.queriesWithLikely)} of queries have one); ${pct(b.precision)} of them relevant (the unverified ranking cut at the same depth: ${pct(b.referencePrecision)}); ${pct(b.recall)} of the relevant images above it`);
        }
      }
      return 0;
    } finally {
      await session.close();
    }
  },
};
