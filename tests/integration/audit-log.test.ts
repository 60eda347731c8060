// The tamper-evident audit log on a real catalog file: the store records its own changes (tag, untag, notes set
// and cleared, searches with their ranked ids and hashes, ingest runs, settings) with the examiner; the triggers
// refuse UPDATE/DELETE; and `quari audit verify` — run as the CLI a court expert would run — names the first broken
// record after an attacker drops the triggers and edits, deletes or reorders rows directly in SQLite.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { openCatalog } from '../../db/CatalogStore.ts';
import { auditRecordHash, canonicalJson } from '../../db/audit.ts';
import { embedding, ingested, rng } from '../unit/db-fixtures.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const root = mkdtempSync(join(tmpdir(), 'quari-audit-'));
const catalog = join(root, 'catalog.sqlite');
let recordCount = 0;

async function verify(file: string): Promise<{ code: number; result: Record<string, any> }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/quari.mjs'), 'audit', 'verify', '--catalog', file, '--json']);
    return { code: 0, result: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { stdout: string; code: number };
    return { code: e.code, result: JSON.parse(e.stdout) };
  }
}

/** A copy of the intact catalog, opened raw as an attacker would, with the protective triggers dropped. */
function tamperedCopy(name: string, attack: (db: Database.Database) => void): string {
  const file = join(root, `${name}.sqlite`);
  copyFileSync(catalog, file);
  const db = new Database(file);
  db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_chain;`);
  attack(db);
  db.close();
  return file;
}

before(() => {
  const store = openCatalog(catalog, { examiner: 'Examiner A. Smith' });
  store.registerPack({ id: 'p', version: '1', name: 'P', dim: 4, manifest: { id: 'p', files: {} } });
  const run = store.startIngestRun('/evidence');
  const [a, b] = store.commitIngestedImages([ingested('/evidence/a.jpg', 1, [embedding('p', 'float32', 4, 1, rng(1))]), ingested('/evidence/b.jpg', 2, [embedding('p', 'float32', 4, 1, rng(2))])]);
  store.finishIngestRun(run.id, 'done', { seen: 2, added: 2, updated: 0, moved: 0, unchanged: 0, failed: 0 });
  const c = store.createCase({ name: 'Case 1', categories: ['Scene', 'Victim'] });
  const [scene] = store.listCategories(c.id);
  const search = store.recordSearch({ packId: 'p', checkpointHash: 'c'.repeat(64), mode: 'adaptive', params: { crops: [{ x: 1, y: 2, w: 30, h: 40 }], k: 1000 }, resultCount: 2, durationMs: 12, hits: [
    { imageId: b!, rank: 1, score: 0.9, baselineScore: 0.5, explicitScore: 0, box: { x: 1, y: 2, w: 3, h: 4 }, regionBoxes: [{ x: 1, y: 2, w: 3, h: 4 }] },
    { imageId: a!, rank: 2, score: 0.4, baselineScore: 0.6, explicitScore: 0, box: { x: 5, y: 6, w: 7, h: 8 }, regionBoxes: [{ x: 5, y: 6, w: 7, h: 8 }] },
  ] });
  assert.deepEqual(store.getSearchHits(search.id).map((h) => [h.imageId, h.rank, h.box.x]), [[b!, 1, 1], [a!, 2, 5]]);
  store.tagImage({ caseId: c.id, imageId: b!, categoryId: scene!.id, searchId: search.id });
  store.untagImage({ caseId: c.id, imageId: b!, categoryId: scene!.id });
  store.setNote(c.id, a!, 'seen in room 12');
  store.deleteNote(c.id, a!);
  store.setSetting('ui', { blurAll: true });
  store.appendAudit('case.exported', { caseId: c.id, format: 'html' });
  recordCount = store.auditHead().records;
  store.close();
});
after(() => rmSync(root, { recursive: true, force: true }));

test('every change is recorded by the store, in order, with the examiner, and untag and note deletion leave a trace', () => {
  const store = openCatalog(catalog);
  try {
    const records = store.listAudit({ limit: 100 }).reverse();
    assert.deepEqual(records.map((r) => r.event), [
      'pack.registered',
      'ingest.started',
      'ingest.finished',
      'case.created',
      'search.run',
      'case.tagged',
      'case.untagged',
      'note.set',
      'note.cleared',
      'setting.changed',
      'case.exported',
    ]);
    assert.ok(records.every((r) => r.examiner === 'Examiner A. Smith'));
    const search = records.find((r) => r.event === 'search.run')!;
    assert.deepEqual(search.data.resultImageIds, [2, 1]);
    assert.equal(search.data.checkpointHash, 'c'.repeat(64));
    assert.match(String(search.data.packManifestSha256), /^[0-9a-f]{64}$/);
    assert.deepEqual(search.data.params, { crops: [{ h: 40, w: 30, x: 1, y: 2 }], k: 1000 });
    assert.equal(records.find((r) => r.event === 'note.cleared')!.data.previous, 'seen in room 12');
    // Each record links to its predecessor and its hash is the canonical hash of its fields.
    records.forEach((r, i) => {
      assert.equal(r.seq, i + 1);
      assert.equal(r.prevHash, i === 0 ? '0'.repeat(64) : records[i - 1]!.hash);
      assert.equal(r.hash, auditRecordHash({ ...r, data: canonicalJson(r.data) }));
    });
    // Re-saving an unchanged setting is not a change.
    store.setSetting('ui', { blurAll: true });
    assert.equal(store.auditHead().records, recordCount);
  } finally {
    store.close();
  }
});

test('SQLite itself refuses to change, delete or splice audit rows', () => {
  const file = join(root, 'triggers.sqlite');
  copyFileSync(catalog, file);
  const db = new Database(file);
  try {
    assert.throws(() => db.prepare(`UPDATE audit_log SET examiner = 'someone else' WHERE seq = 2`).run(), /append-only/);
    assert.throws(() => db.prepare(`DELETE FROM audit_log WHERE seq = 3`).run(), /append-only/);
    assert.throws(
      () => db.prepare(`INSERT INTO audit_log (seq, at, examiner, event, data, prev_hash, hash) VALUES (99, 'x', 'x', 'a.b', '{}', ?, ?)`).run('0'.repeat(64), 'f'.repeat(64)),
      /must follow the last one/,
    );
  } finally {
    db.close();
  }
});

test('quari audit verify: exit 0 with the record count and head hash on the intact log', async () => {
  const { code, result } = await verify(catalog);
  assert.equal(code, 0);
  assert.equal(result.ok, true);
  assert.equal(result.records, recordCount);
  assert.match(result.headHash, /^[0-9a-f]{64}$/);
  assert.equal(result.appendOnlyTriggers, true);
});

test('verify names an edited record (triggers dropped, data rewritten in place)', async () => {
  const file = tamperedCopy('edited', (db) => db.prepare(`UPDATE audit_log SET data = json_set(data, '$.resultImageIds', json('[1,2]')) WHERE event = 'search.run'`).run());
  const { code, result } = await verify(file);
  assert.notEqual(code, 0);
  assert.equal(result.ok, false);
  assert.equal(result.appendOnlyTriggers, false);
  assert.equal(result.firstBad.seq, 5);
  assert.equal(result.firstBad.event, 'search.run');
  assert.match(result.firstBad.reason, /does not match the record's content/);
});

test('verify names the record after a deleted one', async () => {
  const file = tamperedCopy('deleted', (db) => db.prepare(`DELETE FROM audit_log WHERE event = 'case.untagged'`).run());
  const { code, result } = await verify(file);
  assert.notEqual(code, 0);
  assert.equal(result.firstBad.seq, 8);
  assert.match(result.firstBad.reason, /record 7 is missing/);
});

test('verify names the first of two reordered records, even when their seq numbers are swapped back', async () => {
  // Swap rows 6 and 7 wholesale except for seq, so the seq run stays 1, 2, 3…: only the chain links tell.
  const file = tamperedCopy('reordered', (db) => {
    const cols = `at, examiner, event, data, prev_hash, hash`;
    const [six, seven] = [6, 7].map((seq) => db.prepare(`SELECT ${cols} FROM audit_log WHERE seq = ?`).get(seq) as Record<string, string>);
    const put = db.prepare(`UPDATE audit_log SET at = @at, examiner = @examiner, event = @event, data = @data, prev_hash = @prev_hash, hash = @hash WHERE seq = @seq`);
    db.prepare(`UPDATE audit_log SET hash = printf('%064d', seq) WHERE seq IN (6, 7)`).run();
    put.run({ ...seven, seq: 6 });
    put.run({ ...six, seq: 7 });
  });
  const { code, result } = await verify(file);
  assert.notEqual(code, 0);
  assert.equal(result.firstBad.seq, 6);
  assert.equal(result.firstBad.event, 'case.untagged');
  assert.match(result.firstBad.reason, /removed, inserted or reordered/);
});

test('verify names a record whose seq was moved to the end', async () => {
  const file = tamperedCopy('moved', (db) => db.prepare(`UPDATE audit_log SET seq = 100 WHERE seq = 2`).run());
  const { code, result } = await verify(file);
  assert.notEqual(code, 0);
  assert.equal(result.firstBad.seq, 3);
  assert.match(result.firstBad.reason, /record 2 is missing/);
});
