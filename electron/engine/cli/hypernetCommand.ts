// quari hypernet --checkpoint DIR --queries Q.bin --gallery G.bin --out DIR
// Runs a QuARI checkpoint on raw float32 embeddings and writes its outputs and the low-rank scores as raw float32.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { Hypernetwork, lowRankScores } from '../models/Hypernetwork.ts';
import { parse, positiveInt, requireString, UsageError, type Command } from './args.ts';
import { terminalSafe } from './terminal.ts';

const usage = `Usage:
  quari hypernet --checkpoint DIR --queries Q.bin --gallery G.bin --out DIR [--threads N] [--json]

  --checkpoint DIR  QuARI checkpoint folder (config.yml + weights.pt)
  --queries Q.bin   query embeddings, raw float32 little-endian row-major [B, E] (B from the file size)
  --gallery G.bin   gallery embeddings, raw float32 little-endian row-major [M, E] (M from the file size)
  --out DIR         output folder (created if missing); writes raw float32 little-endian:
                      refined_query.bin [B,E], U.bin [B,E,r], V.bin [B,E,r],
                      scores.bin [B,M] with score = q'·normalize(x + a·(x·U)·Vᵀ)
  --threads N       ONNX Runtime intra-op threads (default 1)
  --json            print a JSON summary`;

/** Reads a raw float32 LE matrix with `cols` columns; the row count comes from the file size. */
function readRows(file: string, cols: number, flag: string): { data: Float32Array; rows: number } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as Error).message}`);
  }
  const rowBytes = cols * 4;
  if (buf.byteLength === 0 || buf.byteLength % rowBytes !== 0) {
    throw new Error(
      `${flag} ${file}: ${buf.byteLength} bytes is not a positive multiple of E·4 = ${rowBytes} ` +
        `(rows of ${cols} float32 values for this checkpoint's embedding_dim)`,
    );
  }
  // copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool)
  const data = new Float32Array(buf.byteLength / 4);
  new Uint8Array(data.buffer).set(buf);
  return { data, rows: buf.byteLength / rowBytes };
}

function writeFloats(file: string, data: Float32Array): void {
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

export const hypernetCommand: Command = {
  synopsis: 'hypernet                  run a QuARI checkpoint on raw float32 queries and gallery embeddings',
  usage,
  async run(argv) {
    const parsed = parse(
      argv,
      {
        checkpoint: { type: 'string' },
        queries: { type: 'string' },
        gallery: { type: 'string' },
        out: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (!parsed) return 0;
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    const checkpoint = requireString(parsed.values.checkpoint, '--checkpoint');
    const queriesFile = requireString(parsed.values.queries, '--queries');
    const galleryFile = requireString(parsed.values.gallery, '--gallery');
    const outDir = requireString(parsed.values.out, '--out');
    const threads = positiveInt(parsed.values.threads, '--threads', 1);
    if (threads < 1) throw new UsageError('--threads must be at least 1');
    // the files are little-endian and are read and written as native Float32Arrays
    if (endianness() !== 'LE') throw new Error('quari hypernet needs a little-endian host');

    const net = await Hypernetwork.load(checkpoint, { intraOpNumThreads: threads });
    try {
      const E = net.dim;
      const r = net.rank;
      const queries = readRows(queriesFile, E, '--queries');
      const gallery = readRows(galleryFile, E, '--gallery');
      const t0 = performance.now();
      const out = await net.run(queries.data, queries.rows);
      const forwardMs = performance.now() - t0;
      const scores = lowRankScores(out.refinedQuery, out.U, out.V, out.anchorScale, gallery.data, gallery.rows, E, r);

      mkdirSync(outDir, { recursive: true });
      writeFloats(join(outDir, 'refined_query.bin'), out.refinedQuery);
      writeFloats(join(outDir, 'U.bin'), out.U);
      writeFloats(join(outDir, 'V.bin'), out.V);
      writeFloats(join(outDir, 'scores.bin'), scores);

      const summary = {
        checkpoint, checkpointSha256: net.checkpointHash, batch: queries.rows, gallery: gallery.rows,
        dim: E, rank: r, anchorScale: out.anchorScale, forwardMs: Math.round(forwardMs * 10) / 10, out: outDir,
      };
      if (parsed.values.json === true) console.log(JSON.stringify(summary));
      else {
        console.log(
          `hypernet: ${queries.rows} queries × ${gallery.rows} gallery rows, E=${E} r=${r} a=${out.anchorScale}, ` +
            `forward ${summary.forwardMs} ms → ${terminalSafe(outDir)}/{refined_query,U,V,scores}.bin`,
        );
      }
      return 0;
    } finally {
      await net.release();
    }
  },
};
