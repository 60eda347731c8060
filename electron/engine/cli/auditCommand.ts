// quari audit verify --catalog F [--json] | quari audit list --catalog F [--limit N] [--json]
// verify walks the catalog's hash-chained audit log (db/audit.ts) and exits 0 when it is intact, 4 when a record
// fails (the first one is named with the reason); list prints the newest records. Neither writes to the catalog.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { listAudit, verifyAudit } from '../../../db/audit.ts';
import { parse, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { EXIT } from './exitCodes.ts';

const usage = `Usage:
  quari audit verify --catalog <file> [--json]            check the audit log's hash chain
  quari audit list --catalog <file> [--limit N] [--json]  the newest records (default 20)

verify exits 0 when every record's hash and link to the previous record hold:
  {"ok":true,"records":n,"headHash":"…","appendOnlyTriggers":true}
and 4 when one does not, naming the first record that fails and why:
  {"ok":false,"records":n,"appendOnlyTriggers":…,"firstBad":{"seq":n,"at":"…","examiner":"…","event":"…","reason":"…"}}
The head hash printed here is the one court reports carry: compare them to detect a log cut short.`;


export const auditCommand: Command = {
  synopsis: 'audit verify|list         check or show the tamper-evident audit log',
  usage,
  async run(argv) {
    const parsed = parse(argv, { catalog: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, usage);
    if (!parsed) return 0;
    const [action, ...extra] = parsed.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (action !== 'verify' && action !== 'list') throw new UsageError(action ? `unknown audit action "${action}"` : 'audit needs an action: verify or list');
    const file = requireString(parsed.values.catalog, '--catalog');
    if (!existsSync(file)) throw new Error(`no catalog at ${file}`);
    // Read-only and without migrating: checking evidence must not change it.
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const hasLog = db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'`).pluck().get() === 1;
      if (!hasLog) throw new Error(`${file} has no audit log (a catalog from before schema version 6, or not a catalog)`);
      const json = parsed.values.json === true;
      if (action === 'list') {
        const records = listAudit(db, positiveInt(parsed.values.limit, '--limit', 20), 0);
        if (json) console.log(JSON.stringify(records));
        else for (const r of records) console.log(`${r.seq}\t${r.at}\t${r.examiner}\t${r.event}\t${JSON.stringify(r.data)}`);
        return 0;
      }
      const result = verifyAudit(db);
      if (json) console.log(JSON.stringify(result));
      else if (result.ok) console.log(`audit log intact: ${result.records} records, head ${result.headHash}${result.appendOnlyTriggers ? '' : ' (its append-only triggers were removed)'}`);
      else console.log(`audit log BROKEN at record ${result.firstBad.seq} (${result.firstBad.event}, ${result.firstBad.at}): ${result.firstBad.reason}`);
      return result.ok ? EXIT.ok : EXIT.auditBroken;
    } finally {
      db.close();
    }
  },
};
