// Stage 3 off the main thread: OpenCV.js workers (two by default, one per core of the target machine) that verify
// a query crop against candidate regions. Candidates go out in small chunks to the least busy worker so that both
// cores stay busy to the end; each worker is sent the query's pixels once per query and keeps its features.
import type { GrayImage } from './geometry.ts';
import type { VerifyParams } from './params.ts';
import { WorkerPool, type PoolSlot } from '../workers/WorkerPool.ts';
import type { CandidateJob, CandidateOutcome, WorkerReply, WorkerRequest } from './verify-worker.ts';

const WORKER_URL = new URL('./verify-worker.mjs', import.meta.url);
/** Candidates per message: small enough to balance two workers, large enough that messaging costs nothing. */
const CHUNK = 4;

interface Slot extends PoolSlot {
  /** The query whose pixels this worker was last sent (it keeps that query's features). */
  queryKey: number;
}

export interface PoolVerification {
  /** Keypoints found in the query crop. */
  queryFeatures: number;
  /** One per candidate, in order; null for all when the crop has fewer than minQueryFeatures keypoints. */
  results: CandidateOutcome[] | null;
}

export class VerifyPool {
  private nextQuery = 1;

  private constructor(private readonly pool: WorkerPool<WorkerReply, Slot>) {}

  static async open(workers = 2): Promise<VerifyPool> {
    const pool = await WorkerPool.open<WorkerReply, Slot>(WORKER_URL, workers, { what: 'verification worker', loading: 'OpenCV' }, (worker) => ({
      worker,
      busy: 0,
      queryKey: 0,
    }));
    return new VerifyPool(pool);
  }

  async verify(query: GrayImage, candidates: readonly CandidateJob[], params: VerifyParams): Promise<PoolVerification> {
    const key = this.nextQuery++;
    // Features of the query first (on one worker): a crop without enough of them verifies nothing.
    const first = await this.send(this.pool.slots[0]!, key, query, params, []);
    if (first.queryFeatures < params.minQueryFeatures) return { queryFeatures: first.queryFeatures, results: null };
    const results: CandidateOutcome[] = new Array(candidates.length);
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < candidates.length; start += CHUNK) {
      const chunk = candidates.slice(start, start + CHUNK);
      const slot = this.pool.leastBusy();
      jobs.push(this.send(slot, key, query, params, chunk).then((r) => r.results.forEach((o, i) => (results[start + i] = o))));
    }
    await Promise.all(jobs);
    return { queryFeatures: first.queryFeatures, results };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private send(slot: Slot, key: number, query: GrayImage, params: VerifyParams, candidates: CandidateJob[]): Promise<Extract<WorkerReply, { ok: true }>> {
    const withQuery = slot.queryKey !== key;
    slot.queryKey = key;
    return this.pool.request(slot, (id) => ({ id, queryKey: key, params, candidates, ...(withQuery ? { query } : {}) }) satisfies WorkerRequest);
  }
}
