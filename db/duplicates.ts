// The catalog's duplicate domain (migration 006): perceptual hashes keyed by SHA-256, duplicate stacks in three
// nested tiers, and tags applied to a whole stack. Plain functions over the database, reached through
// CatalogStore.duplicates; building the stacks (which images belong together) is the engine's job
// (electron/engine/duplicates/), this module only stores and reads them.
import type Database from 'better-sqlite3';
import { STACK_TIERS, type StackTier } from '../electron/shared/api.ts';

/** exact: identical bytes; perceptual: pHash within a Hamming radius; embedding: whole-image cosine above a threshold. */
export type DuplicateTier = StackTier;
export const DUPLICATE_TIERS = STACK_TIERS;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** What building stacks needs to know about one catalogued ('ok') image. */
export interface StackInput {
  imageId: number;
  sha256: string;
  /** width × height. */
  pixels: number;
  size: number;
  /** 16 hex digits; null until computed. */
  phash: string | null;
}

export interface NewStack {
  tier: DuplicateTier;
  bestImageId: number;
  /** Every member, the best one included; at least two. */
  members: readonly number[];
}

export interface StackRow {
  stackId: number;
  tier: DuplicateTier;
  bestImageId: number;
  size: number;
  params: Record<string, unknown>;
}

/** An image's stack in one tier. */
export interface ImageStack {
  stackId: number;
  tier: DuplicateTier;
  bestImageId: number;
  size: number;
}

export interface StackTagInput {
  caseId: number;
  /** Any member: the whole stack it belongs to in `tier` is tagged. */
  imageId: number;
  tier: DuplicateTier;
  categoryId: number;
  searchId?: number | null;
}

export interface DuplicateStore {
  /** Stores the pHash of the bytes with this SHA-256 (a no-op when present: same bytes, same hash). */
  putPerceptualHash(sha256: string, phash: string): void;
  getPerceptualHash(sha256: string): string | undefined;
  /** Every 'ok' image, in id order, with what stack building needs. */
  listStackInputs(): StackInput[];
  /** 'ok' images whose bytes have no pHash yet (one per SHA-256), ids ascending after `afterImageId`. */
  listMissingPerceptualHashes(options: { afterImageId?: number; limit: number }): { imageId: number; path: string; sha256: string }[];
  countMissingPerceptualHashes(): number;
  /** Replaces every stack in one transaction; `params` (thresholds, pack, time) is stored with each tier's stacks. */
  replaceStacks(stacks: readonly NewStack[], params: Record<DuplicateTier, Record<string, unknown>>): void;
  /** Stacks per tier. */
  countStacks(): Record<DuplicateTier, { stacks: number; images: number }>;
  /** Largest first. */
  listStacks(tier: DuplicateTier, options?: { limit?: number; offset?: number }): StackRow[];
  getStack(stackId: number): StackRow | undefined;
  /** Member ids, best first then ascending. */
  stackMembers(stackId: number): number[];
  /** Each given image's stack in every tier where it has one. */
  stacksOfImages(imageIds: readonly number[]): Map<number, Partial<Record<DuplicateTier, ImageStack>>>;
  /**
   * Tags every member of the image's stack in `tier` in one transaction, each tag recording the tier and the image
   * it was applied from; members already tagged with the category keep their tag. Returns the members tagged now.
   * Refuses (naming the image) when the image has no stack in that tier.
   */
  tagStack(input: StackTagInput): { stack: ImageStack; tagged: number[] };
}

export function duplicateStore(db: Database.Database): DuplicateStore {
  const p = (sql: string) => db.prepare(sql);
  const s = {
    putHash: p(`INSERT OR IGNORE INTO perceptual_hashes (sha256, phash, computed_at) VALUES (?, ?, ?)`),
    getHash: p(`SELECT phash FROM perceptual_hashes WHERE sha256 = ?`).pluck(),
    inputs: p(`SELECT i.id AS imageId, i.sha256, i.width * i.height AS pixels, i.size, h.phash
      FROM images i LEFT JOIN perceptual_hashes h ON h.sha256 = i.sha256 WHERE i.status = 'ok' ORDER BY i.id`),
    missing: p(`SELECT min(i.id) AS imageId, i.sha256 FROM images i
      WHERE i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM perceptual_hashes h WHERE h.sha256 = i.sha256)
      GROUP BY i.sha256 HAVING min(i.id) > ? ORDER BY imageId LIMIT ?`),
    countMissing: p(`SELECT count(DISTINCT i.sha256) FROM images i
      WHERE i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM perceptual_hashes h WHERE h.sha256 = i.sha256)`).pluck(),
    pathOf: p(`SELECT path FROM images WHERE id = ?`).pluck(),
    clearMembers: p(`DELETE FROM duplicate_members`),
    clearStacks: p(`DELETE FROM duplicate_stacks`),
    insertStack: p(`INSERT INTO duplicate_stacks (tier, best_image_id, size, params) VALUES (?, ?, ?, ?) RETURNING id`).pluck(),
    insertMember: p(`INSERT INTO duplicate_members (tier, image_id, stack_id) VALUES (?, ?, ?)`),
    countStacks: p(`SELECT tier, count(*) AS stacks, coalesce(sum(size), 0) AS images FROM duplicate_stacks GROUP BY tier`),
    listStacks: p(`SELECT id AS stackId, tier, best_image_id AS bestImageId, size, params FROM duplicate_stacks
      WHERE tier = ? ORDER BY size DESC, id LIMIT ? OFFSET ?`),
    getStack: p(`SELECT id AS stackId, tier, best_image_id AS bestImageId, size, params FROM duplicate_stacks WHERE id = ?`),
    members: p(`SELECT m.image_id FROM duplicate_members m JOIN duplicate_stacks s ON s.id = m.stack_id
      WHERE m.stack_id = ? ORDER BY m.image_id <> s.best_image_id, m.image_id`).pluck(),
    stacksOf: p(`SELECT m.image_id AS imageId, s.id AS stackId, s.tier, s.best_image_id AS bestImageId, s.size
      FROM duplicate_members m JOIN duplicate_stacks s ON s.id = m.stack_id
      WHERE m.image_id IN (SELECT value FROM json_each(?))`),
    stackOf: p(`SELECT s.id AS stackId, s.tier, s.best_image_id AS bestImageId, s.size
      FROM duplicate_members m JOIN duplicate_stacks s ON s.id = m.stack_id WHERE m.tier = ? AND m.image_id = ?`),
    categoryInCase: p(`SELECT 1 FROM tag_categories WHERE id = ? AND case_id = ?`).pluck(),
    tag: p(`INSERT OR IGNORE INTO image_tags (case_id, image_id, category_id, search_id, tagged_at, stack_tier, stack_of)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
  };
  const write = <T>(fn: () => T): T => db.transaction(fn).immediate();
  const parseRow = (r: Omit<StackRow, 'params'> & { params: string }): StackRow => ({ ...r, params: JSON.parse(r.params) as Record<string, unknown> });

  return {
    putPerceptualHash(sha256, phash) {
      if (!HEX64.test(sha256)) throw new Error(`putPerceptualHash: sha256 "${sha256}" is not 64 lower-case hex digits`);
      if (!HEX16.test(phash)) throw new Error(`putPerceptualHash(${sha256}): phash "${phash}" is not 16 lower-case hex digits`);
      s.putHash.run(sha256, phash, new Date().toISOString());
    },
    getPerceptualHash: (sha256) => s.getHash.get(sha256) as string | undefined,
    listStackInputs: () => s.inputs.all() as StackInput[],
    listMissingPerceptualHashes({ afterImageId = 0, limit }) {
      return (s.missing.all(afterImageId, limit) as { imageId: number; sha256: string }[]).map((r) => ({ ...r, path: s.pathOf.get(r.imageId) as string }));
    },
    countMissingPerceptualHashes: () => s.countMissing.get() as number,
    replaceStacks(stacks, params) {
      for (const [i, st] of stacks.entries()) {
        if (!(DUPLICATE_TIERS as readonly string[]).includes(st.tier)) throw new Error(`replaceStacks: stack ${i} has unknown tier "${st.tier}"`);
        if (st.members.length < 2) throw new Error(`replaceStacks: stack ${i} (${st.tier}) has ${st.members.length} member(s); a stack needs two`);
        if (!st.members.includes(st.bestImageId)) throw new Error(`replaceStacks: stack ${i} (${st.tier}): best image ${st.bestImageId} is not a member`);
      }
      write(() => {
        s.clearMembers.run();
        s.clearStacks.run();
        for (const st of stacks) {
          const id = s.insertStack.get(st.tier, st.bestImageId, st.members.length, JSON.stringify(params[st.tier])) as number;
          // The (tier, image) key refuses an image in two stacks of one tier, rolling back the whole rebuild.
          for (const m of st.members) s.insertMember.run(st.tier, m, id);
        }
      });
    },
    countStacks() {
      const out = Object.fromEntries(DUPLICATE_TIERS.map((t) => [t, { stacks: 0, images: 0 }])) as Record<DuplicateTier, { stacks: number; images: number }>;
      for (const r of s.countStacks.all() as { tier: DuplicateTier; stacks: number; images: number }[]) out[r.tier] = { stacks: r.stacks, images: r.images };
      return out;
    },
    listStacks(tier, { limit = 100, offset = 0 } = {}) {
      return (s.listStacks.all(tier, limit, offset) as (Omit<StackRow, 'params'> & { params: string })[]).map(parseRow);
    },
    getStack(stackId) {
      const r = s.getStack.get(stackId) as (Omit<StackRow, 'params'> & { params: string }) | undefined;
      return r && parseRow(r);
    },
    stackMembers: (stackId) => s.members.all(stackId) as number[],
    stacksOfImages(imageIds) {
      const out = new Map<number, Partial<Record<DuplicateTier, ImageStack>>>();
      for (const r of s.stacksOf.all(JSON.stringify(imageIds)) as (ImageStack & { imageId: number })[]) {
        const { imageId, ...stack } = r;
        const entry = out.get(imageId) ?? {};
        entry[stack.tier] = stack;
        out.set(imageId, entry);
      }
      return out;
    },
    tagStack({ caseId, imageId, tier, categoryId, searchId = null }) {
      return write(() => {
        const stack = s.stackOf.get(tier, imageId) as ImageStack | undefined;
        if (!stack) throw new Error(`tagStack: image ${imageId} is in no ${tier} duplicate stack`);
        if (!s.categoryInCase.get(categoryId, caseId)) throw new Error(`tagStack: category ${categoryId} does not belong to case ${caseId}`);
        const t = new Date().toISOString();
        const tagged = (s.members.all(stack.stackId) as number[]).filter(
          (m) => s.tag.run(caseId, m, categoryId, searchId, t, tier, imageId).changes === 1,
        );
        return { stack, tagged };
      });
    },
  };
}
