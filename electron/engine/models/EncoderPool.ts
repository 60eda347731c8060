// Image encoders in worker threads: each worker owns one ONNX session; batches go to the least busy worker.
import { Worker } from 'node:worker_threads';
import type { PackManifest } from '../../../native-models/packs/manifest.ts';
import type { VerifiedPack } from '../../../native-models/packs/verify.ts';
import { ImageEncoder, type EncoderInputs, type ImageEmbedding, type PixelEncoder } from './ImageEncoder.ts';
import type { WorkerReply, WorkerSetup } from './encoder-worker.ts';

const WORKER_URL = new URL('./encoder-worker.mjs', import.meta.url);

interface Slot {
  worker: Worker;
  busy: number;
}

export class EncoderPool implements PixelEncoder {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ImageEmbedding[]) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(
    readonly manifest: PackManifest,
    private readonly slots: Slot[],
  ) {
    for (const slot of slots) {
      slot.worker.on('message', (msg: WorkerReply) => {
        const job = this.pending.get(msg.id);
        if (!job) return;
        this.pending.delete(msg.id);
        slot.busy--;
        if (msg.ok) job.resolve(msg.result);
        else job.reject(new Error(msg.error));
      });
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`image encoder worker exited with code ${code}`));
      });
    }
  }

  /** Starts `workers` workers, each with an `intraOpThreads`-thread session; resolves once all loaded the model. */
  static async open(pack: VerifiedPack, options: { workers?: number; intraOpThreads?: number } = {}): Promise<EncoderPool> {
    const setup: WorkerSetup = { pack, intraOpThreads: options.intraOpThreads ?? 1 };
    const workers = Array.from({ length: options.workers ?? 2 }, () => new Worker(WORKER_URL, { workerData: setup }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`image encoder worker exited with code ${code} while loading ${pack.dir}`)));
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new EncoderPool(pack.manifest, workers.map((worker) => ({ worker, busy: 0 })));
  }

  /** The batch's pixel buffers are transferred to the worker when they own their memory (then unusable here). */
  encodeInputs(batch: readonly EncoderInputs[]): Promise<ImageEmbedding[]> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const transfer = new Set<ArrayBuffer>();
      for (const b of batch) {
        for (const img of [b.whole, b.region]) {
          const buf = img?.data.buffer;
          // Only whole, unshared buffers: a Buffer from Node's pool shares its ArrayBuffer with other data.
          if (buf instanceof ArrayBuffer && img!.data.byteOffset === 0 && img!.data.byteLength === buf.byteLength) transfer.add(buf);
        }
      }
      slot.worker.postMessage({ id, batch }, [...transfer]);
    });
  }

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

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      job.reject(err);
    }
  }
}

export type EncoderThreading = { kind: 'workers'; workers: number; intraOpThreads: number } | { kind: 'in-process'; intraOpThreads: number };

/**
 * Two workers with a 1-thread session each. On the 2-core machine they beat one 2-thread session every time we
 * measured (bench/ingest.ts encode_img_per_s_*; 224 pass: 185 vs 62 img/s; end to end with a 672×512 region pass:
 * 121 vs 216 CPU-ms per image): a 2-thread session spins its second thread on every small op and, running inside
 * onnxruntime-node's synchronous run(), blocks the thread that reads, decodes and commits.
 */
export const DEFAULT_THREADING: EncoderThreading = { kind: 'workers', workers: 2, intraOpThreads: 1 };

export async function openEncoder(pack: VerifiedPack, threading: EncoderThreading = DEFAULT_THREADING): Promise<PixelEncoder> {
  return threading.kind === 'workers'
    ? EncoderPool.open(pack, { workers: threading.workers, intraOpThreads: threading.intraOpThreads })
    : ImageEncoder.open(pack, { intraOpThreads: threading.intraOpThreads });
}
