// quari pack list | verify <id|dir> | import <dir>
import { PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import { parse, UsageError, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage:
  quari pack list [--json]            list built-in and imported model packs
  quari pack verify <id|dir> [--json] check a pack's manifest and every file's SHA-256
  quari pack import <dir> [--json]    verify a pack folder and copy it into the user's pack folder

The user's pack folder is $QUARI_HOME/packs (default: $XDG_DATA_HOME/quari-workstation/packs).`;

export const packCommand: Command = {
  synopsis: 'pack list|verify|import   manage model packs',
  usage,
  async run(argv) {
    const parsed = parse(argv, { json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const [action, target, ...extra] = parsed.positionals;
    const json = parsed.values.json === true;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
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
      const pack = action === 'verify' ? await registry.load(target) : await registry.import(target);
      const files = Object.keys(pack.manifest.files).length;
      if (json) console.log(JSON.stringify({ id: pack.manifest.id, dir: pack.dir, ok: true, files }));
      else console.log(`${pack.manifest.id}: ${action === 'verify' ? 'verified' : 'imported into'} ${terminalSafe(pack.dir)} (${files} files checked)`);
      return 0;
    }
    throw new UsageError(action ? `unknown pack action "${action}"` : 'pack needs an action: list, verify or import');
  },
};
