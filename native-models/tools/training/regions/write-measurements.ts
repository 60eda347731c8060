// Merges measure.ts results (and timing.ts output) into the pack's measurements.json and marks the chosen row.
// Usage: npx tsx native-models/tools/training/regions/write-measurements.ts --out PACK_DIR/measurements.json
//        --chosen '896x672-w7s4|square224|pca-rawin-a1|256' [--timing timing.json] [--extra NAME=FILE.json ...]
//        results1.json [results2.json ...]
// Rows are tagged with their benchmark folder's name; the chosen row is taken from the first results file's benchmark.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Results {
  bench: string;
  queries: number;
  images: number;
  whiteningImages: number;
  rows: Record<string, unknown>[];
}

function main(argv: string[]): void {
  const take = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const [, v] = argv.splice(i, 2);
    if (v === undefined) throw new Error(`--${name} needs a value`);
    return v;
  };
  const out = take('out');
  const chosenKey = take('chosen');
  const timing = take('timing');
  const extras: Record<string, unknown> = {};
  for (let e = take('extra'); e !== undefined; e = take('extra')) {
    const eq = e.indexOf('=');
    if (eq < 1) throw new Error(`--extra: '${e}' is not NAME=FILE`);
    extras[e.slice(0, eq)] = JSON.parse(readFileSync(e.slice(eq + 1), 'utf8'));
  }
  if (!out || !chosenKey || argv.length === 0) throw new Error('usage: --out FILE --chosen KEY [--timing FILE] results.json ...');
  const results = argv.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Results);
  const key = (r: Record<string, unknown>) => `${r.benchmark}|${r.scheme}|${r.query}|${r.projection}|${r.dim}`;
  const rows = new Map<string, Record<string, unknown>>();
  for (const res of results) {
    for (const r of res.rows) {
      // Per-row timings were taken under varying load from other jobs; timing.ts measures them side by side.
      const { encoderMsPerImage: _ms, ...fields } = r;
      const rest: Record<string, unknown> = { benchmark: basename(res.bench), ...fields };
      for (const m of ['mAP@100', 'R@1', 'R@10', 'R@100']) if (typeof rest[m] === 'number') rest[m] = +(rest[m] as number).toFixed(4);
      rows.set(key(rest), rest);
    }
  }
  const chosen = rows.get(`${basename(results[0].bench)}|${chosenKey}`);
  if (!chosen) throw new Error(`--chosen: no row ${chosenKey}`);
  const r0 = results[0];
  const doc = {
    benchmark: {
      name: basename(r0.bench),
      generator: 'native-models/tools/training/benchmark/generate.ts (split eval, seed 1, 120 objects, 3–4 scenes each, +50 % distractor-only scenes)',
      images: r0.images,
      queries: r0.queries,
      whitening: `generate.ts split whitening, seed 2, 100 objects: ${r0.whiteningImages} images`,
      scoring: 'image score = max cosine over its vectors (whole + windows); query image excluded; AP@100 normalised by min(|R|,100)',
    },
    encoderMs: timing ? JSON.parse(readFileSync(timing, 'utf8')) : undefined,
    chosen,
    ...extras,
    rows: [...rows.values()],
  };
  writeFileSync(out, `${JSON.stringify(doc, null, 1)}\n`);
  console.log(`wrote ${out}: ${rows.size} rows, chosen ${chosenKey}`);
}

main(process.argv.slice(2));
