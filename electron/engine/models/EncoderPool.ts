// Image encoders in worker threads: each worker owns one ONNX session; batches go to the least busy worker.
import type { PackManifest } from '../../../native-models/runtime/packs/manifest.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import type { EncoderInputs } from '../images/processor.ts';
import { ImageEncoder, type ImageEmbedding, type PixelEncoder } from './ImageEncoder.ts';
import { WorkerPool, type PoolSlot } from '../workers/WorkerPool.ts';
import type { WorkerReply, WorkerSetup } from './encoder-worker.ts';

const WORKER_URL = new URL('./encoder-worker.mjs', import.meta.url);

export class EncoderPool implements PixelEncoder {
  private constructor(
    readonly manifest: PackManifest,
    private readonly pool: WorkerPool<WorkerReply>,
  ) {}

  /** Starts `workers` workers, each with an `intraOpThreads`-thread session; resolves once all loaded the model. */
  static async open(pack: VerifiedPack, options: { workers?: number; intraOpThreads?: number } = {}): Promise<EncoderPool> {
    const setup: WorkerSetup = { pack, intraOpThreads: options.intraOpThreads ?? 1 };
    const pool = await WorkerPool.open<WorkerReply, PoolSlot>(
      WORKER_URL,
      options.workers ?? 2,
      { what: 'image encoder worker', loading: pack.dir },
      (worker) => ({ worker, busy: 0 }),
      { workerData: setup },
    );
    return new EncoderPool(pack.manifest, pool);
  }

  /** The batch's pixel buffers are transferred to the worker when they own their memory (then unusable here). */
  encodeInputs(batch: readonly EncoderInputs[]): Promise<ImageEmbedding[]> {
    const transfer = new Set<ArrayBuffer>();
    for (const b of batch) {
      for (const img of [b.whole, b.region]) {
        const buf = img?.data.buffer;
        // Only whole, unshared buffers: a Buffer from Node's pool shares its ArrayBuffer with other data.
        if (buf instanceof ArrayBuffer && img!.data.byteOffset === 0 && img!.data.byteLength === buf.byteLength) transfer.add(buf);
      }
    }
    return this.pool.request(this.pool.leastBusy(), (id) => ({ id, batch }), [...transfer]).then((r) => r.result);
  }

  close(): Promise<void> {
    return this.pool.close();
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
