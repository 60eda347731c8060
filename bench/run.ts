// npm run bench [-- --json] [--only ingest,search,hypernet,verify]: runs every benchmark in one process, one after the
// other (they would fight for the 2 cores side by side), and prints one JSON object. Each part reports its own
// baseline measured in the same run, so the ratios hold on whatever machine runs it.
import { parseArgs } from 'node:util';

const PARTS: Record<string, () => Promise<Record<string, number>>> = {
  search: async () => (await import('./search-kernels.ts')).runSearchKernelBench(),
  hypernet: async () => (await import('./hypernet.ts')).runHypernetBench(),
  ingest: async () => (await import('./ingest.ts')).runIngestBench(),
  verify: async () => (await import('./verify.ts')).runVerifyBench(),
  hashset: async () => (await import('./hashset-import.ts')).runHashsetBench(),
  dupes: async () => (await import('./dupes.ts')).runDupesBench(),
};

const { values } = parseArgs({ options: { json: { type: 'boolean' }, only: { type: 'string' } } });
const chosen = values.only ? values.only.split(',') : Object.keys(PARTS);
const unknown = chosen.filter((p) => !(p in PARTS));
if (unknown.length > 0) {
  console.error(`bench: unknown part(s) ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
const results: Record<string, number> = {};
for (const part of chosen) {
  if (!values.json) console.error(`bench: ${part}…`);
  Object.assign(results, await PARTS[part]!());
}
results.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
if (values.json) console.log(JSON.stringify(results));
else for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(32)} ${value}`);
