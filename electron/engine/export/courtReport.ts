// The court report: the case as one self-contained HTML file that reads on screen and prints to PDF on A4.
// Per item the query crop beside the hit with its matched box(es), the rank, scores and mode it was found with, the
// pack and checkpoint hashes, the file's hash, path and EXIF time; items grouped by category, with images marked not
// relevant and images that carry only a note listed apart; every search's parameters in words (no JSON, no internal
// paths); the examiner and the audit log's head hash; each file's known-set matches, and how many known-ignorable
// files were left out when the examiner asked for that. Every value from the catalog or the analyst is HTML-escaped,
// nothing is loaded from outside the file (CSP: data: images and inline style only), and nothing is wider than the
// page: long paths and hashes wrap anywhere, figures shrink to the column.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../shared/api.ts';
import { describeKnownMatch, knownLeftOutSentence, type CaseReport, type Finding, type ReportItem } from './caseExport.ts';

/** Query crops as JPEG data URIs, keyed `${searchId}/${cropIndex}` (crop index 0 with no crops: the whole photo). */
export interface ReportMedia {
  queryCrops: Map<string, string>;
}

const QUERY_ID = /^[0-9a-f]{64}\.[a-z0-9]{2,5}$/;
const CROP_SIDE = 480;
/** Box colours for crops 1, 2, 3…: the same colour on the query crop's caption and on the hit's box. */
const REGION_COLOURS = ['#e6194b', '#4363d8', '#3cb44b', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

/** The query photo a search ran on: the app's content-addressed copy, or the file a CLI search named. */
function queryFile(params: Record<string, unknown>, dataDir: string): string | null {
  const id = params.queryImageId;
  if (typeof id === 'string' && QUERY_ID.test(id)) {
    const file = join(dataDir, 'queries', id);
    if (existsSync(file)) return file;
  }
  return typeof params.imagePath === 'string' && existsSync(params.imagePath) ? params.imagePath : null;
}

function cropsOf(params: Record<string, unknown>): Box[] {
  return Array.isArray(params.crops) ? (params.crops as Box[]) : [];
}

/** Cuts each crop of every search the report's findings came from out of its query photo (EXIF orientation applied). */
export async function prepareReportMedia(report: CaseReport, dataDir: string): Promise<ReportMedia> {
  const queryCrops = new Map<string, string>();
  const used = new Set(report.items.flatMap((i) => i.findings.map((f) => f.searchId)));
  for (const search of report.searches) {
    if (!used.has(search.id)) continue;
    const file = queryFile(search.params, dataDir);
    if (!file) continue;
    try {
      const oriented = await sharp(file).rotate().toBuffer({ resolveWithObject: true });
      const { width, height } = oriented.info;
      const crops = cropsOf(search.params);
      const regions = crops.length > 0 ? crops : [{ x: 0, y: 0, w: width, h: height }];
      for (const [i, c] of regions.entries()) {
        const left = Math.max(0, Math.min(width - 1, Math.round(c.x)));
        const top = Math.max(0, Math.min(height - 1, Math.round(c.y)));
        const w = Math.max(1, Math.min(width - left, Math.round(c.w)));
        const h = Math.max(1, Math.min(height - top, Math.round(c.h)));
        const jpeg = await sharp(oriented.data)
          .extract({ left, top, width: w, height: h })
          .resize(CROP_SIDE, CROP_SIDE, { fit: 'inside', withoutEnlargement: false, kernel: 'lanczos3' })
          .jpeg({ quality: 85 })
          .toBuffer();
        queryCrops.set(`${search.id}/${i}`, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
      }
    } catch {
      // An unreadable query photo leaves its crops out; the report says so beside the hit.
    }
  }
  return { queryCrops };
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

const px = (b: Box) => `${b.w} × ${b.h} px at (${b.x}, ${b.y})`;
const score = (n: number) => n.toFixed(4);

type Search = CaseReport['searches'][number];

/** A search's parameters as sentences an examiner can read out; the query photo by its file name only. */
export function describeSearch(s: Search): string[] {
  const p = s.params;
  const lines: string[] = [];
  const name = typeof p.queryName === 'string' && p.queryName ? p.queryName : typeof p.imagePath === 'string' ? p.imagePath : '';
  lines.push(`Query photo: ${name ? basename(name.replace(/\\/g, '/')) : 'not recorded'}`);
  const crops = cropsOf(p);
  lines.push(crops.length === 0 ? 'Region: the whole photo' : `Regions (${crops.length}): ${crops.map((c, i) => `${i + 1}) ${px(c)}`).join('; ')}`);
  if (crops.length > 1) lines.push('Several regions: an image scores the mean over the regions of its best match to each');
  if (typeof p.text === 'string' && p.text.trim()) lines.push(`Text: “${p.text}”`);
  lines.push(s.mode === 'adaptive' ? 'Mode: adaptive — QuARI rescoring of the plain search’s best candidates' : 'Mode: baseline — cosine similarity over the region index');
  if (typeof p.k === 'number' && s.mode === 'adaptive') lines.push(p.k === 0 ? 'Candidates rescored: every image in the catalog' : `Candidates rescored: the ${p.k} best images of the plain search`);
  if (typeof p.top === 'number') lines.push(`Results kept: the best ${p.top}`);
  lines.push(`Results: ${s.resultCount} in ${Math.round(s.durationMs)} ms`);
  return lines;
}

/** The hit's thumbnail with one rectangle per matched region, in the image's own pixel coordinates. */
function hitFigure(item: ReportItem, thumb: string | null, finding: Finding | undefined): string {
  if (!thumb) return '<div class="missing">no thumbnail in the catalog</div>';
  const w = item.width ?? 0;
  const h = item.height ?? 0;
  if (!(w > 0 && h > 0)) return `<img src="${thumb}" alt="image ${item.imageId}">`;
  const boxes = finding?.hit ? (finding.hit.regionBoxes.length > 0 ? finding.hit.regionBoxes : [finding.hit.box]) : [];
  const stroke = Math.max(2, Math.round(Math.max(w, h) / 200));
  const rects = boxes
    .map((b, i) => `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" fill="none" stroke="${REGION_COLOURS[i % REGION_COLOURS.length]}" stroke-width="${stroke}"/>`)
    .join('');
  return `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="image ${item.imageId} with its matched region"><image href="${thumb}" width="${w}" height="${h}" preserveAspectRatio="none"/>${rects}</svg>`;
}

function findingBlock(item: ReportItem, thumb: string | null, finding: Finding | undefined, searches: Map<number, Search>, media: ReportMedia | undefined): string {
  const search = finding ? searches.get(finding.searchId) : undefined;
  const figures: string[] = [];
  if (search) {
    const crops = cropsOf(search.params);
    const n = Math.max(1, crops.length);
    for (let i = 0; i < n; i++) {
      const uri = media?.queryCrops.get(`${search.id}/${i}`);
      const label = crops.length === 0 ? 'Query: whole photo' : `Query crop ${i + 1}${crops.length > 1 ? ` of ${crops.length}` : ''}: ${px(crops[i]!)}`;
      figures.push(
        `<figure>${uri ? `<img src="${uri}" alt="${escapeHtml(label)}">` : '<div class="missing">query photo not available</div>'}` +
          `<figcaption><span class="swatch" style="background:${REGION_COLOURS[i % REGION_COLOURS.length]}"></span>${escapeHtml(label)} · search #${search.id}</figcaption></figure>`,
      );
    }
  }
  const hit = finding?.hit;
  const caption = hit
    ? `Hit: rank ${hit.rank} · score ${score(hit.score)} (${search?.mode ?? '?'})${search?.mode === 'adaptive' ? ` · baseline ${score(hit.baselineScore)}` : ''} · matched ${px(hit.box)}`
    : finding
      ? `Found by search #${finding.searchId}; its ranking was not recorded`
      : 'Tagged outside a search';
  figures.push(`<figure>${hitFigure(item, thumb, finding)}<figcaption>${escapeHtml(caption)}</figcaption></figure>`);
  return `<div class="figures">${figures.join('')}</div>`;
}

function itemBlock(item: ReportItem, thumbnailDir: string, searches: Map<number, Search>, media: ReportMedia | undefined, categoryId: number | null): string {
  const thumb = thumbnailDataUri(thumbnailDir, item.thumbnail);
  const finding = item.findings.find((f) => f.categoryId === categoryId) ?? item.findings[0];
  const search = finding ? searches.get(finding.searchId) : undefined;
  const tags = item.tags
    .map(
      (t) => `<span class="tag" style="border-color:${escapeHtml(t.colour)}">${escapeHtml(t.name)}</span>` +
        `<span class="meta">tagged ${escapeHtml(t.taggedAt)}${t.searchId !== null ? ` · found by <a href="#search-${t.searchId}">search #${t.searchId}</a>` : ''}</span>`,
    )
    .join('<br>');
  const relevance = item.relevant === null ? 'not judged' : item.relevant ? 'relevant' : 'not relevant';
  return `<section class="item">
${findingBlock(item, thumb, finding, searches, media)}
<dl>
  <dt>Path</dt><dd class="mono">${escapeHtml(item.path)}</dd>
  <dt>SHA-256</dt><dd class="mono">${escapeHtml(item.sha256 ?? 'not hashed')}</dd>
  <dt>Size</dt><dd>${item.width ?? '?'} × ${item.height ?? '?'} px</dd>
  <dt>EXIF time</dt><dd>${item.capturedAt ? escapeHtml(item.capturedAt) : 'none recorded'}</dd>
  <dt>Known sets</dt><dd>${item.known.map((m) => `<span class="known ${m.kind}">${escapeHtml(describeKnownMatch(m))}</span>`).join(' ') || 'in no imported hash set'}</dd>
  ${search ? `<dt>Model pack</dt><dd>${escapeHtml(search.packId)} · manifest SHA-256 <span class="mono">${escapeHtml(search.packManifestSha256 ?? 'unknown')}</span></dd>
  <dt>QuARI checkpoint</dt><dd class="mono">${escapeHtml(search.checkpointHash ?? 'none (baseline search)')}</dd>` : ''}
  <dt>Tags</dt><dd>${tags || 'none'}</dd>
  <dt>Relevance</dt><dd>${relevance}</dd>
  <dt>Note</dt><dd>${item.note ? escapeHtml(item.note).replace(/\n/g, '<br>') : '—'}</dd>
</dl>
</section>`;
}

export function renderCourtReport(report: CaseReport, thumbnailDir: string, media?: ReportMedia): string {
  const searches = new Map(report.searches.map((s) => [s.id, s]));
  const notRelevant = report.items.filter((i) => i.relevant === false);
  const kept = report.items.filter((i) => i.relevant !== false);
  const groups = report.categories.map((c) => ({ category: c, items: kept.filter((i) => i.tags.some((t) => t.categoryId === c.id)) }));
  const noteOnly = kept.filter((i) => i.tags.length === 0 && i.note);
  const section = (id: string, title: string, items: ReportItem[], categoryId: number | null, empty: string) =>
    `<h2 id="${id}">${escapeHtml(title)} (${items.length})</h2>\n${items.map((i) => itemBlock(i, thumbnailDir, searches, media, categoryId)).join('\n') || `<p class="sub">${empty}</p>`}`;
  const searchBlocks = report.searches
    .map(
      (s) => `<section class="search" id="search-${s.id}"><h3>Search #${s.id} · ${escapeHtml(s.createdAt)}</h3><ul>` +
        describeSearch(s).map((l) => `<li>${escapeHtml(l)}</li>`).join('') +
        `<li>Model pack: ${escapeHtml(s.packId)} · manifest SHA-256 <span class="mono">${escapeHtml(s.packManifestSha256 ?? 'unknown')}</span></li>` +
        `<li>QuARI checkpoint SHA-256: <span class="mono">${escapeHtml(s.checkpointHash ?? 'none (baseline search)')}</span></li></ul></section>`,
    )
    .join('\n');
  const tagged = report.items.filter((i) => i.tags.length > 0).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Case report: ${escapeHtml(report.case.name)}</title>
<style>
*{box-sizing:border-box}
html{overflow-x:hidden}
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;max-width:62rem;margin:0 auto;padding:1.5rem 1rem;overflow-wrap:anywhere}
h1{margin:0 0 .2em}h2{margin-top:1.6em;border-bottom:2px solid #1b1f24;break-after:avoid}h3{margin:.2em 0;font-size:15px}
.sub,.meta{color:#57606a}.meta{font-size:12px}
.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.provenance{display:grid;grid-template-columns:minmax(0,10em) minmax(0,1fr);gap:.2em 1em;margin:.8em 0}
.item,.search{border-top:1px solid #d0d7de;padding:.8em 0;break-inside:avoid}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,13rem),1fr));gap:.8em;margin-bottom:.6em}
figure{margin:0;min-width:0}figure img,figure svg{display:block;width:100%;height:auto;max-height:18rem;object-fit:contain;background:#f0f0f0}
figcaption{font-size:12px;color:#57606a;margin-top:.2em}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
.missing{display:flex;align-items:center;justify-content:center;min-height:8rem;background:#f0f0f0;color:#57606a;font-size:12px}
dl{display:grid;grid-template-columns:minmax(0,8.5em) minmax(0,1fr);gap:.2em 1em;margin:0}dt{color:#57606a}dd{margin:0;min-width:0}
.tag{border:2px solid;border-radius:4px;padding:0 .4em;margin-right:.5em}
.known{border:1px solid #57606a;border-radius:4px;padding:0 .4em}.known.of-interest{border:2px solid #b00020;font-weight:600}
ul{margin:.2em 0;padding-left:1.2em}
@page{size:A4;margin:14mm 12mm}
@media print{body{max-width:none;padding:0;font-size:10.5pt}a{color:inherit;text-decoration:none}figure img,figure svg{max-height:50mm}}
</style></head><body>
<h1>${escapeHtml(report.case.name)}</h1>
<p class="sub">Case #${report.case.id} · created ${escapeHtml(report.case.createdAt)} · exported ${escapeHtml(report.exportedAt)}</p>
${report.case.description ? `<p>${escapeHtml(report.case.description)}</p>` : ''}
<div class="provenance">
  <span class="sub">Examiner</span><span>${escapeHtml(report.examiner)}</span>
  <span class="sub">Catalog</span><span>${escapeHtml(basename(report.catalog))}</span>
  <span class="sub">Audit log</span><span>${report.audit.records} records · head SHA-256 <span class="mono">${escapeHtml(report.audit.headHash)}</span></span>
  <span class="sub">Contents</span><span>${tagged} tagged image${tagged === 1 ? '' : 's'} · ${notRelevant.length} marked not relevant · ${noteOnly.length} noted but not tagged · ${report.searches.length} search${report.searches.length === 1 ? '' : 'es'}${report.knownIgnorableLeftOut > 0 ? ` · ${knownLeftOutSentence(report.knownIgnorableLeftOut)}` : ''}</span>
</div>
<p class="sub">Scores are the similarity between the query region and the best-matching region of the image (cosine; in adaptive mode after QuARI's query-specific rescoring); rank is the image's place in that search. The coloured rectangle on each hit is the region that matched the query crop of the same colour. Check the audit log with <span class="mono">quari audit verify</span>: its head hash must match, or follow, the one above.</p>
${groups.map((g) => section(`category-${g.category.id}`, g.category.name, g.items, g.category.id, 'No images in this category.')).join('\n')}
${section('not-relevant', 'Marked not relevant', notRelevant, null, 'No images were marked not relevant.')}
${section('noted', 'Noted, not tagged', noteOnly, null, 'No untagged images carry a note.')}
<h2 id="searches">Searches (${report.searches.length})</h2>
${searchBlocks || '<p class="sub">No searches recorded.</p>'}
</body></html>
`;
}
