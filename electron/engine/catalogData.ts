// Where the files a catalog refers to live: `<catalog>.data`, next to the catalog file (thumbnails, query photos,
// exports, on-disk indexes). File layout, not SQL: the catalog stores paths relative to this folder.
import { resolve } from 'node:path';

/** Folder next to the catalog for files the catalog refers to: `<catalog>.data`. */
export function catalogDataDir(catalogFile: string): string {
  return `${resolve(catalogFile)}.data`;
}
