// Schema version 7, the investigation workflow: the audit log, the ranked hits of every recorded search, and the
// analyst's relevance judgements.
//
// The audit log: an append-only, hash-chained record of what was done with the catalog (opened, ingested,
// searched, tagged, annotated, exported, configured), by which examiner and when. Each row carries the previous
// row's hash, so an edited, deleted or reordered row breaks the chain at that row (db/audit.ts verifies it).
// The triggers refuse UPDATE and DELETE and an INSERT that does not extend the chain: they stop silent edits through
// SQLite, and an attacker who drops them still cannot edit a row without the chain showing it.
//
// search_hits keeps each recorded search's ranking (rank, scores, matched boxes), so a court report shows the rank
// and box a tagged image was found at, and a reloaded window gets its results back without searching again.
// relevance holds the analyst's relevant / not-relevant marks per case, for feedback searches and the report.
import type { Migration } from './index.ts';

const ZERO_HASH = '0'.repeat(64);

export const migration007: Migration = {
  version: 7,
  name: 'investigation',
  sql: `
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY CHECK (seq > 0),
  at        TEXT NOT NULL CHECK (length(at) > 0),
  examiner  TEXT NOT NULL CHECK (length(examiner) > 0),
  event     TEXT NOT NULL CHECK (length(event) > 0),
  data      TEXT NOT NULL CHECK (json_valid(data)),
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted'); END;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '${ZERO_HASH}')
BEGIN SELECT RAISE(ABORT, 'audit_log: a new row must follow the last one (seq + 1, its hash as prev_hash)'); END;

CREATE TABLE search_hits (
  search_id      INTEGER NOT NULL REFERENCES searches(id) ON DELETE CASCADE,
  rank           INTEGER NOT NULL CHECK (rank > 0),
  image_id       INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  score          REAL NOT NULL,
  baseline_score REAL NOT NULL,
  explicit_score REAL NOT NULL CHECK (explicit_score BETWEEN 0 AND 1),
  box            TEXT NOT NULL CHECK (json_valid(box) AND json_type(box) = 'object'),
  region_boxes   TEXT NOT NULL CHECK (json_valid(region_boxes) AND json_type(region_boxes) = 'array'),
  PRIMARY KEY (search_id, rank)
) WITHOUT ROWID;
CREATE INDEX search_hits_image ON search_hits (image_id);

CREATE TABLE relevance (
  case_id   INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
  relevant  INTEGER NOT NULL CHECK (relevant IN (0, 1)),
  search_id INTEGER REFERENCES searches(id) ON DELETE SET NULL,
  judged_at TEXT NOT NULL,
  PRIMARY KEY (case_id, image_id)
) WITHOUT ROWID;
`,
};
