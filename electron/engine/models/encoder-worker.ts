// Runs one ImageEncoder in a worker thread, so that ONNX inference (synchronous inside onnxruntime-node) never
// blocks the thread that reads, decodes and commits.
import { parentPort, workerData } from 'node:worker_threads';
import type { EncoderInputs } from '../images/processor.ts';
import { ImageEncoder } from './ImageEncoder.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';

export interface WorkerSetup {
  pack: VerifiedPack;
  intraOpThreads: number;
}

export type WorkerRequest = { id: number; batch: EncoderInputs[] };
export type WorkerReply =
  | { id: number; ok: true; result: Awaited<ReturnType<ImageEncoder['encodeInputs']>> }
  | { id: number; ok: false; error: string };

const port = parentPort!;
const setup = workerData as WorkerSetup;
const encoder = await ImageEncoder.open(setup.pack, { intraOpThreads: setup.intraOpThreads });
port.on('message', async (msg: WorkerRequest | 'close') => {
  if (msg === 'close') {
    await encoder.close();
    port.close();
    return;
  }
  try {
    const result = await encoder.encodeInputs(msg.batch);
    const transfer = result.flatMap((r) => [r.vectors.buffer as ArrayBuffer, r.boxes.buffer as ArrayBuffer]);
    port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply, transfer);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WorkerReply);
  }
});
port.postMessage('ready');
