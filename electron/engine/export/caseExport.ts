// Case reports: what an analyst hands over. HTML (the court report, courtReport.ts), CSV and JSON, written next to
// the catalog (never into an evidence folder). Every item carries its absolute path and SHA-256 so a reader can
// verify the evidence; every search that found an item is listed with its pack, checkpoint hash and parameters, and
// each tag with the rank, scores and matched boxes the image had in that search. The examiner and the audit log's
// head hash at export time tie the report to the catalog's tamper-evident record. Each item carries its known-set
// matches (hashsets.ts); known-ignorable items (in ignorable sets only) may be left out, and the report then says
// how many, so a reader is never left to assume the case was complete.
import { canonicalSha256 } from '../../../db/audit.ts';
import type { CaseItem, CatalogStore, CategoryRow, KnownMatch, SearchHitRecord, SearchRow } from '../../../db/Interface.ts';
import { EXPORT_FORMATS, QuariApiError, type ExportFormat } from '../../shared/api.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { renderCourtReport, type ReportMedia } from './courtReport.ts';

/** Where a tagged image stood in the search it was tagged from. */
export interface Finding {
  searchId: number;
  categoryId: number;
  /** null when the search's ranking was not recorded (searches from before schema version 6). */
  hit: SearchHitRecord | null;
}

export type ReportItem = CaseItem & {
  width: number | null;
  height: number | null;
  capturedAt: string | null;
  findings: Finding[];
  /** The hash sets the file is in, with the set's kind and the category the set gives it. */
  known: KnownMatch[];
};

export interface CaseReport {
  case: { id: number; name: string; description: string; createdAt: string };
  exportedAt: string;
  catalog: string;
  examiner: string;
  /** The audit log at export time: a later `quari audit verify` must show this record as part of the chain. */
  audit: { records: number; headHash: string };
  categories: { id: number; name: string; hotkey: number; colour: string }[];
  items: ReportItem[];
  /** Known-ignorable items left out at the examiner's request (0 when none were asked to be left out). */
  knownIgnorableLeftOut: number;
  searches: (SearchRow & { packManifestSha256: string | null })[];
}

export interface CaseReportOptions {
  /** Leave out items whose file is in known-ignorable sets only (an of-interest match keeps an item in). */
  hideKnownIgnorable?: boolean;
}

/** The kinds a file's matches make it: ignorable only when every set it is in is ignorable (flagging wins). */
export function isKnownIgnorable(known: KnownMatch[]): boolean {
  return known.length > 0 && known.every((m) => m.kind === 'ignorable');
}

/** The report reads the catalog once, from one snapshot: a tag or note added meanwhile is wholly in it or absent. */
export function buildCaseReport(store: CatalogStore, caseId: number, options: CaseReportOptions = {}): CaseReport {
  return store.snapshot(() => readCaseReport(store, caseId, options));
}

function readCaseReport(store: CatalogStore, caseId: number, options: CaseReportOptions): CaseReport {
  const kase = store.getCase(caseId);
  if (!kase) throw new Error(`case ${caseId} does not exist`);
  const hitsOf = new Map<number, SearchHitRecord[]>();
  const hitIn = (searchId: number, imageId: number): SearchHitRecord | null => {
    let hits = hitsOf.get(searchId);
    if (!hits) hitsOf.set(searchId, (hits = store.getSearchHits(searchId)));
    return hits.find((h) => h.imageId === imageId) ?? null;
  };
  const allItems = store.listCaseItems(caseId).map((item): ReportItem => {
    const image = store.getImage(item.imageId);
    return {
      ...item,
      width: image?.width ?? null,
      height: image?.height ?? null,
      capturedAt: image?.capturedAt ?? null,
      findings: item.tags.flatMap((t) => (t.searchId === null ? [] : [{ searchId: t.searchId, categoryId: t.categoryId, hit: hitIn(t.searchId, item.imageId) }])),
      known: store.getKnownMatches(item.imageId),
    };
  });
  const items = options.hideKnownIgnorable ? allItems.filter((i) => !isKnownIgnorable(i.known)) : allItems;
  const searchIds = new Set<number>();
  for (const item of items) for (const tag of item.tags) if (tag.searchId !== null) searchIds.add(tag.searchId);
  for (const search of store.listSearches({ caseId, limit: 10_000 })) searchIds.add(search.id);
  const searches = [...searchIds]
    .sort((a, b) => a - b)
    .map((id) => store.getSearch(id))
    .filter((s): s is SearchRow => s !== undefined)
    .map((s) => {
      const manifest = store.getPack(s.packId)?.manifest;
      return { ...s, packManifestSha256: manifest === undefined ? null : canonicalSha256(manifest) };
    });
  return {
    case: { id: kase.id, name: kase.name, description: kase.description, createdAt: kase.createdAt },
    exportedAt: new Date().toISOString(),
    catalog: store.file,
    examiner: store.examiner(),
    audit: store.auditHead(),
    categories: store.listCategories(caseId).map((c: CategoryRow) => ({ id: c.id, name: c.name, hotkey: c.hotkey, colour: c.colour })),
    items,
    knownIgnorableLeftOut: allItems.length - items.length,
    searches,
  };
}

export interface WrittenExport {
  path: string;
  fileName: string;
  mimeType: string;
  bytes: number;
}

/** The formats rendered from a CaseReport; 'vics' is built from the catalog's hashes (vicsExport.ts). */
export type ReportFormat = Exclude<ExportFormat, 'vics'>;

export const MIME: Record<ExportFormat, string> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  vics: 'application/json',
};

/** `case-<id>-<slug>-<time>.<ext>`: the exports folder's file name for a case export. */
export function exportFileName(kase: { id: number; name: string }, exportedAt: string, extension: string): string {
  const slug = kase.name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'case';
  return `case-${kase.id}-${slug}-${exportedAt.replace(/[:.]/g, '-')}.${extension}`;
}

/**
 * Renders the report and writes it under `exportDir`, named after the case and the time. `media` (query crops,
 * prepareReportMedia) goes into the HTML; without it the HTML shows the hits alone.
 */
export function writeCaseExport(report: CaseReport, format: ReportFormat, exportDir: string, thumbnailDir: string, media?: ReportMedia): WrittenExport {
  // The format names the file's extension: only the allow-list, whatever a caller's types claimed.
  if (!(EXPORT_FORMATS as readonly unknown[]).includes(format) || (format as ExportFormat) === 'vics') {
    throw new QuariApiError('bad-request', `export format must be one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const content = renderCaseReport(report, format, thumbnailDir, media);
  const fileName = exportFileName(report.case, report.exportedAt, format);
  const path = writeFileAtomic(exportDir, fileName, content);
  return { path, fileName, mimeType: MIME[format], bytes: Buffer.byteLength(content) };
}

/** The report as the text of one format (the same bytes the API's export and `quari case export` write). */
export function renderCaseReport(report: CaseReport, format: ReportFormat, thumbnailDir: string, media?: ReportMedia): string {
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'csv' ? renderCsv(report) : renderCourtReport(report, thumbnailDir, media);
}

export function renderCsv(report: CaseReport): string {
  const header = ['image_id', 'path', 'sha256', 'width', 'height', 'captured_at', 'category', 'tagged_at', 'search_id', 'note', 'known_sets'];
  const rows: unknown[][] = [];
  for (const item of report.items) {
    const tags = item.tags.length > 0 ? item.tags : [null];
    const known = item.known.map(describeKnownMatch).join('; ');
    for (const tag of tags) {
      rows.push([item.imageId, item.path, item.sha256, item.width, item.height, item.capturedAt, tag?.name, tag?.taggedAt, tag?.searchId, item.note, known]);
    }
  }
  // The count of left-out items closes the file, so a spreadsheet reader sees it under the rows.
  if (report.knownIgnorableLeftOut > 0) rows.push([knownLeftOutSentence(report.knownIgnorableLeftOut)]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One known-set match in words: `set name (kind, category)`; the same text in the CSV and the court report. */
export function describeKnownMatch(m: KnownMatch): string {
  return `${m.setName} (${m.kind}${m.category ? `, ${m.category}` : ''})`;
}

export function knownLeftOutSentence(n: number): string {
  return `${n} known-ignorable file${n === 1 ? '' : 's'} left out`;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // Quote always-risky characters; prefix formula starters so a spreadsheet never evaluates evidence text.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
