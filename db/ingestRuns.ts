// The ingest runs of a catalog: started, progress counts, finished (audited), listed. Plain functions taking the
// database (CatalogStore delegates here). And the bookkeeping at open: a run left 'running' by a process that no
// longer exists (killed with -9, power loss) is marked 'interrupted', so the run list never shows it running
// forever. A run is only judged when it was started on this host (owner_host) and its owner_pid is gone; a live
// process (this one or another, e.g. the CLI ingesting while the app is open) keeps its run. Runs from before
// schema 3 have no owner and cannot still be running under this build, so they are interrupted too. Known limit: a
// reused pid keeps a dead run 'running' until that pid exits.
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { checkId, checkPaging, now, sql, type Db } from './connection.ts';
import { CatalogError } from './errors.ts';
import type { IngestCounts, IngestRunOptions, IngestRunRow, IngestRunStatus, Paging } from './Interface.ts';
import { audited } from './session.ts';

const RUN_COLUMNS = `id, root, options, status, started_at AS startedAt, finished_at AS finishedAt, seen, added, updated,
  moved, unchanged, failed, error`;

type RunDbRow = Omit<IngestRunRow, 'options'> & { options: string | null };

function runFromDb(r: RunDbRow): IngestRunRow {
  return { ...r, options: r.options === null ? null : (JSON.parse(r.options) as IngestRunOptions) };
}

function pickCounts(c: IngestCounts): IngestCounts {
  return { seen: c.seen, added: c.added, updated: c.updated, moved: c.moved, unchanged: c.unchanged, failed: c.failed };
}

function checkCounts(what: string, c: IngestCounts): void {
  for (const [k, v] of Object.entries(pickCounts(c))) {
    if (!Number.isSafeInteger(v) || v < 0) throw new CatalogError('invalid', k, `${what}: invalid count ${k} = ${v}`);
  }
}

export function startIngestRun(db: Db, root: string, options?: IngestRunOptions): IngestRunRow {
  if (typeof root !== 'string' || !isAbsolute(root)) throw new CatalogError('invalid', 'root', `startIngestRun: root must be absolute, got '${root}'`);
  const owner = runOwner();
  return audited(
    db,
    'ingest.started',
    () => runFromDb(sql(db, `INSERT INTO ingest_runs (root, options, status, started_at, owner_pid, owner_host)
      VALUES (?, ?, 'running', ?, ?, ?) RETURNING ${RUN_COLUMNS}`).get(root, options ? JSON.stringify(options) : null, now(), owner.pid, owner.host) as RunDbRow),
    (run) => ({ runId: run.id, root, options: options ?? null }),
  );
}

/** Records progress counts of a running run (for the UI and for post-mortems of an interrupted run). */
export function updateIngestRun(db: Db, id: number, counts: IngestCounts): void {
  checkId('updateIngestRun', id);
  checkCounts('updateIngestRun', counts);
  const info = sql(db, `UPDATE ingest_runs SET seen = @seen, added = @added, updated = @updated, moved = @moved,
      unchanged = @unchanged, failed = @failed WHERE id = @id AND status = 'running'`).run({ id, ...pickCounts(counts) });
  if (info.changes !== 1) throw new CatalogError('not-found', 'id', `updateIngestRun: no running ingest run with id ${id}`);
}

export function finishIngestRun(
  db: Db,
  id: number,
  status: Exclude<IngestRunStatus, 'running' | 'interrupted'>,
  counts: IngestCounts,
  error: string | null = null,
): IngestRunRow {
  checkId('finishIngestRun', id);
  checkCounts('finishIngestRun', counts);
  if (!['done', 'cancelled', 'failed'].includes(status)) throw new CatalogError('invalid', 'status', `finishIngestRun(${id}): invalid status '${status}'`);
  return audited(db, 'ingest.finished', () => {
    const row = sql(db, `UPDATE ingest_runs SET status = @status, finished_at = @finishedAt, error = @error, seen = @seen,
      added = @added, updated = @updated, moved = @moved, unchanged = @unchanged, failed = @failed
      WHERE id = @id AND status = 'running' RETURNING ${RUN_COLUMNS}`).get({ id, status, finishedAt: now(), error, ...pickCounts(counts) }) as RunDbRow | undefined;
    if (!row) throw new CatalogError('not-found', 'id', `finishIngestRun: no running ingest run with id ${id}`);
    return runFromDb(row);
  }, (run) => ({ runId: run.id, root: run.root, status, error, ...pickCounts(counts) }));
}

/** Newest first; default limit 100. */
export function listIngestRuns(db: Db, options?: Paging): IngestRunRow[] {
  const { limit, offset } = checkPaging('listIngestRuns', options);
  return (sql(db, `SELECT ${RUN_COLUMNS} FROM ingest_runs ORDER BY id DESC LIMIT ? OFFSET ?`).all(limit, offset) as RunDbRow[]).map(runFromDb);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Marks dead owners' running runs 'interrupted'; returns their ids. */
export function markInterruptedRuns(db: Db): number[] {
  const host = hostname();
  const running = db.prepare(`SELECT id, owner_pid AS pid, owner_host AS host FROM ingest_runs WHERE status = 'running'`)
    .all() as { id: number; pid: number | null; host: string | null }[];
  const dead = running.filter((r) => r.pid === null || (r.host === host && r.pid !== process.pid && !alive(r.pid)));
  if (dead.length === 0) return [];
  const mark = db.prepare(`UPDATE ingest_runs SET status = 'interrupted', finished_at = ?,
    error = 'the ingest process ended without finishing the run (killed or crashed); run ingest again to resume'
    WHERE id = ? AND status = 'running'`);
  const at = new Date().toISOString();
  db.transaction(() => { for (const r of dead) mark.run(at, r.id); }).immediate();
  return dead.map((r) => r.id);
}

/** The owner recorded with a new run. */
function runOwner(): { pid: number; host: string } {
  return { pid: process.pid, host: hostname() };
}
