// The parts of a tfjs layers model.json the converter reads.
import type { TfjsWeightGroup } from './weights.ts';

export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** Keras functional inbound nodes: [[[layerName, nodeIndex, tensorIndex, kwargs], …]]. */
  inbound_nodes: [string, number, number, unknown][][];
}

export interface KerasModelConfig {
  class_name: string;
  config: { name: string; layers: KerasLayer[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
}

export interface TfjsLayersModelJson {
  /** The Python converter writes {keras_version, backend, model_config, …}; tfjs' own save() writes the model config itself. */
  modelTopology: { model_config: KerasModelConfig; keras_version?: string } | KerasModelConfig;
  weightsManifest: TfjsWeightGroup[];
}

/** The Keras functional model config of a model.json, whichever of the two layouts it uses. */
export function kerasModelConfig(json: TfjsLayersModelJson): KerasModelConfig {
  const topo = json.modelTopology;
  const cfg = topo && 'model_config' in topo ? topo.model_config : topo;
  if (!cfg || cfg.class_name !== 'Model' || !Array.isArray(cfg.config?.layers)) {
    throw new Error(`modelTopology: expected a Keras functional 'Model' config, got '${String(cfg?.class_name)}'`);
  }
  return cfg;
}
