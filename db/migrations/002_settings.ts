// Schema version 2: per-catalog settings (active pack, blur threshold…) as JSON values, so they travel with the
// catalog they describe.
import type { Migration } from './index.ts';

export const migration002: Migration = {
  version: 2,
  name: 'settings',
  sql: `
CREATE TABLE settings (
  key        TEXT PRIMARY KEY CHECK (length(key) > 0),
  value      TEXT NOT NULL CHECK (json_valid(value)),
  updated_at TEXT NOT NULL
);
`,
};
