// quari pack list | verify <id|dir> | import <dir> [--catalog F]
import { resolve } from 'node:path';
import { PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import { importPackAudited } from '../app/packImport.ts';
import { parse, UsageError, type Command } from './args.ts';
import { openCliCatalog } from './catalog.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage:
  quari pack list [--json]            list built-in and imported model packs
  quari pack verify <id|dir> [--json] check a pack's manifest and every file's SHA-256
  quari pack import <dir> [--catalog <file>] [--json]
                                      verify a pack folder and copy it into the user's pack folder

The user's pack folder is $QUARI_HOME/packs (default: $XDG_DATA_HOME/quari-workstation/packs). It serves every
catalog, so an import is recorded ('pack.imported', with the manifest and checkpoint SHA-256) in the audit log of
the catalog named by --catalog; every catalog also records 'pack.registered' when it first uses a pack.`;

export const packCommand: Command = {
  synopsis: 'pack list|verify|import   manage model packs',
  usage,
  async run(argv) {
    const parsed = parse(argv, { catalog: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const [action, target, ...extra] = parsed.positionals;
    const json = parsed.values.json === true;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const catalogFile = parsed.values.catalog;
    if (catalogFile !== undefined && action !== 'import') throw new UsageError(`--catalog is for pack import only (the audit log it records into)`);
    const registry = new PackRegistry();

    if (action === 'list') {
      const packs = registry.list().map((p) => ({
        id: p.id,
        source: p.source,
        dir: p.dir,
        version: p.manifest?.version ?? null,
        name: p.manifest?.name ?? null,
        embeddingDim: p.manifest?.embeddingDim ?? null,
        quari: p.manifest?.quariCheckpoint !== undefined,
        error: p.error ?? null,
      }));
      if (json) console.log(JSON.stringify(packs));
      else if (packs.length === 0) console.log('no model packs (run npm install to build the default pack)');
      else for (const p of packs) console.log(`${p.id}\t${p.source}\t${p.error ? `BROKEN: ${terminalSafe(p.error)}` : `v${terminalSafe(p.version ?? '')}\t${p.embeddingDim}-d${p.quari ? '\tQuARI' : ''}\t${terminalSafe(p.name ?? '')}`}`);
      return 0;
    }
    if (action === 'verify' || action === 'import') {
      if (!target) throw new UsageError(`pack ${action} needs a pack ${action === 'verify' ? 'id or folder' : 'folder'}`);
      const store = catalogFile === undefined ? null : openCliCatalog(catalogFile, 'pack');
      try {
        const pack = action === 'verify' ? await registry.load(target) : store ? await importPackAudited(registry, store, target) : await registry.import(target);
        const files = Object.keys(pack.manifest.files).length;
        const audited = store ? { auditedIn: resolve(catalogFile!) } : {};
        if (json) console.log(JSON.stringify({ id: pack.manifest.id, dir: pack.dir, ok: true, files, ...audited }));
        else console.log(`${pack.manifest.id}: ${action === 'verify' ? 'verified' : 'imported into'} ${terminalSafe(pack.dir)} (${files} files checked)${store ? `; recorded in the audit log of ${terminalSafe(resolve(catalogFile!))}` : ''}`);
        return 0;
      } finally {
        store?.close();
      }
    }
    throw new UsageError(action ? `unknown pack action "${action}"` : 'pack needs an action: list, verify or import');
  },
};
