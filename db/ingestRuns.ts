// Ingest-run bookkeeping at open: a run left 'running' by a process that no longer exists (killed with -9, power
// loss) is marked 'interrupted', so the run list never shows it running forever. A run is only judged when it was
// started on this host (owner_host) and its owner_pid is gone; a live process (this one or another, e.g. the CLI
// ingesting while the app is open) keeps its run. Runs from before schema 3 have no owner and cannot still be
// running under this build, so they are interrupted too. Known limit: a reused pid keeps a dead run 'running'
// until that pid exits.
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Marks dead owners' running runs 'interrupted'; returns their ids. */
export function markInterruptedRuns(db: Database.Database): number[] {
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
export function runOwner(): { pid: number; host: string } {
  return { pid: process.pid, host: hostname() };
}
