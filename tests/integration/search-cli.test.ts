// The quari CLI end to end on a real catalog built from generated scenes with the installed default pack:
// ingest, stats, a crop search that finds the object's scene at rank 1 (baseline and adaptive, with the pack's
// shipped QuARI checkpoint) with stage 3 (geometric verification) on by default, the search history with every
// stage's parameters, usage errors and eval's three modes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openCatalog } from '../../db/CatalogStore.ts';
import { makeScenes, type SceneSet } from '../e2e/support/scenes.ts';
import { defaultPack } from './ingest-helpers.ts';
import { DEFAULT_VERIFY_PARAMS } from '../../electron/engine/verify/params.ts';
import { LIKELY_MIN_INLIERS } from '../../electron/shared/likelyMatches.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'quari-search-cli-'));
const home = join(root, 'home');
const catalog = join(root, 'catalog.quari');
let scenes: SceneSet;

async function quari(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/quari.mjs'), ...args], {
      env: { ...process.env, QUARI_HOME: home },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

before(async () => {
  await defaultPack();
  scenes = await makeScenes(join(root, 'evidence'), 12);
  const ingest = await quari('ingest', scenes.folder, '--catalog', catalog, '--json');
  assert.equal(ingest.code, 3, `one bad file recorded as failed makes the exit code 3: ${ingest.stderr}`);
  const summary = jsonLines(ingest.stdout).at(-1);
  assert.equal(summary.added, 12);
  assert.equal(summary.failed, 1);
  assert.equal(summary.failures[0].path, scenes.badFile);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('stats counts images, embeddings, failures and packs', async () => {
  const { stdout, code } = await quari('stats', '--catalog', catalog, '--json');
  assert.equal(code, 0);
  const stats = JSON.parse(stdout);
  assert.equal(stats.images, 13);
  assert.equal(stats.embeddings, 12);
  assert.equal(stats.failed, 1);
  assert.deepEqual(stats.packs.map((p: { id: string; embeddings: number }) => [p.id, p.embeddings]), [['mobilenetv2-nsfwjs', 12]]);
});

test('a crop around a small object finds its scene at rank 1 in both modes, each recorded in the history', async () => {
  const { x, y, w, h } = scenes.objectBox;
  const pack = await defaultPack();
  const weightsHash = pack.manifest.files[`${pack.manifest.quariCheckpoint}/weights.pt`]!.sha256;
  const results: Record<string, { path: string; score: number; baselineScore: number }[]> = {};
  for (const mode of ['baseline', 'adaptive']) {
    const { stdout, stderr, code } = await quari('search', '--catalog', catalog, '--image', scenes.objectScene, '--crop', `${x},${y},${w},${h}`, '--mode', mode, '--top', '12', '--json');
    assert.equal(code, 0, stderr);
    const hits = jsonLines(stdout);
    assert.equal(hits.length, 12);
    assert.deepEqual(Object.keys(hits[0]), ['rank', 'path', 'score', 'baselineScore', 'box', 'verification']);
    assert.equal(hits[0].path, scenes.objectScene, `${mode}: the object's scene first`);
    assert.deepEqual(hits.map((hit: { rank: number }) => hit.rank), Array.from({ length: 12 }, (_, i) => i + 1));
    // Verified hits first by inliers, then the rest by model score.
    type CliHit = { score: number; verification: { status: string; inliers: number; quad: number[] | null } };
    const verified = hits.filter((hit: CliHit) => hit.verification.status === 'verified');
    assert.ok(hits.slice(0, verified.length).every((hit: CliHit) => hit.verification.status === 'verified'));
    assert.ok(verified.every((hit: CliHit, i: number) => i === 0 || hit.verification.inliers <= verified[i - 1].verification.inliers));
    const rest = hits.slice(verified.length);
    assert.ok(rest.every((hit: CliHit, i: number) => i === 0 || hit.score <= rest[i - 1].score));
    assert.ok(rest.every((hit: CliHit) => hit.verification.status === 'unverified' && hit.verification.quad === null));
    for (const hit of verified) assert.equal(hit.verification.quad.length, 8);
    const [bx, by, bw, bh] = hits[0].box;
    assert.ok(bx < x + w && bx + bw > x && by < y + h && by + bh > y, `${mode}: the matched region overlaps the object`);
    results[mode] = hits;
    const store = openCatalog(catalog);
    const [search] = store.listSearches({ limit: 1 });
    store.close();
    assert.equal(search!.packId, 'mobilenetv2-nsfwjs');
    assert.equal(search!.mode, mode);
    assert.equal(search!.checkpointHash, mode === 'adaptive' ? weightsHash : null);
    assert.deepEqual(search!.params.crops, [scenes.objectBox]);
    assert.equal((search!.params.verify as { k: number }).k, DEFAULT_VERIFY_PARAMS.k);
    assert.equal((search!.params.verification as { checked: number }).checked, 12);
  }
  const baselineByPath = new Map(results.baseline!.map((hit) => [hit.path, hit.score]));
  for (const hit of results.adaptive!) assert.ok(Math.abs(hit.baselineScore - baselineByPath.get(hit.path)!) < 1e-6, 'baselineScore is the plain score');
  assert.ok(results.adaptive!.some((hit) => Math.abs(hit.score - hit.baselineScore) > 1e-3), 'QuARI changed the scores');
});

test('bad arguments get a usage message and exit code 2; runtime errors exit 1', async () => {
  const noImage = await quari('search', '--catalog', catalog);
  assert.equal(noImage.code, 2);
  assert.match(noImage.stderr, /--image is required[\s\S]*Usage: quari search/);
  const badCrop = await quari('search', '--catalog', catalog, '--image', scenes.objectScene, '--crop', '1,2,3');
  assert.equal(badCrop.code, 2);
  assert.match(badCrop.stderr, /--crop must be x,y,w,h/);
  const outside = await quari('search', '--catalog', catalog, '--image', scenes.objectScene, '--crop', '5000,5000,10,10');
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /lies outside/);
  // Text search is not offered until a text encoder can be had and tested (issue 15.6).
  const text = await quari('search', '--catalog', catalog, '--image', scenes.objectScene, '--text', 'a lamp');
  assert.equal(text.code, 2);
  assert.match(text.stderr, /--text/);
  const unknown = await quari('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test('eval excludes the query image and reports baseline and adaptive figures', async () => {
  const queries = join(root, 'queries.json');
  const { x, y, w, h } = scenes.objectBox;
  // The crop's own scene is excluded, so the only relevant image (the scene itself) can never be found: AP = 0.
  // A second query whose relevant set is another scene checks that found items count.
  writeFileSync(
    queries,
    JSON.stringify([
      { image: relative(root, scenes.objectScene), crop: [x, y, w, h], relevant: [relative(root, scenes.objectScene)] },
      { image: relative(root, scenes.scenes[0]!), crop: null, relevant: [relative(root, scenes.scenes[1]!)] },
    ]),
  );
  const { stdout, stderr, code } = await quari('eval', '--catalog', catalog, '--queries', queries, '--feedback', '--json');
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.equal(report.queries, 2);
  // Query 1 contributes 0 everywhere; query 2 finds its one relevant image among the 11 others, so R@100 = 1.
  for (const mode of ['baseline', 'adaptive', 'verified']) {
    assert.deepEqual(Object.keys(report[mode]), ['mAP@100', 'R@1', 'R@10', 'R@100']);
    assert.equal(report[mode]['R@100'], 0.5);
    assert.ok(report[mode]['mAP@100'] > 0 && report[mode]['mAP@100'] <= 0.5);
  }
  assert.ok(report.verifyMsMean > 0, 'verification took measurable time');
  assert.equal(report.verifyParams.k, DEFAULT_VERIFY_PARAMS.k);
  // The divider figures (arithmetic in tests/unit/eval-metrics.test.ts): the scene cropped in query 1 is excluded.
  const fields = ['likelyPerQuery', 'queriesWithLikely', 'precision', 'recall', 'referencePrecision'];
  assert.deepEqual(Object.keys(report.divider), ['minInliers', ...fields, 'byMinInliers']);
  assert.equal(report.divider.minInliers, LIKELY_MIN_INLIERS);
  assert.ok(report.divider.recall >= 0 && report.divider.recall <= 0.5);
  // The line at every bar it was chosen among, none below the verification threshold; the top-level figures are
  // the product's bar's.
  const bars = report.divider.byMinInliers.map((b: { minInliers: number }) => b.minInliers);
  assert.ok(bars.includes(LIKELY_MIN_INLIERS) && bars.every((b: number) => b >= DEFAULT_VERIFY_PARAMS.minInliers), bars.join());
  const atLine = report.divider.byMinInliers.find((b: { minInliers: number }) => b.minInliers === LIKELY_MIN_INLIERS);
  assert.deepEqual(atLine, { minInliers: LIKELY_MIN_INLIERS, ...Object.fromEntries(fields.map((f) => [f, report.divider[f]])) });
  // One simulated feedback round in the best mode, both strategies: the relevant scene, when among the first 10,
  // is confirmed and leads the ranking, so feedback never scores below the plain search here.
  assert.equal(report.feedback.mode, 'adaptive');
  assert.equal(report.feedback.reviewed, 10);
  for (const strategy of ['regions', 'queries']) {
    assert.deepEqual(Object.keys(report.feedback[strategy]), ['mAP@100', 'R@1', 'R@10', 'R@100']);
    assert.ok(report.feedback[strategy]['mAP@100'] >= report.adaptive['mAP@100'] - 1e-9, `${strategy} feedback keeps what the analyst confirmed`);
    assert.equal(report.feedback[strategy]['R@100'], 0.5);
  }
  const bad = await quari('eval', '--catalog', catalog, '--queries', join(root, 'missing.json'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no queries file/);
  const noLists = await quari('eval', '--catalog', catalog, '--queries', queries, '--nprobe', '0');
  assert.equal(noLists.code, 2);
  assert.match(noLists.stderr, /--nprobe must be at least 1/);
});

test('the CLI\'s ingest and searches are in the catalog\'s audit log, as $QUARI_EXAMINER, and the chain verifies', async () => {
  const { x, y, w, h } = scenes.objectBox;
  const run = await promisify(execFile)(process.execPath, [join(REPO, 'bin/quari.mjs'), 'search', '--catalog', catalog, '--image', scenes.objectScene, '--crop', `${x},${y},${w},${h}`, '--mode', 'baseline', '--json'], {
    env: { ...process.env, QUARI_HOME: home, QUARI_EXAMINER: 'CLI Examiner' },
  });
  const hitPaths = jsonLines(run.stdout).map((h: { path: string }) => h.path);
  const store = openCatalog(catalog);
  try {
    const records = store.listAudit({ limit: 1000 }).reverse();
    const events = records.map((r) => r.event);
    assert.ok(events.includes('ingest.started') && events.includes('ingest.finished'));
    assert.ok(records.some((r) => r.event === 'catalog.opened' && r.data.client === 'cli' && r.data.command === 'ingest'));
    const last = records.at(-1)!;
    assert.equal(last.event, 'search.run');
    assert.equal(last.examiner, 'CLI Examiner');
    assert.deepEqual(store.getImages(last.data.resultImageIds as number[]).map((i) => i.path), hitPaths);
    assert.deepEqual((last.data.params as { crops: unknown }).crops, [{ x, y, w, h }]);
  } finally {
    store.close();
  }
  const verified = await quari('audit', 'verify', '--catalog', catalog, '--json');
  assert.equal(verified.code, 0, verified.stdout);
  assert.equal(JSON.parse(verified.stdout).ok, true);
});

test('quari index builds the on-disk index beside the catalog; search then reads it and ranks as the exact scan did', async () => {
  const { x, y, w, h } = scenes.objectBox;
  // Without --json: stdout holds the ranked hits, stderr the summary naming the stage-1 source.
  const search = () => quari('search', '--catalog', catalog, '--image', scenes.objectScene, '--crop', `${x},${y},${w},${h}`, '--mode', 'adaptive', '--top', '12');
  const exact = await search();
  assert.equal(exact.code, 0, exact.stderr);
  assert.match(exact.stderr, /stage 1: exact/);

  const built = await quari('index', '--catalog', catalog, '--json');
  assert.equal(built.code, 0, built.stderr);
  const info = JSON.parse(built.stdout);
  assert.deepEqual([info.pack, info.images, info.rows], ['mobilenetv2-nsfwjs', 12, 12 * 36]);
  assert.ok(existsSync(info.file) && info.file.startsWith(`${catalog}.data`), info.file);
  assert.match(built.stderr, /index mobilenetv2-nsfwjs: write 12\/12/);

  const indexed = await search();
  assert.equal(indexed.code, 0, indexed.stderr);
  assert.match(indexed.stderr, /stage 1: ivf\)/);
  assert.equal(indexed.stdout, exact.stdout, 'every list probed at this size: the same hits, scores and boxes');
  assert.equal(indexed.stdout.trim().split('\n').length, 12);

  // A torn or foreign file is not used: the search says so and scans exactly.
  writeFileSync(info.file, `NOTANIDX${'\0'.repeat(64)}`);
  const fallback = await search();
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stderr, /warning: .*not a QuARI index file; searching exactly until the index is rebuilt \(quari index\)/);
  assert.match(fallback.stderr, /stage 1: exact/);
  assert.equal(fallback.stdout, exact.stdout);
});
