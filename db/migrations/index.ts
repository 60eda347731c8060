// Every schema migration, in order. A catalog's `PRAGMA user_version` is the version of the last one applied.
import { migration001 } from './001_initial.ts';
import { migration002 } from './002_settings.ts';
import { migration003 } from './003_known_files.ts';
import { migration004 } from './004_query_images.ts';
import { migration005 } from './005_run_owner_pack_fingerprint.ts';
import { migration006 } from './006_duplicates.ts';

export interface Migration {
  /** 1, 2, 3…: contiguous, equal to the position in MIGRATIONS plus one. */
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006];
