// QuARI checkpoint reader: config.yml + weights.pt (torch.save zip) to typed float32 tensors, no Python.
export { readQuariCheckpoint, type QuariCheckpoint, type QuariTensor } from './readCheckpoint.ts';
export { parseQuariConfig, readQuariConfig, type QuariConfig, type QuariHparams } from './config.ts';
export { expectedStateDictShapes } from './shapes.ts';
