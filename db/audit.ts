// The catalog's audit log (table audit_log, migration 006): append, read and verify the hash chain. Plain functions
// taking the database, called by CatalogStore inside the same transaction as the change they record, so a change and
// its record commit or roll back together whichever front end (Electron, web host, CLI) made it.
//
// Each record's hash is SHA-256 over the canonical serialisation (keys sorted, no whitespace) of
// {at, data, event, examiner, prevHash, seq}, where data is itself canonical JSON text and prevHash is the previous
// record's hash (64 zeros for the first). An edited row fails its own hash; a deleted or moved row breaks the seq run
// or the next row's prevHash. Truncating the newest rows leaves a valid shorter chain: the head hash printed in every
// court report (and by `quari audit verify`) is what pins the length.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AuditRecord, AuditVerification } from './Interface.ts';

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and no whitespace: one byte string per value, so hashes reproduce. */
export function canonicalJson(value: unknown, path = 'data'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`audit ${path}: ${value} cannot be serialised (not a finite number)`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, `${path}.${k}`)}`).join(',')}}`;
  }
  throw new Error(`audit ${path}: a ${typeof value} cannot be serialised`);
}

/** SHA-256 of a value's canonical JSON (a pack manifest, say): the same value always gives the same hash. */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

type AuditDbRow = { seq: number; at: string; examiner: string; event: string; data: string; prev_hash: string; hash: string };

/** The hash a record must carry, from its fields (data as stored: canonical JSON text). */
export function auditRecordHash(r: { seq: number; at: string; examiner: string; event: string; data: string; prevHash: string }): string {
  const body = canonicalJson({ at: r.at, data: r.data, event: r.event, examiner: r.examiner, prevHash: r.prevHash, seq: r.seq });
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** Appends one record after the current head. Call inside a write (IMMEDIATE) transaction. */
export function appendAudit(db: Database.Database, input: { examiner: string; event: string; data: Record<string, unknown>; at: string }): AuditRecord {
  if (!input.examiner.trim()) throw new Error(`audit ${input.event}: examiner must be a non-empty name`);
  if (!/^[a-z]+(\.[a-z-]+)+$/.test(input.event)) throw new Error(`audit: event '${input.event}' must look like 'case.tagged'`);
  const head = db.prepare(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).get() as { seq: number; hash: string } | undefined;
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  const data = canonicalJson(input.data);
  const hash = auditRecordHash({ seq, at: input.at, examiner: input.examiner, event: input.event, data, prevHash });
  db.prepare(`INSERT INTO audit_log (seq, at, examiner, event, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    seq,
    input.at,
    input.examiner,
    input.event,
    data,
    prevHash,
    hash,
  );
  return { seq, at: input.at, examiner: input.examiner, event: input.event, data: input.data, prevHash, hash };
}

function fromDb(r: AuditDbRow): AuditRecord {
  return { seq: r.seq, at: r.at, examiner: r.examiner, event: r.event, data: JSON.parse(r.data) as Record<string, unknown>, prevHash: r.prev_hash, hash: r.hash };
}

/** Newest first. */
export function listAudit(db: Database.Database, limit: number, offset: number): AuditRecord[] {
  return (db.prepare(`SELECT * FROM audit_log ORDER BY seq DESC LIMIT ? OFFSET ?`).all(limit, offset) as AuditDbRow[]).map(fromDb);
}

/** The number of records and the newest record's hash (the genesis hash for an empty log). */
export function auditHead(db: Database.Database): { records: number; headHash: string } {
  const head = db.prepare(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).get() as { seq: number; hash: string } | undefined;
  const records = db.prepare(`SELECT count(*) FROM audit_log`).pluck().get() as number;
  return { records, headHash: head?.hash ?? AUDIT_GENESIS_HASH };
}

/**
 * Walks the chain in stored order (rowid = seq) and names the first record that fails: a seq out of its place
 * (a row deleted or moved), a prevHash that is not the previous record's hash (a row deleted, inserted or reordered),
 * or a hash that does not match the record's content (a row edited). Streams rows: a long log costs no memory.
 */
export function verifyAudit(db: Database.Database): AuditVerification {
  const triggers = db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('audit_log_no_update', 'audit_log_no_delete', 'audit_log_chain')`).pluck().get() as number;
  const appendOnlyTriggers = triggers === 3;
  let expectedSeq = 1;
  let prevHash = AUDIT_GENESIS_HASH;
  let records = 0;
  for (const row of db.prepare(`SELECT * FROM audit_log ORDER BY rowid`).iterate() as IterableIterator<AuditDbRow>) {
    records++;
    const record = { seq: row.seq, at: row.at, examiner: row.examiner, event: row.event };
    let reason: string | null = null;
    if (row.seq !== expectedSeq) {
      reason = row.seq > expectedSeq
        ? `seq ${row.seq} follows seq ${expectedSeq - 1}: record ${expectedSeq}${row.seq - expectedSeq > 1 ? `–${row.seq - 1}` : ''} is missing`
        : `seq ${row.seq} is out of order (expected ${expectedSeq})`;
    } else if (row.prev_hash !== prevHash) {
      reason = `prevHash ${row.prev_hash} is not the hash of record ${expectedSeq - 1} (${prevHash}): a record before it was removed, inserted or reordered`;
    } else {
      let computed: string | null = null;
      try {
        computed = auditRecordHash({ seq: row.seq, at: row.at, examiner: row.examiner, event: row.event, data: row.data, prevHash: row.prev_hash });
      } catch {
        computed = null;
      }
      if (computed !== row.hash) reason = `hash ${row.hash} does not match the record's content: the record was changed after it was written`;
    }
    if (reason) return { ok: false, records, appendOnlyTriggers, firstBad: { ...record, reason } };
    expectedSeq = row.seq + 1;
    prevHash = row.hash;
  }
  return { ok: true, records, headHash: prevHash, appendOnlyTriggers };
}
