// Cases as the analyst works them: create, read (with categories and tagged items), tag, untag, note, relevance
// marks, export (the court report with its query crops; every export is written to the audit log with its SHA-256).
// Media URLs come from the host.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogStore, DuplicateTier } from '../../../db/Interface.ts';
import { QuariApiError, type CaseDetails, type CaseSummary, type ExportFormat, type ExportResult } from '../../shared/api.ts';
import { buildCaseReport, writeCaseExport } from '../export/caseExport.ts';
import { prepareReportMedia } from '../export/courtReport.ts';
import { writeVicsExport } from '../export/vicsExport.ts';
import type { MediaUrlBuilder } from './searchSession.ts';

export class Cases {
  constructor(
    private readonly store: CatalogStore,
    private readonly dataDir: string,
    private readonly mediaUrl: MediaUrlBuilder,
  ) {}

  list(): CaseSummary[] {
    return this.store.listCases().map((c) => ({ caseId: c.id, name: c.name, description: c.description, createdAt: c.createdAt, taggedCount: c.taggedCount }));
  }

  create(input: { name: string; description?: string; categories: string[] }): CaseDetails {
    if (!input.name.trim()) throw new QuariApiError('bad-request', 'a case needs a name');
    if (input.categories.length > 9) throw new QuariApiError('bad-request', 'a case has at most 9 categories (hotkeys 1–9)');
    const row = this.store.createCase({ name: input.name.trim(), description: input.description ?? '', categories: input.categories });
    return this.get(row.id);
  }

  /** The case, its categories and its items from one snapshot of the catalog. */
  get(caseId: number): CaseDetails {
    return this.store.snapshot(() => this.read(caseId));
  }

  private read(caseId: number): CaseDetails {
    const summary = this.store.getCase(caseId);
    if (!summary) throw new QuariApiError('not-found', `case ${caseId} does not exist`);
    return {
      caseId: summary.id,
      name: summary.name,
      description: summary.description,
      createdAt: summary.createdAt,
      taggedCount: summary.taggedCount,
      categories: this.store.listCategories(caseId).map((c) => ({ categoryId: c.id, name: c.name, hotkey: c.hotkey })),
      items: this.store.listCaseItems(caseId).map((item) => ({
        imageId: item.imageId,
        path: item.path,
        sha256: item.sha256 ?? '',
        thumbnailUrl: this.mediaUrl('thumb', item.imageId),
        categories: item.tags.map((t) => ({ categoryId: t.categoryId, name: t.name, taggedAt: t.taggedAt, searchId: t.searchId, stackTier: t.stackTier, stackOf: t.stackOf })),
        note: item.note ?? '',
        relevant: item.relevant,
      })),
    };
  }

  tag(input: { caseId: number; imageId: number; categoryId: number; searchId: number | null }): CaseDetails {
    this.requireCategory(input.caseId, input.categoryId);
    this.requireImage(input.imageId);
    this.store.tagImage(input);
    return this.get(input.caseId);
  }

  /** Tags every member of the image's stack in `tier`; each tag records the tier and the member it came from. */
  tagStack(input: { caseId: number; imageId: number; tier: DuplicateTier; categoryId: number; searchId: number | null }): CaseDetails {
    this.requireCategory(input.caseId, input.categoryId);
    this.requireImage(input.imageId);
    if (!this.store.duplicates.stacksOfImages([input.imageId]).get(input.imageId)?.[input.tier]) {
      throw new QuariApiError('not-found', `image ${input.imageId} is in no ${input.tier} duplicate stack`);
    }
    this.store.duplicates.tagStack(input);
    return this.get(input.caseId);
  }

  untag(input: { caseId: number; imageId: number; categoryId: number }): CaseDetails {
    this.requireCategory(input.caseId, input.categoryId);
    this.store.untagImage(input);
    return this.get(input.caseId);
  }

  setNote(input: { caseId: number; imageId: number; text: string }): CaseDetails {
    if (!this.store.getCase(input.caseId)) throw new QuariApiError('not-found', `case ${input.caseId} does not exist`);
    this.requireImage(input.imageId);
    if (input.text.trim() === '') this.store.deleteNote(input.caseId, input.imageId);
    else this.store.setNote(input.caseId, input.imageId, input.text);
    return this.get(input.caseId);
  }

  setRelevance(input: { caseId: number; imageId: number; relevant: boolean | null; searchId: number | null }): CaseDetails {
    if (!this.store.getCase(input.caseId)) throw new QuariApiError('not-found', `case ${input.caseId} does not exist`);
    this.requireImage(input.imageId);
    if (input.searchId !== null && !this.store.getSearch(input.searchId)) throw new QuariApiError('not-found', `search ${input.searchId} does not exist`);
    this.store.setRelevance(input);
    return this.get(input.caseId);
  }

  async export(input: { caseId: number; format: ExportFormat; hideKnownIgnorable?: boolean }): Promise<ExportResult> {
    if (!this.store.getCase(input.caseId)) throw new QuariApiError('not-found', `case ${input.caseId} does not exist`);
    const exportDir = join(this.dataDir, 'exports');
    if (input.format === 'vics') {
      try {
        const written = writeVicsExport(this.store, input.caseId, exportDir);
        this.store.appendAudit('case.exported', { caseId: input.caseId, format: 'vics', fileName: written.fileName, bytes: written.bytes });
        return written;
      } catch (err) {
        // An image catalogued before MD5/SHA-1 is the analyst's to fix (re-ingest), not an internal failure.
        if (/has no MD5\/SHA-1/.test((err as Error).message)) throw new QuariApiError('unavailable', (err as Error).message);
        throw err;
      }
    }
    const report = buildCaseReport(this.store, input.caseId, { hideKnownIgnorable: input.hideKnownIgnorable === true });
    const media = input.format === 'html' ? await prepareReportMedia(report, this.dataDir) : undefined;
    const result = writeCaseExport(report, input.format, exportDir, this.dataDir, media);
    const sha256 = createHash('sha256').update(await readFile(result.path)).digest('hex');
    this.store.appendAudit('case.exported', { caseId: input.caseId, format: input.format, fileName: result.fileName, bytes: result.bytes, sha256, knownIgnorableLeftOut: report.knownIgnorableLeftOut });
    return result;
  }

  private requireImage(imageId: number): void {
    if (!this.store.getImage(imageId)) throw new QuariApiError('not-found', `image ${imageId} is not in the catalog`);
  }

  private requireCategory(caseId: number, categoryId: number): void {
    if (!this.store.getCase(caseId)) throw new QuariApiError('not-found', `case ${caseId} does not exist`);
    if (!this.store.listCategories(caseId).some((c) => c.id === categoryId)) {
      throw new QuariApiError('not-found', `category ${categoryId} does not belong to case ${caseId}`);
    }
  }
}
