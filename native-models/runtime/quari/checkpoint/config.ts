// config.yml of a QuARI checkpoint: `hparams` holds the TransformerHypernetwork constructor keywords (any order,
// missing ones take the constructor defaults), `feature_extractor` is an optional top-level backbone id.
import { readRegularFileSync } from '../../io/regularFile.ts';
import { parse } from 'yaml';

/** Constructor hyper-parameters, camelCase versions of the snake_case keys in config.yml. */
export interface QuariHparams {
  /** E, `embedding_dim` (required). */
  embeddingDim: number;
  /** r, `low_rank_dim`. */
  lowRankDim: number;
  /** H, `hidden_dim`. */
  hiddenDim: number;
  /** T, `num_steps`. */
  numSteps: number;
  /** `nhead`. */
  nhead: number;
  /** L, `num_layers`. */
  numLayers: number;
  /** `dropout`: training only, carried for completeness. */
  dropout: number;
  /** w, `query_residual_weight`: refined = normalize((1-w)·decoded + w·query). */
  queryResidualWeight: number;
  /** `use_fro_norm`. */
  useFroNorm: boolean;
  /** a, `anchor_scale`: W = I + a·U Vᵀ. */
  anchorScale: number;
}

export interface QuariConfig {
  hparams: QuariHparams;
  featureExtractor?: string;
}

type Kind = 'int' | 'number' | 'boolean';
const HPARAMS: Record<string, { field: keyof QuariHparams; kind: Kind; default?: number | boolean }> = {
  embedding_dim: { field: 'embeddingDim', kind: 'int' },
  low_rank_dim: { field: 'lowRankDim', kind: 'int', default: 64 },
  hidden_dim: { field: 'hiddenDim', kind: 'int', default: 512 },
  num_steps: { field: 'numSteps', kind: 'int', default: 4 },
  nhead: { field: 'nhead', kind: 'int', default: 8 },
  num_layers: { field: 'numLayers', kind: 'int', default: 4 },
  dropout: { field: 'dropout', kind: 'number', default: 0.1 },
  query_residual_weight: { field: 'queryResidualWeight', kind: 'number', default: 0.5 },
  use_fro_norm: { field: 'useFroNorm', kind: 'boolean', default: true },
  anchor_scale: { field: 'anchorScale', kind: 'number', default: 0.8 },
};

/** config.yml is a dozen lines; 64 KiB leaves room for comments and nothing else. */
export const CONFIG_MAX_BYTES = 64 * 1024;

export function readQuariConfig(file: string): QuariConfig {
  return parseQuariConfig(readRegularFileSync(file, { maxBytes: CONFIG_MAX_BYTES }).toString('utf8'), file);
}

/** Parses config.yml text; `file` names it in error messages. */
export function parseQuariConfig(text: string, file: string): QuariConfig {
  let doc: unknown;
  try {
    // YAML 1.1, as PyYAML's safe_load reads it (yes/no/on/off are booleans there)
    doc = parse(text, { version: '1.1' });
  } catch (err) {
    throw new Error(`${file}: not valid YAML (${(err as Error).message})`);
  }
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(doc) || !isMap(doc.hparams)) throw new Error(`${file}: missing the hparams mapping`);

  for (const key of Object.keys(doc.hparams)) {
    if (!(key in HPARAMS)) throw new Error(`${file}: unknown hparams key ${key}`);
  }
  const out: Record<string, number | boolean> = {};
  for (const [key, spec] of Object.entries(HPARAMS)) {
    const value = key in doc.hparams ? doc.hparams[key] : spec.default;
    if (value === undefined) throw new Error(`${file}: hparams.${key} is required`);
    const ok = spec.kind === 'boolean' ? typeof value === 'boolean'
      : spec.kind === 'int' ? Number.isSafeInteger(value) && (value as number) >= 1
      : typeof value === 'number' && Number.isFinite(value);
    if (!ok) {
      const want = spec.kind === 'int' ? 'a positive integer' : spec.kind === 'number' ? 'a finite number' : 'true or false';
      throw new Error(`${file}: hparams.${key} must be ${want}, got ${JSON.stringify(value)}`);
    }
    out[spec.field] = value as number | boolean;
  }
  const hparams = out as unknown as QuariHparams;
  if (hparams.hiddenDim % hparams.nhead !== 0) {
    throw new Error(`${file}: hparams.hidden_dim ${hparams.hiddenDim} is not divisible by nhead ${hparams.nhead}`);
  }
  // the constructor's interleaved sin/cos pos_emb only exists for an even hidden_dim
  if (hparams.hiddenDim % 2 !== 0) throw new Error(`${file}: hparams.hidden_dim ${hparams.hiddenDim} must be even`);

  const fe = doc.feature_extractor;
  if (fe !== undefined && fe !== null && typeof fe !== 'string') {
    throw new Error(`${file}: feature_extractor must be a string, got ${JSON.stringify(fe)}`);
  }
  return typeof fe === 'string' ? { hparams, featureExtractor: fe } : { hparams };
}
