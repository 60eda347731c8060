// The audit log: an append-only, hash-chained record of what was done with the catalog (opened, ingested,
// searched, tagged, annotated, exported, configured), by which examiner and when. Each row carries the previous
// row's hash, so an edited, deleted or reordered row breaks the chain at that row (db/audit.ts verifies it).
// The triggers refuse UPDATE and DELETE and an INSERT that does not extend the chain: they stop silent edits through
// SQLite, and an attacker who drops them still cannot edit a row without the chain showing it.
import type { Migration } from './index.ts';

const ZERO_HASH = '0'.repeat(64);

export const migration006: Migration = {
  // Pre-assigned as migration 6; numbered by its position until migrations 3–5 of the parallel branches land.
  version: 3,
  name: 'audit',
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
`,
};
