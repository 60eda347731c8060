// quari ingest <folder> --catalog F [--pack ID] [--json]
import { DEFAULT_PACK_ID, PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import { AFTER_INGEST_EMBEDDING_MAX_IMAGES, rebuildDuplicateStacks } from '../duplicates/rebuild.ts';
import { ingestFolder } from '../ingest/ingestFolder.ts';
import { updateIndex } from '../search/indexPolicy.ts';
import { ivfIndexPath } from '../search/SearchService.ts';
import { catalogDataDir } from '../catalogData.ts';
import { terminalProgress } from '../ingest/progress.ts';
import { openCliCatalog } from './catalog.ts';
import { parse, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { EXIT, EXIT_CODES_HELP } from './exitCodes.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari ingest <folder> --catalog <file> [--pack <id>] [--max-pixels N] [--max-file-bytes N]
                    [--follow-links] [--json]

Catalogues every image under <folder> (recursively): MD5, SHA-1 and SHA-256 (one pass over the bytes), size, EXIF,
a thumbnail, the pack's whole-image and region embeddings and content scores. The folder is only read; thumbnails
go next to the catalog. Unchanged files are skipped, moved files re-pointed, changed files re-embedded; a killed
run resumes where it stopped. Files catalogued before MD5/SHA-1 existed gain them (re-read, not re-embedded).
Every new image is matched against the catalog's hash sets (quari hashset import).
Refused and recorded as failures, unread: files above --max-file-bytes (default 268435456 = 256 MiB), files whose
first bytes name no image format, and symbolic links (or linked folders) leading outside <folder> — unless
--follow-links is given, which the run records.
Each new file's perceptual hash is computed as it is decoded, and the duplicate stacks are rebuilt at the end
(the embedding tier only up to 20,000 images; quari dupes builds it at any size).
From 50,000 images on, the on-disk search index (quari index) is built after the run, and rebuilt once the images
added since its build reach 25,000 or a tenth of it; until then they are searched exactly beside it.
Progress goes to stderr. With --json the last line of stdout is
{"added":n,"skipped":n,"rehashed":n,"failed":n,"failures":[{"path":...,"error":...}],"seconds":s,
 "index":{"action":"exact"|"current"|"build"|"rebuild"|"cancelled","reason":...,"seconds":s}}.
Every run is recorded in the catalog; a run whose process was killed is marked "interrupted" at the next open.
${EXIT_CODES_HELP}`;

export const ingestCommand: Command = {
  synopsis: 'ingest <folder>           catalogue and embed every image under a folder',
  usage,
  async run(argv) {
    const parsed = parse(argv, { catalog: { type: 'string' }, pack: { type: 'string' }, 'max-pixels': { type: 'string' }, 'max-file-bytes': { type: 'string' }, 'follow-links': { type: 'boolean' }, json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a folder to ingest is required' : `one folder at a time, got ${positionals.length}`);
    const catalogFile = requireString(values.catalog, '--catalog');
    const maxPixels = values['max-pixels'] === undefined ? undefined : positiveInt(values['max-pixels'], '--max-pixels', 0);
    const maxFileBytes = values['max-file-bytes'] === undefined ? undefined : positiveInt(values['max-file-bytes'], '--max-file-bytes', 0);
    const pack = await new PackRegistry().load(values.pack ?? DEFAULT_PACK_ID);
    const catalog = openCliCatalog(catalogFile, 'ingest');
    const showProgress = terminalProgress(process.stderr);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const result = await ingestFolder({
        root: positionals[0]!,
        catalog,
        pack,
        signal: controller.signal,
        onProgress: (p) => showProgress(p.error ? { ...p, error: terminalSafe(p.error) } : p),
        ...(maxPixels ? { maxPixels } : {}),
        ...(maxFileBytes ? { maxFileBytes } : {}),
        followLinks: values['follow-links'] === true,
      });
      let index: { action: string; reason: string; seconds: number } | null = null;
      if (!result.cancelled) {
        await rebuildDuplicateStacks(catalog, pack.manifest.id, undefined, AFTER_INGEST_EMBEDDING_MAX_IMAGES);
        let lastPrint = 0;
        try {
          const update = await updateIndex(catalog, pack.manifest.id, ivfIndexPath(catalogDataDir(catalogFile), pack.manifest.id), {
            signal: controller.signal,
            onProgress: (p) => {
              if (performance.now() - lastPrint < 2000 && p.done !== p.total) return;
              lastPrint = performance.now();
              process.stderr.write(`search index: ${p.phase} ${p.done}/${p.total}\n`);
            },
          });
          index = { action: update.action, reason: update.reason, seconds: Number(update.seconds.toFixed(3)) };
          if (update.action === 'build' || update.action === 'rebuild') process.stderr.write(`search index ${update.action === 'build' ? 'built' : 'rebuilt'} in ${update.seconds.toFixed(1)} s: ${update.reason}\n`);
        } catch (err) {
          if (!controller.signal.aborted) throw err;
          // The images are catalogued and searchable (exactly, or beside the previous index); only the build stopped.
          index = { action: 'cancelled', reason: 'the index build was interrupted; the previous index file, if any, is kept', seconds: 0 };
        }
      }
      const summary = {
        added: result.added + result.updated,
        skipped: result.skipped + result.moved,
        rehashed: result.rehashed,
        failed: result.failed,
        failures: result.failures,
        seconds: Number(result.seconds.toFixed(3)),
        index,
      };
      if (values.json) console.log(JSON.stringify(summary));
      else {
        console.log(`added ${result.added}, re-embedded ${result.updated}, moved ${result.moved}, unchanged ${result.skipped} (${result.rehashed} given MD5/SHA-1), failed ${result.failed} in ${result.seconds.toFixed(1)} s${result.cancelled ? ' (cancelled)' : ''}`);
        for (const f of result.failures) console.log(`  failed: ${terminalSafe(f.path)}: ${terminalSafe(f.error)}`);
      }
      return result.cancelled || controller.signal.aborted ? EXIT.cancelled : result.failed > 0 ? EXIT.filesFailed : EXIT.ok;
    } finally {
      process.removeListener('SIGINT', onSigint);
      catalog.close();
    }
  },
};
