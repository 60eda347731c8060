// The one mapping from anything a call can throw to the wire's ApiError, used by dispatch for both hosts, and the
// HTTP status of each code for the web host. A refused request names the field at fault; an unexpected failure
// answers a generic message (its stack and text stay in the host's log), so no internal detail crosses the wire.
import { isApiErrorCode, type ApiError } from '../api.ts';

/** A request refused before it reaches the engine (wrong type, out of bounds, unknown field); code 'bad-request'. */
export class ValidationError extends Error {
  readonly code = 'bad-request' as const;
  override readonly name = 'ValidationError';
}

export const HTTP_STATUS: Readonly<Record<ApiError['code'], number>> = {
  'bad-request': 400,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/** Longest message that crosses the wire; engine messages name files and fields, never more than this. */
export const MAX_ERROR_MESSAGE = 2000;

/**
 * The catalog's refusal kinds (db/errors.ts CatalogError.code) and the API code each answers as: a value breaking
 * a rule is the caller's bad request, a missing row is not-found, a clash with a stored row (a case name taken
 * twice) is a conflict.
 */
export const CATALOG_ERROR_CODES = {
  invalid: 'bad-request',
  'not-found': 'not-found',
  conflict: 'conflict',
} as const satisfies Record<string, ApiError['code']>;
export type CatalogErrorCode = keyof typeof CATALOG_ERROR_CODES;

const isCatalogErrorCode = (code: unknown): code is CatalogErrorCode => typeof code === 'string' && Object.hasOwn(CATALOG_ERROR_CODES, code);

/** SQLite constraint codes the catalog raises for a duplicate (a case name taken twice). */
const CONFLICT_CODES: ReadonlySet<string> = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * `err` as {code, message}. Errors carrying an API code (ValidationError, QuariApiError) or a catalog refusal
 * (CatalogError, by CATALOG_ERROR_CODES) keep their message; a missing file is not-found; a busy catalog is
 * unavailable; a unique-constraint violation is a conflict; anything else is
 * 'internal' with a generic message. `internal` is true where the caller should log the original error.
 */
export function toApiError(err: unknown, method: string): ApiError & { internal: boolean } {
  const e = err as { code?: unknown; message?: unknown } | null;
  const raw = e !== null && typeof e === 'object' ? e.code : undefined;
  const text = e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : '';
  const message = (fallback: string) => {
    const m = text || fallback;
    return m.length > MAX_ERROR_MESSAGE ? `${m.slice(0, MAX_ERROR_MESSAGE)}…` : m;
  };
  if (e !== null && typeof e === 'object' && (e as { name?: unknown }).name === 'CatalogError' && isCatalogErrorCode(raw)) {
    return { code: CATALOG_ERROR_CODES[raw], message: message(`${method} failed`), internal: false };
  }
  if (isApiErrorCode(raw) && raw !== 'internal') return { code: raw, message: message(`${method} failed`), internal: false };
  if (raw === 'ENOENT') return { code: 'not-found', message: `${method}: a file it needs does not exist`, internal: true };
  // Another connection held the catalog's write lock past the busy timeout (a hash-set import committing its set,
  // another process ingesting): the call may simply be repeated.
  if (raw === 'SQLITE_BUSY') {
    return { code: 'unavailable', message: `${method}: the catalog is busy with another writer (a hash-set import committing, or another process); try again`, internal: true };
  }
  if (typeof raw === 'string' && CONFLICT_CODES.has(raw)) {
    return { code: 'conflict', message: `${method}: that name or item already exists`, internal: true };
  }
  return { code: 'internal', message: `${method} failed with an internal error (details are in the host's log)`, internal: true };
}
