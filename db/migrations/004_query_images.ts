// Schema version 4: query photos in their own table (they lived as `queryName:<id>` keys in settings). A query
// image is content-addressed (`<sha256>.<ext>`, the file under `<catalog>.data/queries/`) and keeps the name the
// analyst gave it, so the history can show and re-run it. Existing names move over; their settings keys go.
import type { Migration } from './index.ts';

export const migration004: Migration = {
  version: 4,
  name: 'query_images',
  sql: `
CREATE TABLE query_images (
  id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 66 AND 70 AND substr(id, 1, 64) NOT GLOB '*[^0-9a-f]*' AND substr(id, 65, 1) = '.'),
  name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  created_at TEXT NOT NULL
);

INSERT OR IGNORE INTO query_images (id, name, created_at)
  SELECT substr(key, 11), json_extract(value, '$'), updated_at FROM settings
  WHERE key LIKE 'queryName:%' AND json_type(value) = 'text' AND length(json_extract(value, '$')) BETWEEN 1 AND 255
    AND length(substr(key, 11)) BETWEEN 66 AND 70 AND substr(key, 11, 64) NOT GLOB '*[^0-9a-f]*' AND substr(key, 75, 1) = '.';
DELETE FROM settings WHERE key LIKE 'queryName:%';
`,
};
