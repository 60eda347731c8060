// Schema version 5: ingest-run bookkeeping and immutable pack ids.
// - ingest_runs gains the 'interrupted' status and the owner of a running run (pid and host name), so the next open
//   can tell a run whose process was killed (-9, power loss) from one another live process is still doing.
//   SQLite cannot change a CHECK in place, hence the table copy.
// - model_packs gains the encoder fingerprint (SHA-256 of what makes the vectors: dimension, encoder and projection
//   files, preprocessing, region scheme), so a different encoder can never be registered under a known pack id.
import type { Migration } from './index.ts';

export const migration005: Migration = {
  version: 5,
  name: 'run_owner_pack_fingerprint',
  sql: `
CREATE TABLE ingest_runs_new (
  id          INTEGER PRIMARY KEY,
  root        TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
  started_at  TEXT    NOT NULL,
  finished_at TEXT,
  seen        INTEGER NOT NULL DEFAULT 0,
  added       INTEGER NOT NULL DEFAULT 0,
  updated     INTEGER NOT NULL DEFAULT 0,
  moved       INTEGER NOT NULL DEFAULT 0,
  unchanged   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  options     TEXT CHECK (options IS NULL OR (json_valid(options) AND json_type(options) = 'object')),
  owner_pid   INTEGER CHECK (owner_pid IS NULL OR owner_pid > 0),
  owner_host  TEXT,
  CHECK (status <> 'interrupted' OR finished_at IS NOT NULL)
);
INSERT INTO ingest_runs_new (id, root, status, started_at, finished_at, seen, added, updated, moved, unchanged, failed, error, options)
  SELECT id, root, status, started_at, finished_at, seen, added, updated, moved, unchanged, failed, error, options FROM ingest_runs;
DROP TABLE ingest_runs;
ALTER TABLE ingest_runs_new RENAME TO ingest_runs;
CREATE INDEX ingest_runs_running ON ingest_runs (status) WHERE status = 'running';

ALTER TABLE model_packs ADD COLUMN fingerprint TEXT CHECK (fingerprint IS NULL OR length(fingerprint) = 64);
`,
};
