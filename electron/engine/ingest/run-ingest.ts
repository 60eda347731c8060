// Stand-alone ingest runner: `node --import tsx electron/engine/ingest/run-ingest.ts --catalog FILE [--pack ID|DIR]
// [--max-pixels N] FOLDER`. Progress goes to stderr (one redrawn line on a TTY), the result as JSON to stdout.
// The crash-safety test kills this process mid-run.
import { parseArgs } from 'node:util';
import { openCatalog } from '../../../db/CatalogStore.ts';
import { DEFAULT_PACK_ID, PackRegistry } from '../../../native-models/packs/registry.ts';
import { ingestFolder } from './ingestFolder.ts';
import { terminalProgress } from './progress.ts';

export async function runIngestCli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      catalog: { type: 'string' },
      pack: { type: 'string', default: DEFAULT_PACK_ID },
      'max-pixels': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (!values.catalog || positionals.length !== 1) {
    process.stderr.write('usage: run-ingest --catalog FILE [--pack ID|DIR] [--max-pixels N] [--quiet] FOLDER\n');
    return 2;
  }
  const pack = await new PackRegistry().load(values.pack!);
  const catalog = openCatalog(values.catalog);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    const result = await ingestFolder({
      root: positionals[0],
      catalog,
      pack,
      signal: controller.signal,
      onProgress: values.quiet ? undefined : terminalProgress(process.stderr),
      ...(values['max-pixels'] ? { maxPixels: Number(values['max-pixels']) } : {}),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    catalog.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runIngestCli(process.argv.slice(2));
}
