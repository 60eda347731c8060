// The pack's learned projection y = (x − mean) · matrix, run as a two-node ONNX graph: ONNX Runtime's GEMM does
// the ~80 × 1280 × D multiply-adds of one image's vectors in a millisecond or two, where a JS loop takes ~100×
// longer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../../native-models/runtime/onnx/graph-builder.ts';
import type { PackManifest } from '../../../native-models/runtime/packs/manifest.ts';

export class Projection {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputDim: number,
    readonly outputDim: number,
  ) {}

  static async open(manifest: PackManifest, packDir: string, intraOpThreads: number): Promise<Projection | null> {
    const p = manifest.projection;
    if (!p) return null;
    const mean = await readFloat32(join(packDir, p.meanFile), p.inputDim, `pack ${manifest.id}: projection.meanFile`);
    const matrix = await readFloat32(join(packDir, p.matrixFile), p.inputDim * p.outputDim, `pack ${manifest.id}: projection.matrixFile`);
    const g = new GraphBuilder({ name: `${manifest.id}-projection` });
    const x = g.input('x', 'float32', ['n', p.inputDim]);
    const centred = g.op('Sub', [x, g.initializer('mean', mean, [p.inputDim])]);
    g.output(g.op('MatMul', [centred, g.initializer('matrix', matrix, [p.inputDim, p.outputDim])]), { name: 'y' });
    const session = await ort.InferenceSession.create(g.toBytes(), {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new Projection(session, p.inputDim, p.outputDim);
  }

  /** Projects every inputDim-wide row of `rows` (not normalised). */
  async apply(rows: Float32Array): Promise<Float32Array> {
    const n = rows.length / this.inputDim;
    const out = await this.session.run({ x: new ort.Tensor('float32', rows, [n, this.inputDim]) });
    return out.y.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

async function readFloat32(path: string, count: number, what: string): Promise<Float32Array> {
  const buf = await readFile(path);
  if (buf.length !== count * 4) throw new Error(`${what} ${path} has ${buf.length} bytes, expected ${count * 4} (${count} float32)`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}
