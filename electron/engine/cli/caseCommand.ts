// quari case export --catalog F --case <id|name> --format html|csv|json|vics --out FILE [--vics-map Name=N,…]
//                   [--hide-known-ignorable]
// quari case list --catalog F [--json]
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { catalogDataDir } from '../catalogData.ts';
import { prepareReportMedia } from '../export/courtReport.ts';
import { openCliCatalog } from './catalog.ts';
import type { CaseSummary, CatalogStore } from '../../../db/Interface.ts';
import { isSameOrInside } from '../../shared/paths.ts';
import { writeFileDurably } from '../export/atomicWrite.ts';
import { buildCaseReport, renderCaseReport } from '../export/caseExport.ts';
import { buildVicsExport } from '../export/vicsExport.ts';
import { parse, requireString, UsageError, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const FORMATS = ['html', 'csv', 'json', 'vics'] as const;
type Format = (typeof FORMATS)[number];

const usage = `Usage: quari case export --catalog <file> --case <id|name> --format html|csv|json|vics --out <file>
                        [--vics-map "Name=N,Name=N"] [--hide-known-ignorable]
       quari case list --catalog <file> [--json]

export: writes the case report (html: self-contained court report; csv; json) or the case as VICS 2.0 JSON
(Project VIC / CAID: MD5, SHA1, size, file name and path, Category, the note in Comments) to --out, through a
temporary file renamed into place, so a full disk never leaves a truncated file under that name. --out may not
lie inside an ingested evidence folder.
VICS categories: each case category exports as the VICS category stored for it, else its default: a category
named after Project VIC's (0 uncategorized/non-pertinent, 1 CAM, 2 child exploitive, 3 CGI/animation,
4 comparison, or "Category N") exports as that number, any other as 0. --vics-map stores numbers (0..99) for the
named categories of the case before exporting (kept for later exports); an image with several categories
exports the most serious (1, 2, 3, 4, then 0).
--hide-known-ignorable (html, csv, json): leaves out files that are in known-ignorable hash sets only (a file
also in an of-interest set stays); the report states "n known-ignorable files left out". Each item lists its
known-set matches (set, kind, category) either way.
list: the catalog's cases (--json: [{"id","name","taggedCount"}]).`;

function findCase(store: CatalogStore, ref: string): CaseSummary {
  const byId = /^\d+$/.test(ref) ? store.getCase(Number(ref)) : undefined;
  const found = byId ?? store.listCases().find((c) => c.name.toLowerCase() === ref.trim().toLowerCase());
  if (!found) throw new Error(`no case with id or name '${ref}' in the catalog`);
  return found;
}

function applyVicsMap(store: CatalogStore, caseId: number, spec: string): void {
  const categories = store.listVicsCategories(caseId);
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*=\s*(\d{1,2})$/.exec(part);
    if (!m) throw new UsageError(`--vics-map entries are Name=N (N 0..99), got "${part}"`);
    const category = categories.find((c) => c.name.toLowerCase() === m[1]!.trim().toLowerCase());
    if (!category) throw new UsageError(`--vics-map: the case has no category "${m[1]}" (it has: ${categories.map((c) => c.name).join(', ')})`);
    store.setVicsCategory(category.categoryId, Number(m[2]));
  }
}

export const caseCommand: Command = {
  synopsis: 'case export|list         export a case (html, csv, json, VICS JSON)',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      { catalog: { type: 'string' }, case: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, 'vics-map': { type: 'string' }, 'hide-known-ignorable': { type: 'boolean' }, json: { type: 'boolean' } },
      usage,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const verb = positionals[0];
    if (verb !== 'export' && verb !== 'list') throw new UsageError(verb === undefined ? 'export or list is required' : `unknown case verb "${verb}"`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    const catalogFile = requireString(values.catalog, '--catalog');
    if (!existsSync(catalogFile)) throw new Error(`no catalog at ${catalogFile}`);
    const store = openCliCatalog(catalogFile, 'case');
    try {
      if (verb === 'list') {
        const cases = store.listCases().map((c) => ({ id: c.id, name: c.name, taggedCount: c.taggedCount }));
        if (values.json) console.log(JSON.stringify(cases));
        else for (const c of cases) console.log(`${c.id}\t${terminalSafe(c.name)}\t${c.taggedCount} tagged`);
        return 0;
      }
      const format = requireString(values.format, '--format') as Format;
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
      const out = resolve(requireString(values.out, '--out'));
      if (!existsSync(dirname(out))) throw new Error(`--out: folder ${dirname(out)} does not exist`);
      // Checked on the real path too: a symbolic link to an evidence folder must not lead the export into it.
      const realOut = join(realpathSync(dirname(out)), basename(out));
      for (const run of store.listIngestRuns({ limit: 100_000 })) {
        if (isSameOrInside(out, run.root) || isSameOrInside(realOut, run.root)) {
          throw new Error(`--out ${out} lies inside the evidence folder ${run.root}; evidence folders are read-only`);
        }
      }
      const kase = findCase(store, requireString(values.case, '--case'));
      if (values['vics-map'] !== undefined) {
        if (format !== 'vics') throw new UsageError('--vics-map applies to --format vics');
        applyVicsMap(store, kase.id, values['vics-map']);
      }
      const hideKnownIgnorable = values['hide-known-ignorable'] === true;
      if (hideKnownIgnorable && format === 'vics') throw new UsageError('--hide-known-ignorable applies to --format html, csv or json');
      let content: string;
      let knownIgnorableLeftOut = 0;
      if (format === 'vics') content = `${JSON.stringify(buildVicsExport(store, kase.id), null, 1)}\n`;
      else {
        const report = buildCaseReport(store, kase.id, { hideKnownIgnorable });
        knownIgnorableLeftOut = report.knownIgnorableLeftOut;
        const media = format === 'html' ? await prepareReportMedia(report, catalogDataDir(store.file)) : undefined;
        content = renderCaseReport(report, format, catalogDataDir(store.file), media);
      }
      try {
        writeFileDurably(out, content);
      } catch (err) {
        throw new Error(`cannot write ${out}: ${(err as Error).message}`);
      }
      store.appendAudit('case.exported', { caseId: kase.id, format, out, bytes: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex'), knownIgnorableLeftOut });
      const line = { case: kase.id, name: kase.name, format, out, bytes: Buffer.byteLength(content) };
      console.log(values.json ? JSON.stringify(line) : `wrote ${terminalSafe(out)} (${line.bytes} bytes, case ${kase.id} '${terminalSafe(kase.name)}' as ${format})`);
      return 0;
    } finally {
      store.close();
    }
  },
};
