// Selection of stage 3's parameters (electron/engine/verify/params.ts) on a benchmark's crop queries: stages 1–2
// run once per query (the default pipeline's model mode, k = 1000), then stage 3 re-verifies the same top K under
// each candidate configuration. Every candidate's inlier count is kept, so the acceptance threshold (minInliers) is
// swept for free: a hit with n inliers is verified under threshold t exactly when n ≥ t (the fit does not depend
// on t once matches ≥ 4). Prints one JSON line per (configuration, minInliers): mAP@100, R@1, R@10, R@100 and the
// CPU-ms per candidate, and how many relevant (truePositives) and non-relevant (falsePositives) hits verified — the
// precision of the likely-matches line at that threshold. Run it on the held-out benchmark (training families) only:
// the cross-family benchmark is the reported figure and never selects anything.
//   node --import tsx native-models/tools/training/verify/sweep.ts --catalog C --queries Q.json [--queries Q2.json]
//        --config '{"candidateFeatures":1000}' [--config …] [--thresholds 8,10,12,15,20] [--limit N]
//        [--boxes boxes.json] [--negatives N]
// With --negatives N, stage 3 checks only the relevant hits of the top K and N of its other hits (evenly spaced in
// rank), ≈ 8× less work on a machine shared by many: the unchecked hits count as unverified, so mAP@100 is then an
// optimistic estimate, and the line also says how many checked non-relevant hits verified (false positives).
// With --boxes (the generator's record of every pasted box), each configuration also prints where the relevant hits
// in the top K were lost: the share whose object lies (≥ 90 % of its box) inside the candidate region stage 3
// searched, and how many of those and of the rest verified at the default threshold.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { readEvalQueries } from '../../../../electron/engine/cli/evalCommand.ts';
import { openSearch } from '../../../../electron/engine/cli/openSearch.ts';
import { summarise } from '../../../../electron/engine/eval/metrics.ts';
import type { Hit } from '../../../../electron/engine/search/SearchService.ts';
import { verifyParams, type VerifyParams } from '../../../../electron/engine/verify/params.ts';
import { candidateRegion, NOT_CHECKED, queryGray, verifyHits } from '../../../../electron/engine/verify/stage.ts';
import { VerifyPool } from '../../../../electron/engine/verify/VerifyPool.ts';

const { values } = parseArgs({
  options: {
    catalog: { type: 'string' },
    queries: { type: 'string', multiple: true },
    config: { type: 'string', multiple: true },
    thresholds: { type: 'string', default: '6,8,10,12,15,20,25' },
    limit: { type: 'string' },
    boxes: { type: 'string' },
    negatives: { type: 'string' },
  },
});
if (!values.catalog || !values.queries?.length) throw new Error('--catalog and --queries are required');
const queries = values.queries.flatMap((f) => readEvalQueries(f)).slice(0, values.limit ? Number(values.limit) : undefined);
const configs = (values.config ?? ['{}']).map((c) => verifyParams({ ...JSON.parse(c), minInliers: 4 }));
const thresholds = values.thresholds!.split(',').map(Number);
const negatives = values.negatives === undefined ? Infinity : Number(values.negatives);
const DEFAULT_MIN_INLIERS = verifyParams().minInliers;
/** Target box [x, y, w, h] in pixels by image file name, from the generator's boxes.json. */
const targets = new Map<string, number[]>(
  values.boxes
    ? (JSON.parse(readFileSync(values.boxes, 'utf8')) as { images: { file: string; target?: { box: number[] } }[] }).images
        .filter((i) => i.target)
        .map((i) => [basename(i.file), i.target!.box])
    : [],
);
/** Per configuration: relevant head hits whose object the candidate region covers / does not, and how many verified. */
const where = configs.map(() => ({ covered: 0, coveredVerified: 0, missed: 0, missedVerified: 0 }));

const session = await openSearch(values.catalog, undefined, 'float16', 'eval');
const pool = await VerifyPool.open(2);
try {
  const { store, service } = session;
  const mode = service.checkpointHash ? 'adaptive' : 'baseline';
  const K = Math.max(...configs.map((c) => c.k));
  // Per query: the model ranking (top max(K, 100)) and, per configuration, each head hit's inliers (-1 unverifiable).
  const model: { ranked: string[]; relevant: Set<string> }[] = [];
  const inliers: Map<string, number>[][] = configs.map(() => []);
  const cpuMs = configs.map(() => 0);
  const checkedNegatives = configs.map(() => 0);
  for (const [qi, q] of queries.entries()) {
    const crops = q.crop ? [{ x: q.crop[0], y: q.crop[1], w: q.crop[2], h: q.crop[3] }] : [];
    const own = store.getImageByPath(q.image);
    const result = await service.search({ imagePath: q.image, crops, mode, k: 1000, top: Math.max(K, 100), verify: { k: 0 } }, { record: false, excludeImageIds: own ? [own.id] : [] });
    model.push({ ranked: result.hits.map((h) => h.path), relevant: new Set(q.relevant) });
    for (const [ci, p] of configs.entries()) {
      const head = result.hits.slice(0, p.k);
      const others = head.filter((h) => !q.relevant.includes(h.path));
      const step = Math.max(1, others.length / Math.min(negatives, others.length));
      const sampled = new Set(Number.isFinite(negatives) ? others.filter((_, i) => i % step < 1).map((h) => h.path) : others.map((h) => h.path));
      const hits = head
        .filter((h) => q.relevant.includes(h.path) || sampled.has(h.path))
        .map((h): Hit => ({ ...h, box: { ...h.box }, verification: { ...NOT_CHECKED } }));
      checkedNegatives[ci]! += sampled.size;
      const cpu0 = process.cpuUsage();
      const { hits: out, summary } = await verifyHits(pool, await queryGray(q.image, crops[0] ?? null, p), hits, p);
      const cpu = process.cpuUsage(cpu0);
      cpuMs[ci]! += (cpu.user + cpu.system) / 1000 / Math.max(1, summary.checked);
      inliers[ci]!.push(new Map(out.map((h) => [h.path, h.verification.quad ? h.verification.inliers : -1])));
      for (const h of result.hits.slice(0, p.k)) {
        const box = targets.get(basename(h.path));
        if (!box || !q.relevant.includes(h.path)) continue;
        const r = candidateRegion(h.box, h.width, h.height, p.regionScale);
        const ix = Math.max(0, Math.min(box[0]! + box[2]!, r.left + r.width) - Math.max(box[0]!, r.left));
        const iy = Math.max(0, Math.min(box[1]! + box[3]!, r.top + r.height) - Math.max(box[1]!, r.top));
        const ok = (inliers[ci]!.at(-1)!.get(h.path) ?? -1) >= DEFAULT_MIN_INLIERS;
        const w = where[ci]!;
        if (ix * iy >= 0.9 * box[2]! * box[3]!) (w.covered++, ok && w.coveredVerified++);
        else (w.missed++, ok && w.missedVerified++);
      }
    }
    process.stderr.write(`\rquery ${qi + 1}/${queries.length}`);
  }
  process.stderr.write('\n');
  for (const [ci, p] of configs.entries()) {
    if (targets.size > 0) console.log(JSON.stringify({ params: p, relevantInHead: where[ci], atMinInliers: DEFAULT_MIN_INLIERS }));
    for (const t of thresholds) {
      const rankings = model.map((m, qi) => {
        const n = (path: string) => inliers[ci]![qi]!.get(path) ?? -1;
        const order = m.ranked.map((path, i) => ({ path, i, v: n(path) >= t ? n(path) : -1 }));
        order.sort((a, b) => (a.v >= 0) !== (b.v >= 0) ? (b.v >= 0 ? 1 : -1) : a.v !== b.v ? b.v - a.v : a.i - b.i);
        return { ranked: order.map((o) => o.path), relevant: m.relevant };
      });
      const s = summarise(rankings);
      let falsePositives = 0;
      let truePositives = 0;
      model.forEach((m, qi) =>
        inliers[ci]![qi]!.forEach((n, path) => {
          if (n < t) return;
          if (m.relevant.has(path)) truePositives++;
          else falsePositives++;
        }),
      );
      const rounded = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, +v.toFixed(4)]));
      const params: Partial<VerifyParams> = { ...p, minInliers: t };
      const fp = { checkedNegatives: checkedNegatives[ci], falsePositives, truePositives };
      console.log(JSON.stringify({ params, queries: queries.length, ...rounded, ...fp, cpuMsPerCandidate: +(cpuMs[ci]! / queries.length).toFixed(1) }));
    }
  }
  const m = summarise(model);
  console.log(JSON.stringify({ params: null, mode, queries: queries.length, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, +v.toFixed(4)])) }));
} finally {
  await pool.close();
  await session.close();
}
