// Schema version 3: known files. MD5 and SHA-1 next to SHA-256 (the hashes NSRL and Project VIC / CAID sets are
// keyed by), imported hash sets with their entries, the images each set matches, the VICS category each case
// category exports as, and the options an ingest run ran with (following links out of the evidence or not).
//
// Entries keep one hash per record, the strongest it carries (SHA-256 > SHA-1 > MD5), as bytes: every catalogued
// image has all three, so matching loses nothing and a 5M-record set stays one row per record. Matches are kept in
// known_matches by two triggers, so every path that sets an image's hashes (ingest, re-hash, moves keep them)
// re-matches it against every set without the writer knowing about sets.
import type { Migration } from './index.ts';

export const migration003: Migration = {
  version: 3,
  name: 'known_files',
  sql: `
ALTER TABLE images ADD COLUMN md5 TEXT CHECK (md5 IS NULL OR (length(md5) = 32 AND md5 NOT GLOB '*[^0-9a-f]*'));
ALTER TABLE images ADD COLUMN sha1 TEXT CHECK (sha1 IS NULL OR (length(sha1) = 40 AND sha1 NOT GLOB '*[^0-9a-f]*'));
CREATE INDEX images_md5 ON images (md5);
CREATE INDEX images_sha1 ON images (sha1);

ALTER TABLE ingest_runs ADD COLUMN options TEXT CHECK (options IS NULL OR (json_valid(options) AND json_type(options) = 'object'));

ALTER TABLE tag_categories ADD COLUMN vics_category INTEGER CHECK (vics_category IS NULL OR vics_category BETWEEN 0 AND 99);

CREATE TABLE hash_sets (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
  format        TEXT    NOT NULL CHECK (format IN ('nsrl-rds3', 'vics', 'text')),
  -- ignorable: known-good files to hide (NSRL); of-interest: pre-categorised files to flag (VICS).
  kind          TEXT    NOT NULL CHECK (kind IN ('ignorable', 'of-interest')),
  -- What the source says about itself (RDS VERSION row, VICS data-model version); null when it says nothing.
  version       TEXT,
  source_file   TEXT    NOT NULL,
  source_sha256 TEXT    NOT NULL CHECK (length(source_sha256) = 64 AND source_sha256 NOT GLOB '*[^0-9a-f]*'),
  source_bytes  INTEGER NOT NULL CHECK (source_bytes >= 0),
  records       INTEGER NOT NULL CHECK (records >= 0),
  hash_count    INTEGER NOT NULL CHECK (hash_count >= 0),
  imported_at   TEXT    NOT NULL
);

-- hash_type: 1 md5, 2 sha1, 3 sha256 (the byte length pins it).
CREATE TABLE hash_set_entries (
  hash      BLOB    NOT NULL CHECK (length(hash) = CASE hash_type WHEN 1 THEN 16 WHEN 2 THEN 20 WHEN 3 THEN 32 END),
  hash_type INTEGER NOT NULL CHECK (hash_type IN (1, 2, 3)),
  set_id    INTEGER NOT NULL REFERENCES hash_sets (id) ON DELETE CASCADE,
  category  TEXT,
  PRIMARY KEY (hash, hash_type, set_id)
) WITHOUT ROWID;
-- No index by set_id: it would double the cost of every insert (measured: bench/hashset-import.ts), while only
-- deleting a set needs it, and that rare operation may scan.

CREATE TABLE known_matches (
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  set_id   INTEGER NOT NULL REFERENCES hash_sets (id) ON DELETE CASCADE,
  category TEXT,
  PRIMARY KEY (image_id, set_id)
) WITHOUT ROWID;
CREATE INDEX known_matches_set ON known_matches (set_id, image_id);

CREATE TRIGGER images_known_rematch AFTER UPDATE OF md5, sha1, sha256 ON images BEGIN
  DELETE FROM known_matches WHERE image_id = NEW.id;
  INSERT OR IGNORE INTO known_matches (image_id, set_id, category)
    SELECT NEW.id, e.set_id, e.category FROM hash_set_entries e
    WHERE NEW.status = 'ok' AND (
      (e.hash_type = 3 AND e.hash = unhex(NEW.sha256)) OR
      (e.hash_type = 2 AND e.hash = unhex(NEW.sha1)) OR
      (e.hash_type = 1 AND e.hash = unhex(NEW.md5)));
END;
CREATE TRIGGER images_known_unmatch AFTER UPDATE OF status ON images WHEN NEW.status <> 'ok' BEGIN
  DELETE FROM known_matches WHERE image_id = NEW.id;
END;
`,
};
