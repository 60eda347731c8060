// Encoder time per image for the candidate region-pass sizes, measured interleaved (size A, size B, A, B, ...) on
// the same images so that load from other processes hits every size alike. Reports the median of each.
// Usage: npx tsx native-models/tools/training/regions/timing.ts --bench DIR --model ONNX [--n 20] [--threads 2]
//        [--sizes 224x224,672x512,896x672]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder, loadInputs, processorFor } from './encode.ts';

function arg(argv: string[], name: string, fallback?: string): string {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const bench = arg(argv, 'bench');
  const n = Number(arg(argv, 'n', '20'));
  const sizes = arg(argv, 'sizes', '224x224,672x512,896x672').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const enc = await Encoder.open(arg(argv, 'model'), Number(arg(argv, 'threads', '2')));
  const files = readdirSync(join(bench, 'images')).filter((f) => f.endsWith('.jpg')).sort().slice(0, n);
  const times = sizes.map(() => [] as number[]);
  for (const [i, f] of files.entries()) {
    for (const [k, size] of sizes.entries()) {
      const input = (await loadInputs(processorFor(size), join(bench, 'images', f))).region!;
      const t = performance.now();
      await enc.featureMap(input);
      if (i > 0) times[k].push(performance.now() - t); // the first image warms the session up
    }
  }
  await enc.close();
  for (const [k, size] of sizes.entries()) {
    const sorted = times[k].sort((a, b) => a - b);
    console.log(`${size.join('x')}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, min ${sorted[0].toFixed(1)} ms over ${sorted.length} images`);
  }
}

await main(process.argv.slice(2));
