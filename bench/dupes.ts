// Duplicate-stack benchmark on project-generated data: photo-like originals, some with byte-identical,
// recompressed, downsized and slightly cropped copies (bench/duplicate-set.ts), ingested through the real pipeline
// with the default pack (pHash at ingest), then stacks built per tier. Prints, per tier, the recall of the copies
// (share sharing a stack with their original) and the false stacks per 1,000 images (stacks mixing originals),
// plus a sweep of the pHash radius and the embedding threshold that chose the defaults, and the build time.
//   node --import tsx bench/dupes.ts [--json] [--originals N] [--with-copies N]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openCatalog } from '../db/CatalogStore.ts';
import type { CatalogStore, DuplicateTier } from '../db/Interface.ts';
import { buildStacks, DEFAULT_STACK_PARAMS } from '../electron/engine/duplicates/buildStacks.ts';
import { rebuildDuplicateStacks } from '../electron/engine/duplicates/rebuild.ts';
import { hammingDistance } from '../electron/engine/duplicates/phash.ts';
import { ingestFolder } from '../electron/engine/ingest/ingestFolder.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../native-models/runtime/packs/registry.ts';
import { makeDuplicateSet, scoreStacks, type DuplicateFile } from './duplicate-set.ts';

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

export async function runDupesBench(options: { originals?: number; withCopies?: number } = {}): Promise<Record<string, number>> {
  const originals = options.originals ?? 200;
  const withCopies = options.withCopies ?? 50;
  const dir = await mkdtemp(join(tmpdir(), 'quari-bench-dupes-'));
  const out: Record<string, number> = {};
  try {
    const files = await makeDuplicateSet(join(dir, 'evidence'), { originals, withCopies });
    const catalog = openCatalog(join(dir, 'catalog.sqlite'));
    try {
      const pack = await new PackRegistry().load(DEFAULT_PACK_ID);
      await ingestFolder({ root: join(dir, 'evidence'), catalog, pack });
      const indexOf = new Map(files.map((f, i) => [catalog.getImageByPath(f.path)!.id, i]));
      const rebuilt = await rebuildDuplicateStacks(catalog, pack.manifest.id);
      out.dupes_images = files.length;
      out.dupes_build_ms = round(rebuilt.seconds * 1000, 1);
      for (const tier of ['exact', 'perceptual', 'embedding'] as const) {
        const score = scoreStacks(files, stacksOf(catalog, tier, indexOf));
        out[`dupes_${tier}_recall`] = round(score.recall.all);
        for (const kind of ['exact', 'recompressed', 'resized', 'cropped'] as const) out[`dupes_${tier}_recall_${kind}`] = round(score.recall[kind]);
        out[`dupes_${tier}_false_stacks_per_1000`] = round(score.falseStacksPer1000, 2);
      }
      Object.assign(out, distanceFigures(catalog, files, indexOf));
      Object.assign(out, await sweep(catalog, files, indexOf, pack.manifest.id));
    } finally {
      catalog.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

function stacksOf(catalog: CatalogStore, tier: DuplicateTier, indexOf: Map<number, number>): number[][] {
  return catalog.duplicates.listStacks(tier, { limit: 1_000_000 }).map((s) => catalog.duplicates.stackMembers(s.stackId).map((id) => indexOf.get(id)!));
}

/** Mean pHash distance from each original to its near copies, and the smallest distance between distinct originals. */
function distanceFigures(catalog: CatalogStore, files: readonly DuplicateFile[], indexOf: Map<number, number>): Record<string, number> {
  const hashOf = new Map<number, string>();
  for (const input of catalog.duplicates.listStackInputs()) if (input.phash) hashOf.set(indexOf.get(input.imageId)!, input.phash);
  const originals = files.flatMap((f, i) => (f.kind === null ? [i] : []));
  const originalOf = new Map(originals.map((i) => [files[i]!.group, i]));
  const copyDistances: Record<string, number[]> = {};
  files.forEach((f, i) => {
    if (f.kind === null || f.kind === 'exact') return;
    (copyDistances[f.kind] ??= []).push(hammingDistance(hashOf.get(i)!, hashOf.get(originalOf.get(f.group)!)!));
  });
  let min = 64;
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < originals.length; a++) {
    for (let b = a + 1; b < originals.length; b++) {
      const d = hammingDistance(hashOf.get(originals[a]!)!, hashOf.get(originals[b]!)!);
      min = Math.min(min, d);
      sum += d;
      pairs++;
    }
  }
  const out: Record<string, number> = { dupes_phash_distinct_min: min, dupes_phash_distinct_mean: round(sum / pairs, 1) };
  for (const [kind, d] of Object.entries(copyDistances)) {
    out[`dupes_phash_${kind}_mean`] = round(d.reduce((a, b) => a + b, 0) / d.length, 1);
    out[`dupes_phash_${kind}_max`] = Math.max(...d);
  }
  return out;
}

/** Recall and false stacks of the perceptual tier per radius, and of the embedding tier per threshold. */
async function sweep(catalog: CatalogStore, files: readonly DuplicateFile[], indexOf: Map<number, number>, packId: string): Promise<Record<string, number>> {
  const inputs = catalog.duplicates.listStackInputs();
  const out: Record<string, number> = {};
  const score = async (tier: DuplicateTier, params: typeof DEFAULT_STACK_PARAMS, whole: boolean) => {
    await rebuildDuplicateStacks(catalog, whole ? packId : null, params);
    return scoreStacks(files, stacksOf(catalog, tier, indexOf));
  };
  for (const radius of [6, 8, 10, 12, 14, 16]) {
    const s = await score('perceptual', { ...DEFAULT_STACK_PARAMS, phashRadius: radius }, false);
    out[`dupes_sweep_phash_r${radius}_recall`] = round(s.recall.all);
    out[`dupes_sweep_phash_r${radius}_false_per_1000`] = round(s.falseStacksPer1000, 2);
  }
  for (const threshold of [0.8, 0.85, 0.9, 0.95]) {
    const s = await score('embedding', { ...DEFAULT_STACK_PARAMS, embeddingThreshold: threshold }, true);
    out[`dupes_sweep_cos${threshold}_recall`] = round(s.recall.all);
    out[`dupes_sweep_cos${threshold}_false_per_1000`] = round(s.falseStacksPer1000, 2);
  }
  // Leaves the catalog with the defaults, and times the perceptual tier alone (no embedding scan).
  const t0 = performance.now();
  await buildStacks(inputs, null, DEFAULT_STACK_PARAMS);
  out.dupes_build_without_embedding_ms = round(performance.now() - t0, 1);
  await rebuildDuplicateStacks(catalog, packId);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, originals: { type: 'string' }, 'with-copies': { type: 'string' } } });
  const result = await runDupesBench({
    ...(values.originals ? { originals: Number(values.originals) } : {}),
    ...(values['with-copies'] ? { withCopies: Number(values['with-copies']) } : {}),
  });
  if (values.json) console.log(JSON.stringify(result));
  else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(44)} ${v}`);
}
