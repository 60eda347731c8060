// Every schema migration, in order. A catalog's `PRAGMA user_version` is the version of the last one applied.
import { migration001 } from './001_initial.ts';
import { migration002 } from './002_settings.ts';
import { migration005 } from './005_duplicates.ts';

export interface Migration {
  /** 1, 2, 3…: contiguous, equal to the position in MIGRATIONS plus one. */
  version: number;
  name: string;
  sql: string;
}

// Versions 3 (ingest-run bookkeeping, readers) and 4 (known files) belong to other branches; these empty entries
// hold their places until those branches' migrations land on main and replace them (versions must be contiguous).
const migration003Placeholder: Migration = { version: 3, name: 'reserved', sql: '' };
const migration004Placeholder: Migration = { version: 4, name: 'reserved', sql: '' };

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003Placeholder, migration004Placeholder, migration005];
