// The catalog's typed refusal: CatalogError says what kind of refusal it is (`code`) and which field or row is at
// fault (`field`), so a front end answers a duplicate case name as a conflict and a missing row as not-found
// rather than as an internal failure. The kinds and the API code each one answers as are defined once, in the
// protocol (electron/shared/protocol/errors.ts CATALOG_ERROR_CODES), which maps them in toApiError.
import Database from 'better-sqlite3';
import type { CatalogErrorCode } from '../electron/shared/protocol/errors.ts';

/** invalid: the caller's value breaks a rule; not-found: a row it names is absent; conflict: it clashes with a stored row. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  constructor(
    readonly code: CatalogErrorCode,
    /** The argument or column at fault ('name', 'hotkey', 'caseId'…). */
    readonly field: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Runs `fn`, turning a SQLite constraint failure of kind `kind` into a CatalogError: a UNIQUE clash or an
 * ON DELETE RESTRICT refusal is a conflict, a missing foreign row is not-found. SQLite reports an ON DELETE
 * RESTRICT foreign key as SQLITE_CONSTRAINT_TRIGGER, hence the separate 'RESTRICT'.
 */
export function onConstraint<T>(kind: 'UNIQUE' | 'FOREIGNKEY' | 'RESTRICT', field: string, message: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = err instanceof Database.SqliteError ? err.code : undefined;
    const hit =
      kind === 'UNIQUE'
        ? code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
        : code === (kind === 'FOREIGNKEY' ? 'SQLITE_CONSTRAINT_FOREIGNKEY' : 'SQLITE_CONSTRAINT_TRIGGER');
    if (hit) throw new CatalogError(kind === 'FOREIGNKEY' ? 'not-found' : 'conflict', field, message(), { cause: err });
    throw err;
  }
}
