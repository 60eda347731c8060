// Schema version 1. Never edit a released migration: add 002_… instead, so existing catalogs upgrade in place.
import type { Migration } from './index.ts';

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE images (
  id           INTEGER PRIMARY KEY,
  path         TEXT    NOT NULL UNIQUE,
  size         INTEGER NOT NULL CHECK (size >= 0),
  mtime_ms     REAL    NOT NULL,
  status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed')),
  error        TEXT,
  sha256       TEXT CHECK (sha256 IS NULL OR (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')),
  width        INTEGER CHECK (width IS NULL OR width > 0),
  height       INTEGER CHECK (height IS NULL OR height > 0),
  format       TEXT,
  captured_at  TEXT,
  camera_make  TEXT,
  camera_model TEXT,
  gps_lat      REAL CHECK (gps_lat IS NULL OR gps_lat BETWEEN -90 AND 90),
  gps_lon      REAL CHECK (gps_lon IS NULL OR gps_lon BETWEEN -180 AND 180),
  orientation  INTEGER CHECK (orientation IS NULL OR orientation BETWEEN 1 AND 8),
  thumbnail    TEXT,
  added_at     TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  CHECK (status <> 'ok' OR (sha256 IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL AND format IS NOT NULL)),
  CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX images_sha256 ON images (sha256);
CREATE INDEX images_status ON images (status, id);

CREATE TABLE model_packs (
  id            TEXT PRIMARY KEY,
  version       TEXT NOT NULL,
  name          TEXT NOT NULL,
  dim           INTEGER NOT NULL CHECK (dim > 0),
  manifest      TEXT NOT NULL CHECK (json_valid(manifest)),
  registered_at TEXT NOT NULL
);

-- Small columns first and vectors last: counting passes then touch only each row's first page, never the
-- overflow pages holding the vectors.
CREATE TABLE embeddings (
  image_id       INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  pack_id        TEXT    NOT NULL REFERENCES model_packs (id) ON DELETE CASCADE,
  n_vectors      INTEGER NOT NULL CHECK (n_vectors >= 1),
  dim            INTEGER NOT NULL CHECK (dim >= 1),
  dtype          TEXT    NOT NULL CHECK (dtype IN ('float16', 'float32')),
  explicit_score REAL CHECK (explicit_score IS NULL OR explicit_score BETWEEN 0 AND 1),
  content_scores TEXT CHECK (content_scores IS NULL OR (json_valid(content_scores) AND json_type(content_scores) = 'array')),
  created_at     TEXT    NOT NULL,
  boxes          BLOB    NOT NULL CHECK (length(boxes) = n_vectors * 16),
  vectors        BLOB    NOT NULL CHECK (length(vectors) = n_vectors * dim * (CASE dtype WHEN 'float16' THEN 2 ELSE 4 END)),
  PRIMARY KEY (image_id, pack_id)
);
CREATE INDEX embeddings_pack ON embeddings (pack_id, image_id);

CREATE TABLE cases (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL
);

CREATE TABLE tag_categories (
  id         INTEGER PRIMARY KEY,
  case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL COLLATE NOCASE CHECK (length(trim(name)) > 0),
  hotkey     INTEGER NOT NULL CHECK (hotkey BETWEEN 1 AND 9),
  colour     TEXT    NOT NULL CHECK (colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  created_at TEXT    NOT NULL,
  UNIQUE (case_id, name),
  UNIQUE (case_id, hotkey),
  -- Target of image_tags' composite key: a tag's category must belong to the tag's case.
  UNIQUE (id, case_id)
);

CREATE TABLE searches (
  id              INTEGER PRIMARY KEY,
  case_id         INTEGER REFERENCES cases (id) ON DELETE SET NULL,
  pack_id         TEXT    NOT NULL REFERENCES model_packs (id),
  checkpoint_hash TEXT,
  mode            TEXT    NOT NULL CHECK (mode IN ('baseline', 'adaptive')),
  params          TEXT    NOT NULL CHECK (json_valid(params) AND json_type(params) = 'object'),
  result_count    INTEGER NOT NULL CHECK (result_count >= 0),
  duration_ms     REAL    NOT NULL CHECK (duration_ms >= 0),
  created_at      TEXT    NOT NULL
);
CREATE INDEX searches_case ON searches (case_id, id);

-- Tags and notes RESTRICT image deletion: an analyst's work must never vanish because a file was pruned.
CREATE TABLE image_tags (
  case_id     INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  image_id    INTEGER NOT NULL REFERENCES images (id) ON DELETE RESTRICT,
  category_id INTEGER NOT NULL,
  search_id   INTEGER REFERENCES searches (id) ON DELETE SET NULL,
  tagged_at   TEXT    NOT NULL,
  PRIMARY KEY (case_id, image_id, category_id),
  FOREIGN KEY (category_id, case_id) REFERENCES tag_categories (id, case_id) ON DELETE CASCADE
);
CREATE INDEX image_tags_image ON image_tags (image_id);
CREATE INDEX image_tags_category ON image_tags (category_id, case_id);
CREATE INDEX image_tags_search ON image_tags (search_id);

CREATE TABLE notes (
  case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE RESTRICT,
  text       TEXT    NOT NULL,
  updated_at TEXT    NOT NULL,
  PRIMARY KEY (case_id, image_id)
);
CREATE INDEX notes_image ON notes (image_id);

CREATE TABLE ingest_runs (
  id          INTEGER PRIMARY KEY,
  root        TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed')),
  started_at  TEXT    NOT NULL,
  finished_at TEXT,
  seen        INTEGER NOT NULL DEFAULT 0,
  added       INTEGER NOT NULL DEFAULT 0,
  updated     INTEGER NOT NULL DEFAULT 0,
  moved       INTEGER NOT NULL DEFAULT 0,
  unchanged   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  error       TEXT
);
`,
};
