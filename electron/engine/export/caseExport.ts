// Case reports: what an analyst hands over. HTML (self-contained, thumbnails embedded), CSV and JSON, written next to
// the catalog (never into an evidence folder). Every item carries its absolute path and SHA-256 so a reader can
// verify the evidence; every search that found an item is listed with its pack, checkpoint hash and parameters.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseItem, CatalogStore, CategoryRow, SearchRow } from '../../../db/Interface.ts';
import { EXPORT_FORMATS, QuariApiError, type ExportFormat } from '../../shared/api.ts';
import { writeFileAtomic } from './atomicWrite.ts';

export interface CaseReport {
  case: { id: number; name: string; description: string; createdAt: string };
  exportedAt: string;
  catalog: string;
  categories: { id: number; name: string; hotkey: number; colour: string }[];
  items: (CaseItem & { width: number | null; height: number | null; capturedAt: string | null })[];
  searches: SearchRow[];
}

export function buildCaseReport(store: CatalogStore, caseId: number): CaseReport {
  const kase = store.getCase(caseId);
  if (!kase) throw new Error(`case ${caseId} does not exist`);
  const items = store.listCaseItems(caseId).map((item) => {
    const image = store.getImage(item.imageId);
    return { ...item, width: image?.width ?? null, height: image?.height ?? null, capturedAt: image?.capturedAt ?? null };
  });
  const searchIds = new Set<number>();
  for (const item of items) for (const tag of item.tags) if (tag.searchId !== null) searchIds.add(tag.searchId);
  for (const search of store.listSearches({ caseId, limit: 10_000 })) searchIds.add(search.id);
  const searches = [...searchIds]
    .sort((a, b) => a - b)
    .map((id) => store.getSearch(id))
    .filter((s): s is SearchRow => s !== undefined);
  return {
    case: { id: kase.id, name: kase.name, description: kase.description, createdAt: kase.createdAt },
    exportedAt: new Date().toISOString(),
    catalog: store.file,
    categories: store.listCategories(caseId).map((c: CategoryRow) => ({ id: c.id, name: c.name, hotkey: c.hotkey, colour: c.colour })),
    items,
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

/** Renders the report and writes it under `exportDir`, named after the case and the time. */
export function writeCaseExport(report: CaseReport, format: ReportFormat, exportDir: string, thumbnailDir: string): WrittenExport {
  // The format names the file's extension: only the allow-list, whatever a caller's types claimed.
  if (!(EXPORT_FORMATS as readonly unknown[]).includes(format) || (format as ExportFormat) === 'vics') {
    throw new QuariApiError('bad-request', `export format must be one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const content = renderCaseReport(report, format, thumbnailDir);
  const fileName = exportFileName(report.case, report.exportedAt, format);
  const path = writeFileAtomic(exportDir, fileName, content);
  return { path, fileName, mimeType: MIME[format], bytes: Buffer.byteLength(content) };
}

/** The report as the text of one format (the same bytes the API's export and `quari case export` write). */
export function renderCaseReport(report: CaseReport, format: ReportFormat, thumbnailDir: string): string {
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'csv' ? renderCsv(report) : renderHtml(report, thumbnailDir);
}

export function renderCsv(report: CaseReport): string {
  const header = ['image_id', 'path', 'sha256', 'width', 'height', 'captured_at', 'category', 'tagged_at', 'search_id', 'note'];
  const rows: unknown[][] = [];
  for (const item of report.items) {
    const tags = item.tags.length > 0 ? item.tags : [null];
    for (const tag of tags) {
      rows.push([item.imageId, item.path, item.sha256, item.width, item.height, item.capturedAt, tag?.name, tag?.taggedAt, tag?.searchId, item.note]);
    }
  }
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // Quote always-risky characters; prefix formula starters so a spreadsheet never evaluates evidence text.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function thumbnailDataUri(thumbnailDir: string, thumbnail: string | null): string | null {
  if (!thumbnail) return null;
  const file = join(thumbnailDir, thumbnail);
  if (!existsSync(file)) return null;
  const mime = thumbnail.endsWith('.png') ? 'image/png' : thumbnail.endsWith('.webp') ? 'image/webp' : 'image/jpeg';
  return `data:${mime};base64,${readFileSync(file).toString('base64')}`;
}

export function renderHtml(report: CaseReport, thumbnailDir: string): string {
  const searchRows = report.searches
    .map(
      (s) => `<tr id="search-${s.id}"><td>#${s.id}</td><td>${escapeHtml(s.createdAt)}</td><td>${escapeHtml(s.mode)}</td>` +
        `<td>${escapeHtml(s.packId)}</td><td class="mono">${escapeHtml(s.checkpointHash ?? '—')}</td>` +
        `<td><pre>${escapeHtml(JSON.stringify(s.params, null, 1))}</pre></td><td>${s.resultCount}</td></tr>`,
    )
    .join('\n');
  const itemBlocks = report.items
    .map((item) => {
      const thumb = thumbnailDataUri(thumbnailDir, item.thumbnail);
      const tags = item.tags
        .map(
          (t) => `<span class="tag" style="border-color:${escapeHtml(t.colour)}">${escapeHtml(t.name)}</span>` +
            `<span class="meta">${escapeHtml(t.taggedAt)}${t.searchId !== null ? ` · found by <a href="#search-${t.searchId}">search #${t.searchId}</a>` : ''}</span>`,
        )
        .join('<br>');
      return `<section class="item">
  ${thumb ? `<img src="${thumb}" alt="thumbnail of image ${item.imageId}">` : '<div class="nothumb">no thumbnail</div>'}
  <dl>
    <dt>Path</dt><dd class="mono">${escapeHtml(item.path)}</dd>
    <dt>SHA-256</dt><dd class="mono">${escapeHtml(item.sha256 ?? 'not hashed')}</dd>
    <dt>Size</dt><dd>${item.width ?? '?'} × ${item.height ?? '?'} px${item.capturedAt ? ` · captured ${escapeHtml(item.capturedAt)}` : ''}</dd>
    <dt>Tags</dt><dd>${tags || '—'}</dd>
    <dt>Note</dt><dd>${item.note ? escapeHtml(item.note).replace(/\n/g, '<br>') : '—'}</dd>
  </dl>
</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Case report: ${escapeHtml(report.case.name)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f24}
h1{margin-bottom:0}.sub{color:#57606a}
.item{display:flex;gap:1.2em;border-top:1px solid #d0d7de;padding:1em 0}
.item img,.nothumb{width:200px;height:auto;flex:none;background:#eee}
dl{display:grid;grid-template-columns:7em 1fr;gap:.2em 1em;margin:0}dt{color:#57606a}dd{margin:0}
.mono{font-family:ui-monospace,monospace;word-break:break-all}
.tag{border:2px solid;border-radius:4px;padding:0 .4em;margin-right:.5em}.meta{color:#57606a;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:.3em .5em;vertical-align:top;text-align:left}
pre{margin:0;font-size:12px;white-space:pre-wrap}
</style></head><body>
<h1>${escapeHtml(report.case.name)}</h1>
<p class="sub">Case #${report.case.id} · created ${escapeHtml(report.case.createdAt)} · exported ${escapeHtml(report.exportedAt)}<br>
Catalog: <span class="mono">${escapeHtml(report.catalog)}</span></p>
${report.case.description ? `<p>${escapeHtml(report.case.description)}</p>` : ''}
<h2>Tagged images (${report.items.length})</h2>
${itemBlocks || '<p>No images tagged yet.</p>'}
<h2>Searches (${report.searches.length})</h2>
<table><thead><tr><th>Search</th><th>When</th><th>Mode</th><th>Model pack</th><th>QuARI checkpoint SHA-256</th><th>Parameters</th><th>Results</th></tr></thead>
<tbody>
${searchRows || '<tr><td colspan="7">No searches recorded.</td></tr>'}
</tbody></table>
</body></html>
`;
}
