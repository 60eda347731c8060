// Stage 3 off the main thread: OpenCV.js workers (two by default, one per core of the target machine) that verify
// a query crop against candidate regions. Candidates go out in small chunks to the least busy worker so that both
// cores stay busy to the end; each worker is sent the query's pixels once per query and keeps its features.
import { Worker } from 'node:worker_threads';
import type { GrayImage } from './geometry.ts';
import type { VerifyParams } from './params.ts';
import type { CandidateJob, CandidateOutcome, WorkerReply, WorkerRequest } from './verify-worker.ts';

const WORKER_URL = new URL('./verify-worker.mjs', import.meta.url);
/** Candidates per message: small enough to balance two workers, large enough that messaging costs nothing. */
const CHUNK = 4;

interface Slot {
  worker: Worker;
  busy: number;
  queryKey: number;
}

export interface PoolVerification {
  /** Keypoints found in the query crop. */
  queryFeatures: number;
  /** One per candidate, in order; null for all when the crop has fewer than minQueryFeatures keypoints. */
  results: CandidateOutcome[] | null;
}

export class VerifyPool {
  private nextId = 1;
  private nextQuery = 1;
  private readonly pending = new Map<number, { resolve: (r: Extract<WorkerReply, { ok: true }>) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(private readonly slots: Slot[]) {
    for (const slot of slots) {
      slot.worker.on('message', (msg: WorkerReply) => {
        const job = this.pending.get(msg.id);
        if (!job) return;
        this.pending.delete(msg.id);
        slot.busy--;
        if (msg.ok) job.resolve(msg);
        else job.reject(new Error(msg.error));
      });
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`verification worker exited with code ${code}`));
      });
    }
  }

  static async open(workers = 2): Promise<VerifyPool> {
    const started = Array.from({ length: workers }, () => new Worker(WORKER_URL));
    try {
      await Promise.all(
        started.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`verification worker exited with code ${code} while loading OpenCV`)));
            }),
        ),
      );
    } catch (err) {
      await Promise.all(started.map((w) => w.terminate()));
      throw err;
    }
    return new VerifyPool(started.map((worker) => ({ worker, busy: 0, queryKey: 0 })));
  }

  async verify(query: GrayImage, candidates: readonly CandidateJob[], params: VerifyParams): Promise<PoolVerification> {
    const key = this.nextQuery++;
    // Features of the query first (on one worker): a crop without enough of them verifies nothing.
    const first = await this.send(this.slots[0]!, key, query, params, []);
    if (first.queryFeatures < params.minQueryFeatures) return { queryFeatures: first.queryFeatures, results: null };
    const results: CandidateOutcome[] = new Array(candidates.length);
    const jobs: Promise<void>[] = [];
    for (let start = 0; start < candidates.length; start += CHUNK) {
      const chunk = candidates.slice(start, start + CHUNK);
      const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      jobs.push(this.send(slot, key, query, params, chunk).then((r) => r.results.forEach((o, i) => (results[start + i] = o))));
    }
    await Promise.all(jobs);
    return { queryFeatures: first.queryFeatures, results };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once('exit', () => resolve());
            s.worker.postMessage('close' satisfies WorkerRequest);
          }),
      ),
    );
  }

  private send(slot: Slot, key: number, query: GrayImage, params: VerifyParams, candidates: CandidateJob[]): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    slot.busy++;
    const withQuery = slot.queryKey !== key;
    slot.queryKey = key;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, queryKey: key, params, candidates, ...(withQuery ? { query } : {}) } satisfies WorkerRequest);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      job.reject(err);
    }
  }
}
