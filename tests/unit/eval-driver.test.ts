// npm run eval's cross-family driver reports the overall figures as the query-weighted mean of its per-tier
// `quari eval` runs: that must equal summarising all queries at once, for every metric quari eval computes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarise } from '../../electron/engine/eval/metrics.ts';
import { mulberry32 } from '../../electron/engine/search/rng.ts';
import { mergeReports } from '../../native-models/tools/training/quari/eval.ts';

test('merging per-tier reports equals one summary over all queries', () => {
  const r = mulberry32(3);
  const ranking = () => {
    const ranked = Array.from({ length: 150 }, (_, i) => `img${Math.floor(r() * 400)}-${i}`);
    const relevant = new Set([ranked[Math.floor(r() * 150)], ranked[Math.floor(r() * 150)], 'never-ranked']);
    return { ranked, relevant };
  };
  const reversed = (q: { ranked: string[]; relevant: Set<string> }) => ({ ranked: q.ranked.slice().reverse(), relevant: q.relevant });
  const tiers = [7, 11, 5].map((n) => Array.from({ length: n }, ranking));
  const parts = tiers.map((t) => ({ queries: t.length, modes: { baseline: { ...summarise(t) }, adaptive: { ...summarise(t.map(reversed)) } }, other: { verifyMsMean: t.length * 10, note: 'x' } }));
  const merged = mergeReports(parts);
  const whole = summarise(tiers.flat());
  const wholeAdaptive = summarise(tiers.flat().map(reversed));
  assert.equal(merged.queries, 23);
  for (const [metric, v] of Object.entries(whole)) assert.ok(Math.abs(merged.modes.baseline[metric] - v) < 1e-12, metric);
  for (const [metric, v] of Object.entries(wholeAdaptive)) assert.ok(Math.abs(merged.modes.adaptive[metric] - v) < 1e-12, metric);
  assert.deepEqual(Object.keys(merged.modes).sort(), ['adaptive', 'baseline']);
  // Per-query means merge weighted by queries; anything else is not invented for the whole.
  assert.deepEqual(merged.other, { verifyMsMean: (7 * 70 + 11 * 110 + 5 * 50) / 23 });
});
