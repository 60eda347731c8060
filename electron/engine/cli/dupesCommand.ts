// quari dupes --catalog F [--pack ID] [--phash-radius N] [--embedding-threshold X] [--json]
// Duplicate stacks for a catalog: the documented command for catalogs ingested before duplicate detection existed
// (it computes the missing perceptual hashes, with progress) and for rebuilding stacks with other thresholds.
import { existsSync } from 'node:fs';
import { openCliCatalog } from './catalog.ts';
import { DEFAULT_STACK_PARAMS } from '../duplicates/buildStacks.ts';
import { computeMissingPerceptualHashes, rebuildDuplicateStacks, type HashProgress } from '../duplicates/rebuild.ts';
import { parse, requireString, UsageError, type Command } from './args.ts';

const usage = `Usage: quari dupes --catalog <file> [--pack <id>] [--phash-radius N] [--embedding-threshold X] [--json]

Finds duplicates in three tiers, kept distinct: identical bytes (SHA-256), perceptual near-duplicates (64-bit
pHash within --phash-radius bits, default ${DEFAULT_STACK_PARAMS.phashRadius}) and embedding near-duplicates (whole-image vectors of --pack with
cosine ≥ --embedding-threshold, default ${DEFAULT_STACK_PARAMS.embeddingThreshold}; the pack is the only one with embeddings unless given).
Files catalogued before perceptual hashing existed are read and hashed first (progress on stderr); then every
stack is rebuilt. Ingest does the same for new files. The last line of stdout is, with --json,
{"hashed":n,"hashFailures":[{"path","error"}],"images":n,"stacks":{"exact":{"stacks","images"},"perceptual":…,"embedding":…},"packId":…,"seconds":s}.`;

export const dupesCommand: Command = {
  synopsis: 'dupes --catalog F        find exact, perceptual and embedding duplicate stacks',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      { catalog: { type: 'string' }, pack: { type: 'string' }, 'phash-radius': { type: 'string' }, 'embedding-threshold': { type: 'string' }, json: { type: 'boolean' } },
      usage,
    );
    if (!parsed) return 0;
    const { values } = parsed;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    const catalogFile = requireString(values.catalog, '--catalog');
    const radius = values['phash-radius'] === undefined ? DEFAULT_STACK_PARAMS.phashRadius : Number(values['phash-radius']);
    if (!Number.isInteger(radius) || radius < 0 || radius > 64) throw new UsageError(`--phash-radius must be an integer in 0..64, got "${values['phash-radius']}"`);
    const threshold = values['embedding-threshold'] === undefined ? DEFAULT_STACK_PARAMS.embeddingThreshold : Number(values['embedding-threshold']);
    if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`--embedding-threshold must lie in (0, 1], got "${values['embedding-threshold']}"`);
    if (!existsSync(catalogFile)) throw new Error(`no catalog at ${catalogFile}`);
    const store = openCliCatalog(catalogFile, 'dupes');
    try {
      const packs = store.stats().packs.filter((p) => p.embeddings > 0);
      if (values.pack !== undefined && !packs.some((p) => p.id === values.pack)) throw new UsageError(`--pack ${values.pack}: the catalog has no embeddings of that pack`);
      if (values.pack === undefined && packs.length > 1) throw new UsageError(`the catalog holds embeddings of several packs (${packs.map((p) => p.id).join(', ')}); choose one with --pack`);
      const packId = values.pack ?? packs[0]?.id ?? null;
      const hashed = await computeMissingPerceptualHashes(store, { onProgress: hashProgress(process.stderr) });
      const rebuilt = await rebuildDuplicateStacks(store, packId, { ...DEFAULT_STACK_PARAMS, phashRadius: radius, embeddingThreshold: threshold });
      const summary = {
        hashed: hashed.done - hashed.failed,
        hashFailures: hashed.failures,
        images: rebuilt.images,
        stacks: rebuilt.stacks,
        packId: rebuilt.packId,
        seconds: Number(rebuilt.seconds.toFixed(3)),
      };
      if (values.json) console.log(JSON.stringify(summary));
      else {
        for (const f of hashed.failures) console.log(`  not hashed: ${f.path}: ${f.error}`);
        const s = rebuilt.stacks;
        console.log(
          `${rebuilt.images} images: ${s.exact.stacks} exact stacks (${s.exact.images} images), ${s.perceptual.stacks} perceptual (${s.perceptual.images}), ` +
            `${s.embedding.stacks} embedding (${s.embedding.images}${packId ? `, pack ${packId}` : ', no embeddings'})`,
        );
      }
      return hashed.failed > 0 ? 1 : 0;
    } finally {
      store.close();
    }
  },
};

/** "hashing done/total" on stderr: redrawn on a TTY, a line every 5 s otherwise, and always the last one. */
function hashProgress(stream: NodeJS.WriteStream): (p: HashProgress) => void {
  let last = 0;
  return (p) => {
    const t = performance.now();
    const final = p.done === p.total;
    if (!final && t - last < (stream.isTTY ? 100 : 5000)) return;
    last = t;
    const line = `hashing ${p.done}/${p.total} failed ${p.failed}`;
    stream.write(stream.isTTY ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
}
