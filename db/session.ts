// This connection's session: who its changes are by (the examiner: named for the session, else the catalog's
// stored name, else the OS user), the catalog's settings (where that name is stored), and audited(): a change and
// its audit record in one transaction. One module because each needs the others: an audited setting change is
// recorded as the examiner, whose default is a setting. Plain functions taking the database (db/audit.ts keeps
// the hash chain itself).
import { userInfo } from 'node:os';
import { appendAudit, canonicalJson } from './audit.ts';
import { now, sql, write, type Db } from './connection.ts';
import { CatalogError } from './errors.ts';

/** The examiner named for a session (a CLI run's --examiner), by connection; not stored. */
const sessionExaminers = new WeakMap<Db, string>();

/** A write and its audit record in one transaction; `data` returns null when nothing changed (nothing recorded). */
export function audited<T>(db: Db, event: string, fn: () => T, data: (result: T) => Record<string, unknown> | null): T {
  return write(db, () => {
    const result = fn();
    const record = data(result);
    if (record) appendAudit(db, { examiner: examiner(db), event, data: record, at: now() });
    return result;
  });
}

/** A record a front end adds (catalog opened, an export), as this session's examiner. */
export function appendSessionAudit(db: Db, event: string, data: Record<string, unknown>) {
  return write(db, () => appendAudit(db, { examiner: examiner(db), event, data, at: now() }));
}

/** undefined when the key was never set. */
export function getSetting(db: Db, key: string): unknown {
  const value = sql(db, `SELECT value FROM settings WHERE key = ?`).pluck().get(key) as string | undefined;
  return value === undefined ? undefined : (JSON.parse(value) as unknown);
}

export function setSetting(db: Db, key: string, value: unknown): void {
  if (typeof key !== 'string' || key === '') throw new CatalogError('invalid', 'key', 'setSetting: key must be a non-empty string');
  const json = JSON.stringify(value);
  if (json === undefined) throw new CatalogError('invalid', 'value', `setSetting(${key}): value is not JSON-serialisable`);
  audited(db, 'setting.changed', () => {
    const before = sql(db, `SELECT value FROM settings WHERE key = ?`).pluck().get(key) as string | undefined;
    sql(db, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`).run(key, json, now());
    return before;
  }, (before) => (before !== undefined && canonicalJson(JSON.parse(before)) === canonicalJson(value) ? null : { key, value }));
}

/** The examiner records are written as: the session's name, else the catalog's stored one, else the OS user. */
export function examiner(db: Db): string {
  const session = sessionExaminers.get(db);
  if (session) return session;
  const stored = getSetting(db, 'examiner');
  if (typeof stored === 'string' && stored.trim()) return stored;
  return osUserName();
}

/** This session's examiner, without storing it (a CLI run names itself without changing the catalog's default). */
export function useExaminer(db: Db, name: string): void {
  sessionExaminers.set(db, checkExaminer(name));
}

/** Names this session's examiner and stores the name as the catalog's default for the next session. */
export function setExaminer(db: Db, name: string): void {
  const checked = checkExaminer(name);
  sessionExaminers.set(db, checked);
  setSetting(db, 'examiner', checked);
}

function checkExaminer(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (!trimmed || trimmed.length > 200 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new CatalogError('invalid', 'examiner', 'examiner: the name must be 1–200 printable characters');
  }
  return trimmed;
}

function osUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
