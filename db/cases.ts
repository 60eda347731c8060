// The analyst's work in the catalog: cases, their tag categories (hotkeys 1..9), tags, notes and relevance marks,
// and the case's items read from one snapshot. Every change is audited (session.ts audited) and every
// read-then-write runs inside its transaction. Plain functions taking the database (CatalogStore delegates here);
// schema in migrations/001_initial.ts and 007_investigation.ts.
import { checkId, now, read, sql, type Db } from './connection.ts';
import { CatalogError, onConstraint } from './errors.ts';
import { getImage } from './images.ts';
import type { CaseItem, CaseRow, CaseSummary, CategoryInput, CategoryRow, ImageTag, NoteRow, RelevanceRow, TagInput } from './Interface.ts';
import { audited } from './session.ts';

const CASE_COLUMNS = `id, name, description, created_at AS createdAt`;
const CATEGORY_COLUMNS = `id, case_id AS caseId, name, hotkey, colour, created_at AS createdAt`;
const NOTE_COLUMNS = `case_id AS caseId, image_id AS imageId, text, updated_at AS updatedAt`;
const CASE_SUMMARY = `SELECT ${CASE_COLUMNS},
      (SELECT count(DISTINCT image_id) FROM image_tags t WHERE t.case_id = cases.id) AS taggedCount
      FROM cases`;

/** One colour per hotkey, distinguishable on light and dark backgrounds. */
const CATEGORY_PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

const invalid = (field: string, message: string) => new CatalogError('invalid', field, message);

function checkHotkey(what: string, hotkey: number): void {
  if (!Number.isInteger(hotkey) || hotkey < 1 || hotkey > 9) throw invalid('hotkey', `${what}: hotkey ${hotkey} is not 1..9`);
}

function normaliseColour(what: string, colour: string): string {
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw invalid('colour', `${what}: colour must be '#rrggbb', got '${colour}'`);
  return colour.toLowerCase();
}

// ---- cases

/** Creates the case and its categories atomically. */
export function createCase(db: Db, input: { name: string; description?: string; categories?: readonly (string | CategoryInput)[] }): CaseRow {
  const name = input.name?.trim();
  if (!name) throw invalid('name', 'createCase: name must be non-empty');
  return audited(db, 'case.created', () => {
    const row = onConstraint(
      'UNIQUE',
      'name',
      () => `createCase: a case named '${name}' already exists`,
      () => sql(db, `INSERT INTO cases (name, description, created_at) VALUES (?, ?, ?) RETURNING ${CASE_COLUMNS}`).get(name, input.description ?? '', now()) as CaseRow,
    );
    const categories = (input.categories ?? []).map((c) => insertCategory(db, row.id, typeof c === 'string' ? { name: c } : c));
    return { row, categories };
  }, ({ row, categories }) => ({
    caseId: row.id,
    name: row.name,
    description: row.description,
    categories: categories.map((c) => ({ categoryId: c.id, name: c.name, hotkey: c.hotkey })),
  })).row;
}

export function getCase(db: Db, id: number): CaseSummary | undefined {
  return sql(db, `${CASE_SUMMARY} WHERE id = ?`).get(id) as CaseSummary | undefined;
}

export function listCases(db: Db): CaseSummary[] {
  return sql(db, `${CASE_SUMMARY} ORDER BY created_at DESC, id DESC`).all() as CaseSummary[];
}

export function updateCase(db: Db, id: number, changes: { name?: string; description?: string }): CaseRow {
  checkId('updateCase', id);
  // The current row is read inside the write, so the unchanged fields and the audit's `before` are what was replaced.
  return audited(db, 'case.updated', () => {
    const current = getCase(db, id);
    if (!current) throw new CatalogError('not-found', 'id', `updateCase: no case with id ${id}`);
    const name = changes.name === undefined ? current.name : changes.name.trim();
    if (!name) throw invalid('name', `updateCase(${id}): name must be non-empty`);
    const row = onConstraint(
      'UNIQUE',
      'name',
      () => `updateCase(${id}): a case named '${name}' already exists`,
      () => sql(db, `UPDATE cases SET name = ?, description = ? WHERE id = ? RETURNING ${CASE_COLUMNS}`).get(name, changes.description ?? current.description, id) as CaseRow,
    );
    return { row, before: { name: current.name, description: current.description } };
  }, ({ row, before }) => ({ caseId: id, name: row.name, description: row.description, before })).row;
}

/** Deletes the case with its categories, tags and notes; its searches stay, detached. */
export function deleteCase(db: Db, id: number): void {
  checkId('deleteCase', id);
  audited(db, 'case.deleted', () => {
    if (sql(db, `DELETE FROM cases WHERE id = ?`).run(id).changes !== 1) throw new CatalogError('not-found', 'id', `deleteCase: no case with id ${id}`);
  }, () => ({ caseId: id }));
}

// ---- categories

export function createCategory(db: Db, caseId: number, input: CategoryInput): CategoryRow {
  checkId('createCategory', caseId, 'caseId');
  return audited(db, 'category.created', () => insertCategory(db, caseId, input), (c) => ({ caseId, categoryId: c.id, name: c.name, hotkey: c.hotkey }));
}

/** Must run inside a transaction (the free-hotkey choice and the insert must see the same state). */
function insertCategory(db: Db, caseId: number, input: CategoryInput): CategoryRow {
  const what = `createCategory(case ${caseId})`;
  if (!getCase(db, caseId)) throw new CatalogError('not-found', 'caseId', `${what}: no case with id ${caseId}`);
  const name = input.name?.trim();
  if (!name) throw invalid('name', `${what}: category name must be non-empty`);
  let hotkey = input.hotkey;
  if (hotkey === undefined) {
    const used = new Set(sql(db, `SELECT hotkey FROM tag_categories WHERE case_id = ?`).pluck().all(caseId) as number[]);
    hotkey = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((k) => !used.has(k));
    if (hotkey === undefined) throw new CatalogError('conflict', 'hotkey', `${what}: the case already has a category on each hotkey 1..9`);
  }
  checkHotkey(what, hotkey);
  const colour = normaliseColour(what, input.colour ?? CATEGORY_PALETTE[hotkey - 1]);
  return onConstraint(
    'UNIQUE',
    'name',
    () => `${what}: category name '${name}' or hotkey ${hotkey} is already used in this case`,
    () => sql(db, `INSERT INTO tag_categories (case_id, name, hotkey, colour, created_at)
      VALUES (?, ?, ?, ?, ?) RETURNING ${CATEGORY_COLUMNS}`).get(caseId, name, hotkey, colour, now()) as CategoryRow,
  );
}

export function listCategories(db: Db, caseId: number): CategoryRow[] {
  return sql(db, `SELECT ${CATEGORY_COLUMNS} FROM tag_categories WHERE case_id = ? ORDER BY hotkey`).all(caseId) as CategoryRow[];
}

export function updateCategory(db: Db, id: number, changes: Partial<CategoryInput>): CategoryRow {
  checkId('updateCategory', id);
  const what = `updateCategory(${id})`;
  return audited(db, 'category.updated', () => {
    const current = sql(db, `SELECT ${CATEGORY_COLUMNS} FROM tag_categories WHERE id = ?`).get(id) as CategoryRow | undefined;
    if (!current) throw new CatalogError('not-found', 'id', `updateCategory: no category with id ${id}`);
    const name = changes.name === undefined ? current.name : changes.name.trim();
    if (!name) throw invalid('name', `${what}: name must be non-empty`);
    const hotkey = changes.hotkey ?? current.hotkey;
    checkHotkey(what, hotkey);
    const colour = normaliseColour(what, changes.colour ?? current.colour);
    const row = onConstraint(
      'UNIQUE',
      'name',
      () => `${what}: category name '${name}' or hotkey ${hotkey} is already used in this case`,
      () => sql(db, `UPDATE tag_categories SET name = ?, hotkey = ?, colour = ? WHERE id = ?
      RETURNING ${CATEGORY_COLUMNS}`).get(name, hotkey, colour, id) as CategoryRow,
    );
    return { row, before: { name: current.name, hotkey: current.hotkey, colour: current.colour } };
  }, ({ row: c, before }) => ({ caseId: c.caseId, categoryId: id, name: c.name, hotkey: c.hotkey, colour: c.colour, before })).row;
}

/** Deletes the category and every tag made with it. */
export function deleteCategory(db: Db, id: number): void {
  checkId('deleteCategory', id);
  audited(db, 'category.deleted', () => {
    if (sql(db, `DELETE FROM tag_categories WHERE id = ?`).run(id).changes !== 1) {
      throw new CatalogError('not-found', 'id', `deleteCategory: no category with id ${id}`);
    }
  }, () => ({ categoryId: id }));
}

// ---- tags

/** True if the tag is new; re-tagging keeps the original tag (and the search that first found the image). */
export function tagImage(db: Db, tag: TagInput): boolean {
  const { caseId, imageId, categoryId } = tag;
  const searchId = tag.searchId ?? null;
  return onConstraint(
    'FOREIGNKEY',
    'categoryId',
    () =>
      `tagImage: case ${caseId}, image ${imageId}, category ${categoryId}` +
      `${searchId === null ? '' : ` or search ${searchId}`} does not exist, or the category belongs to another case`,
    () => audited(db, 'case.tagged', () => sql(db, `INSERT INTO image_tags (case_id, image_id, category_id, search_id, tagged_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`).run(caseId, imageId, categoryId, searchId, now()).changes === 1,
      (added) => (added ? { caseId, imageId, categoryId, searchId, sha256: getImage(db, imageId)?.sha256 ?? null } : null)),
  );
}

/** True if a tag was removed. */
export function untagImage(db: Db, tag: Omit<TagInput, 'searchId'>): boolean {
  const { caseId, imageId, categoryId } = tag;
  return audited(db, 'case.untagged', () => sql(db, `DELETE FROM image_tags WHERE case_id = ? AND image_id = ? AND category_id = ?`).run(caseId, imageId, categoryId).changes === 1,
    (removed) => (removed ? { caseId, imageId, categoryId } : null));
}

export function getImageTags(db: Db, caseId: number, imageId: number): ImageTag[] {
  return sql(db, `SELECT t.category_id AS categoryId, c.name, c.hotkey, c.colour, t.tagged_at AS taggedAt,
      t.search_id AS searchId, t.stack_tier AS stackTier, t.stack_of AS stackOf
      FROM image_tags t JOIN tag_categories c ON c.id = t.category_id
      WHERE t.case_id = ? AND t.image_id = ? ORDER BY c.hotkey`).all(caseId, imageId) as ImageTag[];
}

/** Every image tagged, annotated or judged in the case (one snapshot): tagged ones in order of their first tag, then note-only, then judged-only ones. */
export function listCaseItems(db: Db, caseId: number): CaseItem[] {
  type ItemHead = { imageId: number; path: string; sha256: string | null; thumbnail: string | null };
  // Map order is the order of first appearance: tags come sorted by (tagged_at, rowid), then notes.
  const items = new Map<number, CaseItem>();
  const itemFor = (r: ItemHead): CaseItem => {
    let item = items.get(r.imageId);
    if (!item) {
      item = { imageId: r.imageId, path: r.path, sha256: r.sha256, thumbnail: r.thumbnail, tags: [], note: null, relevant: null };
      items.set(r.imageId, item);
    }
    return item;
  };
  return read(db, () => {
    const tags = sql(db, `SELECT t.image_id AS imageId, i.path, i.sha256, i.thumbnail, t.category_id AS categoryId, c.name,
      c.hotkey, c.colour, t.tagged_at AS taggedAt, t.search_id AS searchId, t.stack_tier AS stackTier, t.stack_of AS stackOf
      FROM image_tags t JOIN images i ON i.id = t.image_id JOIN tag_categories c ON c.id = t.category_id
      WHERE t.case_id = ? ORDER BY t.tagged_at, t.rowid`).all(caseId) as (ItemHead & ImageTag)[];
    for (const r of tags) {
      const { categoryId, name, hotkey, colour, taggedAt, searchId, stackTier, stackOf } = r;
      itemFor(r).tags.push({ categoryId, name, hotkey, colour, taggedAt, searchId, stackTier, stackOf });
    }
    const notes = sql(db, `SELECT n.image_id AS imageId, i.path, i.sha256, i.thumbnail, n.text, n.updated_at AS updatedAt
      FROM notes n JOIN images i ON i.id = n.image_id WHERE n.case_id = ? ORDER BY n.updated_at, n.rowid`).all(caseId) as (ItemHead & { text: string })[];
    for (const r of notes) itemFor(r).note = r.text;
    const marks = sql(db, `SELECT r.image_id AS imageId, i.path, i.sha256, i.thumbnail, r.relevant FROM relevance r
      JOIN images i ON i.id = r.image_id WHERE r.case_id = ? ORDER BY r.judged_at, r.image_id`).all(caseId) as (ItemHead & { relevant: number })[];
    for (const r of marks) itemFor(r).relevant = r.relevant === 1;
    return [...items.values()];
  });
}

// ---- notes

/** Upserts the note; returns it. */
export function setNote(db: Db, caseId: number, imageId: number, text: string): NoteRow {
  if (typeof text !== 'string') throw invalid('text', `setNote(case ${caseId}, image ${imageId}): text must be a string`);
  return onConstraint(
    'FOREIGNKEY',
    'caseId',
    () => `setNote: case ${caseId} or image ${imageId} does not exist`,
    () => audited(db, 'note.set', () => {
      const before = getNote(db, caseId, imageId)?.text ?? null;
      const row = sql(db, `INSERT INTO notes (case_id, image_id, text, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (case_id, image_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
      RETURNING ${NOTE_COLUMNS}`).get(caseId, imageId, text, now()) as NoteRow;
      return { before, row };
    }, ({ before }) => (before === text ? null : { caseId, imageId, text, previous: before })).row,
  );
}

export function getNote(db: Db, caseId: number, imageId: number): NoteRow | undefined {
  return sql(db, `SELECT ${NOTE_COLUMNS} FROM notes WHERE case_id = ? AND image_id = ?`).get(caseId, imageId) as NoteRow | undefined;
}

export function deleteNote(db: Db, caseId: number, imageId: number): boolean {
  return audited(db, 'note.cleared', () => {
    const before = getNote(db, caseId, imageId)?.text ?? null;
    return { before, removed: sql(db, `DELETE FROM notes WHERE case_id = ? AND image_id = ?`).run(caseId, imageId).changes === 1 };
  }, ({ before, removed }) => (removed ? { caseId, imageId, previous: before } : null)).removed;
}

// ---- relevance

/** relevant true/false marks the image; null removes the mark. True if something changed. */
export function setRelevance(db: Db, input: { caseId: number; imageId: number; relevant: boolean | null; searchId?: number | null }): boolean {
  const { caseId, imageId, relevant } = input;
  const searchId = input.searchId ?? null;
  checkId('setRelevance', caseId, 'caseId');
  checkId('setRelevance', imageId, 'imageId');
  if (relevant !== null && typeof relevant !== 'boolean') {
    throw invalid('relevant', `setRelevance(case ${caseId}, image ${imageId}): relevant must be true, false or null`);
  }
  return audited(db, relevant === null ? 'relevance.cleared' : 'relevance.marked', () => {
    const before = sql(db, `SELECT relevant FROM relevance WHERE case_id = ? AND image_id = ?`).get(caseId, imageId) as { relevant: number } | undefined;
    if (relevant === null) return before ? sql(db, `DELETE FROM relevance WHERE case_id = ? AND image_id = ?`).run(caseId, imageId).changes === 1 : false;
    if (before && Boolean(before.relevant) === relevant) return false;
    onConstraint('FOREIGNKEY', 'caseId', () => `setRelevance: case ${caseId}, image ${imageId} or search ${searchId} does not exist`, () =>
      sql(db, `INSERT INTO relevance (case_id, image_id, relevant, search_id, judged_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (case_id, image_id) DO UPDATE SET relevant = excluded.relevant, search_id = excluded.search_id, judged_at = excluded.judged_at`)
        .run(caseId, imageId, relevant ? 1 : 0, searchId, now()));
    return true;
  }, (changed) => (changed ? { caseId, imageId, relevant, searchId } : null));
}

export function listRelevance(db: Db, caseId: number): RelevanceRow[] {
  const rows = sql(db, `SELECT case_id AS caseId, image_id AS imageId, relevant, search_id AS searchId, judged_at AS judgedAt
      FROM relevance WHERE case_id = ? ORDER BY judged_at, image_id`).all(caseId) as (Omit<RelevanceRow, 'relevant'> & { relevant: number })[];
  return rows.map((r) => ({ ...r, relevant: r.relevant === 1 }));
}
