// Hash-set import benchmark: an NSRL RDS v3-shaped SQLite file of 5M FILE rows (generated from the published
// schema, cached in the temp folder) imported into a catalog of 10,000 images, 100 of which it holds, in a child
// process so its peak RSS is the import's alone.
//   node --import tsx bench/hashset-import.ts [--json] [--rows N]
// Prints hashset_import_rows_per_s, hashset_import_s, hashset_import_cpu_s, hashset_import_peak_rss_mb,
// hashset_matched_images, and hashset_commit_s: the final transaction alone (from the last record read to the
// end), the only time the catalog's write lock is held and other writers (the app's searches) wait.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openCatalog } from '../db/CatalogStore.ts';
import { importHashSetFile } from '../electron/engine/hashsets/importFile.ts';
import { syntheticRdsRows, writeRdsFile } from './hashset-files.ts';

const DEFAULT_ROWS = 5_000_000;
const IMAGES = 10_000;
const KNOWN_IMAGES = 100;

function rdsFile(rows: number): string {
  const file = join(tmpdir(), `quari-bench-rds-v1-${rows}.db`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeRdsFile(tmp, syntheticRdsRows(rows, 11));
    renameSync(tmp, file);
  }
  return file;
}

/** A catalog of IMAGES images; every (rows/KNOWN_IMAGES)-th RDS row is one of them. */
function makeCatalog(file: string, rows: number): void {
  const store = openCatalog(file);
  try {
    const step = Math.floor(rows / KNOWN_IMAGES);
    const known = new Map<number, { sha256: string; sha1: string; md5: string }>();
    let i = 0;
    for (const r of syntheticRdsRows(rows, 11)) {
      if (i % step === 0 && known.size < KNOWN_IMAGES) known.set(i, { sha256: r.sha256, sha1: r.sha1, md5: r.md5 });
      i++;
    }
    const knownList = [...known.values()];
    const batch = [];
    for (let n = 0; n < IMAGES; n++) {
      const h = n < knownList.length ? knownList[n]! : { sha256: (n + 1).toString(16).padStart(64, 'e'), sha1: (n + 1).toString(16).padStart(40, 'e'), md5: (n + 1).toString(16).padStart(32, 'e') };
      batch.push({ path: `/evidence/${n}.jpg`, size: 1000 + n, mtimeMs: 1, meta: { ...h, width: 10, height: 10, format: 'jpeg' }, embeddings: [] });
    }
    store.commitIngestedImages(batch);
  } finally {
    store.close();
  }
}

export async function runHashsetBench(rows = DEFAULT_ROWS): Promise<Record<string, number>> {
  const rds = rdsFile(rows);
  const dir = await mkdtemp(join(tmpdir(), 'quari-bench-hashset-'));
  try {
    const catalog = join(dir, 'catalog.sqlite');
    makeCatalog(catalog, rows);
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', rds, catalog], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`hash-set import child failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { seconds: number; commitSeconds: number; cpuSeconds: number; records: number; matched: number; rssMb: number };
    return {
      hashset_import_rows: r.records,
      hashset_import_s: Number(r.seconds.toFixed(2)),
      hashset_import_rows_per_s: Math.round(r.records / r.seconds),
      // CPU time of the import process: the figure that holds on a machine shared with other work.
      hashset_import_cpu_s: Number(r.cpuSeconds.toFixed(2)),
      hashset_import_peak_rss_mb: r.rssMb,
      hashset_commit_s: Number(r.commitSeconds.toFixed(2)),
      hashset_matched_images: r.matched,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function child(rds: string, catalogFile: string): Promise<void> {
  const store = openCatalog(catalogFile);
  try {
    const cpu = process.cpuUsage();
    let committing = 0;
    const result = await importHashSetFile(store, rds, { name: 'bench', onProgress: (p) => void (p.phase === 'committing' && (committing = performance.now())) });
    const commitSeconds = (performance.now() - committing) / 1000;
    const used = process.cpuUsage(cpu);
    console.log(JSON.stringify({ seconds: result.seconds, commitSeconds, cpuSeconds: (used.user + used.system) / 1e6, records: result.records, matched: result.matchedImages, rssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
  } finally {
    store.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({ options: { json: { type: 'boolean' }, rows: { type: 'string' }, child: { type: 'boolean' } }, allowPositionals: true });
  if (values.child) await child(positionals[0]!, positionals[1]!);
  else {
    const result = await runHashsetBench(values.rows ? Number(values.rows) : DEFAULT_ROWS);
    console.log(values.json ? JSON.stringify(result) : result);
  }
}
