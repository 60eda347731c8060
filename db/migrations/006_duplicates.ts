// Schema version 6: duplicate stacks in three tiers, kept distinct — identical bytes (SHA-256), perceptual
// near-duplicates (a 64-bit pHash of the decoded pixels) and embedding near-duplicates (whole-image vectors of one
// pack above a cosine threshold) — and tags that were applied to a whole stack.
//
// Perceptual hashes are keyed by SHA-256, not by image: they are a function of the bytes, so copies share one row
// and a re-ingested (changed) file simply points at another row; nothing goes stale. Stacks are nested (every exact
// stack lies inside one perceptual stack, every perceptual one inside one embedding stack) and rebuilt as a whole by
// `quari dupes` or after an ingest, so they carry the parameters they were built with.
import type { Migration } from './index.ts';

export const migration006: Migration = {
  version: 6,
  name: 'duplicates',
  sql: `
CREATE TABLE perceptual_hashes (
  sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
  phash       TEXT NOT NULL CHECK (length(phash) = 16 AND phash NOT GLOB '*[^0-9a-f]*'),
  computed_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE duplicate_stacks (
  id            INTEGER PRIMARY KEY,
  tier          TEXT    NOT NULL CHECK (tier IN ('exact', 'perceptual', 'embedding')),
  -- The member an analyst should look at first: most pixels, then most bytes, then lowest id.
  best_image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  size          INTEGER NOT NULL CHECK (size >= 2),
  -- How the stack was built: thresholds, pack (embedding tier), build time.
  params        TEXT    NOT NULL CHECK (json_valid(params) AND json_type(params) = 'object')
);
CREATE INDEX duplicate_stacks_tier ON duplicate_stacks (tier, size DESC, id);

CREATE TABLE duplicate_members (
  tier     TEXT    NOT NULL CHECK (tier IN ('exact', 'perceptual', 'embedding')),
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  stack_id INTEGER NOT NULL REFERENCES duplicate_stacks (id) ON DELETE CASCADE,
  PRIMARY KEY (tier, image_id)
) WITHOUT ROWID;
CREATE INDEX duplicate_members_stack ON duplicate_members (stack_id, image_id);

-- A tag applied to a whole stack records the stack's tier and the member it was applied from (the stack itself is
-- rebuilt and renumbered, so its id would not last).
ALTER TABLE image_tags ADD COLUMN stack_tier TEXT CHECK (stack_tier IS NULL OR stack_tier IN ('exact', 'perceptual', 'embedding'));
ALTER TABLE image_tags ADD COLUMN stack_of INTEGER REFERENCES images (id) ON DELETE SET NULL
  CHECK ((stack_of IS NULL) = (stack_tier IS NULL));
`,
};
