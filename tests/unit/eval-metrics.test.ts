import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averagePrecisionAt, dividerSummary, recallAt, summarise } from '../../electron/engine/eval/metrics.ts';

test('AP@100 on a hand-made ranking: relevant at ranks 1, 3 and 6 of 4 relevant', () => {
  const ranked = ['a', 'x', 'b', 'y', 'z', 'c', 'w'];
  const relevant = new Set(['a', 'b', 'c', 'd']);
  // precision at the hits: 1/1, 2/3, 3/6; the 4th relevant item is never found, so it adds 0 but counts in the divisor.
  const expected = (1 + 2 / 3 + 3 / 6) / 4;
  assert.ok(Math.abs(averagePrecisionAt(ranked, relevant, 100) - expected) < 1e-12);
});

test('AP is cut at the cutoff and normalised by min(|R|, cutoff)', () => {
  const ranked = ['x', 'a', 'b'];
  const relevant = new Set(['a', 'b', 'c']);
  // cutoff 2: only rank 2 counts (precision 1/2); divisor min(3, 2) = 2.
  assert.equal(averagePrecisionAt(ranked, relevant, 2), 0.5 / 2);
  assert.equal(averagePrecisionAt(['a', 'b', 'c'], relevant, 100), 1);
  assert.equal(averagePrecisionAt(['x', 'y'], relevant, 100), 0);
});

test('recall@k counts relevant items within the first k ranks', () => {
  const ranked = ['x', 'a', 'y', 'b'];
  const relevant = new Set(['a', 'b', 'c', 'd']);
  assert.equal(recallAt(ranked, relevant, 1), 0);
  assert.equal(recallAt(ranked, relevant, 2), 0.25);
  assert.equal(recallAt(ranked, relevant, 10), 0.5);
});

test('summarise averages per-query metrics', () => {
  const s = summarise([
    { ranked: ['a', 'x'], relevant: new Set(['a']) },
    { ranked: ['x', 'b'], relevant: new Set(['b']) },
  ]);
  assert.equal(s['mAP@100'], (1 + 0.5) / 2);
  assert.equal(s['R@1'], 0.5);
  assert.equal(s['R@10'], 1);
  assert.throws(() => summarise([]), /no queries/);
  assert.throws(() => averagePrecisionAt(['a'], new Set(), 100), /at least one relevant/);
});

test('the likely-matches divider: pooled precision above it, recall, and the reference ranking cut at the same depth', () => {
  const d = dividerSummary([
    // 3 hits above the divider, 2 relevant; the unverified ranking's first 3 hold 1 relevant.
    { ranked: ['a', 'x', 'b', 'c'], likely: 3, reference: ['x', 'y', 'a', 'b'], relevant: new Set(['a', 'b', 'c', 'd']) },
    // nothing above it
    { ranked: ['z', 'e'], likely: 0, reference: ['e', 'z'], relevant: new Set(['e']) },
  ]);
  assert.equal(d.likelyPerQuery, 1.5);
  assert.equal(d.queriesWithLikely, 0.5);
  assert.equal(d.precision, 2 / 3);
  assert.equal(d.recall, (2 / 4 + 0) / 2);
  assert.equal(d.referencePrecision, 1 / 3);
  assert.equal(dividerSummary([{ ranked: ['x'], likely: 0, reference: ['x'], relevant: new Set(['a']) }]).precision, null);
});

