// Every schema migration, in order. A catalog's `PRAGMA user_version` is the version of the last one applied.
import { migration001 } from './001_initial.ts';
import { migration002 } from './002_settings.ts';
import { migration004 } from './004_known_files.ts';

export interface Migration {
  /** 1, 2, 3…: contiguous, equal to the position in MIGRATIONS plus one. */
  version: number;
  name: string;
  sql: string;
}

// Version 3 belongs to the ingest-run bookkeeping branch (readers); this empty entry holds its place until that
// branch's 003 lands on main, which replaces it (versions must be contiguous).
const migration003Placeholder: Migration = { version: 3, name: 'reserved', sql: '' };

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003Placeholder, migration004];
