// Turns a PCA (pca.py output) into the pack's projection files: mean [1280] and matrix [1280 × D], float32 LE,
// matrix[i][k] = eigvec_k[i] · λ_k^(−power/2) (power 1: full whitening; the runtime L2-normalises afterwards, so
// the overall scale is irrelevant). Prints the files' SHA-256 for the provenance record.
// Usage: npx tsx native-models/tools/training/regions/export-projection.ts --pca DIR --dim 256 --power 1 --out PACK_DIR
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIM = 1280;

export function whiteningMatrix(vals: Float32Array, vecs: Float32Array, inputDim: number, outputDim: number, power: number): Float32Array {
  if (vals.length !== inputDim || vecs.length !== inputDim * inputDim) throw new Error(`PCA of dim ${vals.length} does not match inputDim ${inputDim}`);
  if (outputDim > inputDim) throw new Error(`outputDim ${outputDim} exceeds inputDim ${inputDim}`);
  const eps = vals[0] * 1e-6;
  const m = new Float32Array(inputDim * outputDim);
  for (let k = 0; k < outputDim; k++) {
    const s = Math.pow(Math.max(vals[k], eps), -power / 2);
    for (let i = 0; i < inputDim; i++) m[i * outputDim + k] = vecs[i * inputDim + k] * s;
  }
  return m;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function main(argv: string[]): void {
  const get = (n: string): string => {
    const i = argv.indexOf(`--${n}`);
    if (i < 0 || argv[i + 1] === undefined) throw new Error(`--${n} is required`);
    return argv[i + 1];
  };
  const pca = get('pca');
  const d = Number(get('dim'));
  const power = Number(get('power'));
  const out = get('out');
  if (!Number.isInteger(d) || d < 1) throw new Error(`--dim: '${get('dim')}' is not a positive integer`);
  if (!(power >= 0 && power <= 1)) throw new Error(`--power: '${get('power')}' is not in [0, 1]`);
  const mean = readF32(join(pca, 'mean.f32'));
  const matrix = whiteningMatrix(readF32(join(pca, 'eigvals.f32')), readF32(join(pca, 'eigvecs.f32')), DIM, d, power);
  mkdirSync(out, { recursive: true });
  for (const [name, a] of [['whitening-mean.f32', mean], ['whitening-matrix.f32', matrix]] as const) {
    const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    writeFileSync(join(out, name), bytes);
    console.log(`${name}: ${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
