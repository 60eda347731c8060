// A pool of worker threads that answer each `{ id, … }` request with one `{ id, ok, … }` reply. The image encoders
// (models/EncoderPool.ts) and stage-3 verification (verify/VerifyPool.ts) both run on it, so start-up, routing of
// replies, failure of a worker and shut-down are written once; each pool keeps only what its requests carry. The
// hash-set import (hashsets/ImportThread.ts) runs on it too: its worker also posts notices (progress) that answer
// no request, and its failures carry a code the caller tells apart.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export type PoolReply = { id: number } & ({ ok: true } | { ok: false; error: string; code?: string });

/** A request's failure as the worker reported it: its message, and its code where it gave one. */
export class WorkerError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

export interface PoolSlot {
  readonly worker: Worker;
  /** Requests sent to this worker and not answered yet. */
  busy: number;
}

export class WorkerPool<R extends PoolReply, S extends PoolSlot = PoolSlot> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Extract<R, { ok: true }>) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(
    readonly slots: readonly S[],
    what: string,
    onNotice?: (message: unknown) => void,
  ) {
    for (const slot of slots) {
      slot.worker.on('message', (msg: R) => {
        if (typeof msg !== 'object' || msg === null || !('ok' in msg)) {
          onNotice?.(msg);
          return;
        }
        const job = this.pending.get(msg.id);
        if (!job) return;
        this.pending.delete(msg.id);
        slot.busy--;
        if (msg.ok) job.resolve(msg as Extract<R, { ok: true }>);
        else {
          const failure = msg as Extract<R, { ok: false }>;
          job.reject(new WorkerError(failure.error, failure.code));
        }
      });
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`${what} exited with code ${code}`));
      });
    }
  }

  /**
   * Starts `count` workers of `url` and resolves once each has posted its first (ready) message; `what` names them
   * in errors, `loading` says what a worker that dies at start was loading. Started workers are stopped on failure.
   * Messages that are no reply (no `ok`) go to `onNotice`.
   */
  static async open<R extends PoolReply, S extends PoolSlot>(
    url: URL,
    count: number,
    names: { what: string; loading: string },
    slot: (worker: Worker) => S,
    options?: WorkerOptions & { onNotice?: (message: unknown) => void },
  ): Promise<WorkerPool<R, S>> {
    const { onNotice, ...workerOptions } = options ?? {};
    const workers = Array.from({ length: count }, () => new Worker(url, workerOptions));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`${names.what} exited with code ${code} while loading ${names.loading}`)));
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new WorkerPool<R, S>(workers.map(slot), names.what, onNotice);
  }

  /** The worker with the fewest unanswered requests. */
  leastBusy(): S {
    return this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /** Posts `message(id)` to `slot` under a fresh id; resolves with the worker's reply, rejects with its error. */
  request(slot: S, message: (id: number) => unknown, transfer: readonly ArrayBuffer[] = []): Promise<Extract<R, { ok: true }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage(message(id), [...transfer]);
    });
  }

  /** Asks every worker to finish (`'close'`) and waits until all have exited. */
  async close(): Promise<void> {
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once('exit', () => resolve());
            s.worker.postMessage('close');
          }),
      ),
    );
  }

  /** A worker failed: every pending and later request rejects with that error. */
  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      job.reject(err);
    }
  }
}
