// A case as VICS 2.0 JSON (the OData media list Project VIC / CAID tools import): one Media per image tagged or
// annotated in the case, with MD5, SHA1 (upper-case, as VICS writes them), MediaSize, the file name and path,
// the analyst's note and case categories in Comments, and Category from the case's VICS mapping.
//
// Mapping: each case category exports as its stored VICS category (tag_categories.vics_category, set with
// `quari case export --vics-map Name=N,…`) or, unmapped, as the default for its name (defaultVicsCategory: the
// Project VIC names and numbers 0..4; anything else 0, uncategorised). An image tagged with several categories
// exports the most serious one: 1, 2, 3, 4, then 0, then higher numbers.
import { basename } from 'node:path';
import type { CatalogStore } from '../../../db/Interface.ts';
import { defaultVicsCategory, VICS_EXPORT_CONTEXT } from '../hashsets/vics.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { exportFileName, MIME, type WrittenExport } from './caseExport.ts';

export interface VicsMediaOut {
  MediaID: number;
  Category: number;
  MD5: string;
  SHA1: string;
  MediaSize: number;
  IsPrecategorized: boolean;
  Comments: string;
  MediaFiles: { FileName: string; FilePath: string }[];
}

export interface VicsDocument {
  '@odata.context': string;
  value: VicsMediaOut[];
}

/** Severity order of Project VIC's categories; numbers beyond 4 (a local scheme) after them. */
function seriousness(c: number): number {
  return c >= 1 && c <= 4 ? c : c === 0 ? 5 : 5 + c;
}

/** The VICS category each of the case's categories exports as, by category id. */
export function vicsMapping(store: CatalogStore, caseId: number): Map<number, number> {
  return new Map(store.listVicsCategories(caseId).map((c) => [c.categoryId, c.vicsCategory ?? defaultVicsCategory(c.name)]));
}

export function buildVicsExport(store: CatalogStore, caseId: number): VicsDocument {
  if (!store.getCase(caseId)) throw new Error(`case ${caseId} does not exist`);
  const mapping = vicsMapping(store, caseId);
  const value = store.listCaseItems(caseId).map((item, i): VicsMediaOut => {
    const image = store.getImage(item.imageId);
    if (!image || image.status !== 'ok' || !image.md5 || !image.sha1) {
      throw new Error(
        `image ${item.imageId} (${item.path}) has no MD5/SHA-1 in the catalog (catalogued before they existed, or no longer ok); ` +
          'ingest its folder again to add them, then export',
      );
    }
    const categories = item.tags.map((t) => mapping.get(t.categoryId) ?? defaultVicsCategory(t.name));
    const category = categories.sort((a, b) => seriousness(a) - seriousness(b))[0] ?? 0;
    const comments = [
      item.tags.length > 0 ? `case categories: ${item.tags.map((t) => t.name).join(', ')}` : '',
      item.note ? `note: ${item.note}` : '',
    ].filter(Boolean);
    return {
      MediaID: i + 1,
      Category: category,
      MD5: image.md5.toUpperCase(),
      SHA1: image.sha1.toUpperCase(),
      MediaSize: image.size,
      // A JSON boolean (OData Edm.Boolean); some tools write "false" as a string, and the readers seen accept either.
      IsPrecategorized: false,
      Comments: comments.join('\n'),
      MediaFiles: [{ FileName: basename(image.path), FilePath: image.path }],
    };
  });
  return { '@odata.context': VICS_EXPORT_CONTEXT, value };
}

/** The case's VICS JSON, written atomically into `exportDir` as `case-<id>-<slug>-<time>.vics.json`. */
export function writeVicsExport(store: CatalogStore, caseId: number, exportDir: string): WrittenExport {
  const doc = buildVicsExport(store, caseId);
  const content = `${JSON.stringify(doc, null, 1)}\n`;
  const fileName = exportFileName(store.getCase(caseId)!, new Date().toISOString(), 'vics.json');
  const path = writeFileAtomic(exportDir, fileName, content);
  return { path, fileName, mimeType: MIME.vics, bytes: Buffer.byteLength(content) };
}
