// quari hashset import <file> --catalog F [--name N] [--format …] [--kind …] [--hash-type …] [--json]
// quari hashset list --catalog F [--json]
import { existsSync } from 'node:fs';
import { openCliCatalog } from './catalog.ts';
import type { HashSetFormat, HashSetKind, HashSetRow } from '../../../db/Interface.ts';
import { HASH_SET_FORMATS, importHashSetFile } from '../hashsets/importFile.ts';
import type { HashName } from '../hashsets/records.ts';
import { parse, requireString, UsageError, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage: quari hashset import <file> --catalog <file> [--name N] [--format nsrl-rds3|vics|text]
                       [--kind ignorable|of-interest] [--hash-type md5|sha1|sha256] [--json]
       quari hashset list --catalog <file> [--json]

import: reads a hash set and matches it against every catalogued image (and, from then on, every image ingest
adds). Formats, told from the first bytes unless --format says: NSRL RDS v3 (the SQLite publication, FILE table;
kind ignorable by default), Project VIC / CAID VICS JSON 1.3 or 2.0 (Media with MD5/SHA1 and Category; kind
of-interest), plain lists of hex hashes, one per line (type from the length, or --hash-type; kind of-interest).
One transaction: a malformed file (bad SQLite, bad JSON, unknown VICS version, invalid hex) is refused with the
record or line at fault and leaves the catalog as it was. Progress goes to stderr. The last line of stdout is
{"set":name,"format":…,"kind":…,"version":…,"records":n,"hashes":n,"matchedImages":m,"sourceSha256":…,"seconds":s}
(with --json, the only line).
list: the catalog's sets with their counts (--json: one JSON array).`;

const KINDS: readonly HashSetKind[] = ['ignorable', 'of-interest'];
const HASH_TYPES: readonly HashName[] = ['md5', 'sha1', 'sha256'];

function oneOf<T extends string>(value: unknown, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${String(value)}"`);
  return value as T;
}

function summary(s: HashSetRow, seconds?: number) {
  return {
    set: s.name,
    format: s.format,
    kind: s.kind,
    version: s.version,
    records: s.records,
    hashes: s.hashCount,
    matchedImages: s.matchedImages,
    sourceSha256: s.sourceSha256,
    importedAt: s.importedAt,
    ...(seconds === undefined ? {} : { seconds: Number(seconds.toFixed(3)) }),
  };
}

export const hashsetCommand: Command = {
  synopsis: 'hashset import|list      known-file sets: NSRL RDS v3, VICS JSON, hash lists',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      {
        catalog: { type: 'string' },
        name: { type: 'string' },
        format: { type: 'string' },
        kind: { type: 'string' },
        'hash-type': { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [verb, ...files] = positionals;
    const catalogFile = requireString(values.catalog, '--catalog');
    if (verb === 'list') {
      if (!existsSync(catalogFile)) throw new Error(`no catalog at ${catalogFile}`);
      const catalog = openCliCatalog(catalogFile, 'hashset');
      try {
        const sets = catalog.listHashSets().map((s) => summary(s));
        if (values.json) console.log(JSON.stringify(sets));
        else for (const s of sets) console.log(`${terminalSafe(s.set)} (${s.format}, ${s.kind}): ${s.hashes} hashes, ${s.matchedImages} images matched`);
        return 0;
      } finally {
        catalog.close();
      }
    }
    if (verb !== 'import') throw new UsageError(verb === undefined ? 'import or list is required' : `unknown hashset verb "${verb}"`);
    if (files.length !== 1) throw new UsageError(files.length === 0 ? 'a hash-set file to import is required' : `one file at a time, got ${files.length}`);
    const file = files[0]!;
    if (!existsSync(file)) throw new Error(`no such file ${file}`);
    const format = oneOf<HashSetFormat>(values.format, HASH_SET_FORMATS, '--format');
    const kind = oneOf(values.kind, KINDS, '--kind');
    const hashType = oneOf(values['hash-type'], HASH_TYPES, '--hash-type');
    const catalog = openCliCatalog(catalogFile, 'hashset');
    try {
      const result = await importHashSetFile(catalog, file, {
        ...(values.name !== undefined ? { name: requireString(values.name, '--name') } : {}),
        ...(format ? { format } : {}),
        ...(kind ? { kind } : {}),
        ...(hashType ? { hashType } : {}),
        onProgress: (p) =>
          process.stderr.write(
            p.phase === 'reading'
              ? `\rimporting ${terminalSafe(file)}: ${p.records} records, ${(p.fraction * 100).toFixed(1)} % read, ${p.recordsPerSecond} records/s`
              : `\rimporting ${terminalSafe(file)}: ${p.records} records read, committing`,
          ),
      });
      process.stderr.write('\n');
      if (!values.json) {
        console.log(`imported ${terminalSafe(result.name)}: ${result.records} records, ${result.hashCount} distinct hashes, ${result.matchedImages} catalogued images matched in ${result.seconds.toFixed(1)} s`);
      }
      console.log(JSON.stringify(summary(result, result.seconds)));
      return 0;
    } finally {
      catalog.close();
    }
  },
};
