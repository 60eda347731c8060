// The one table of state_dict keys and shapes that TransformerHypernetwork(**hparams) produces, in file order.
import type { QuariHparams } from './config.ts';

export function expectedStateDictShapes(h: QuariHparams): Map<string, number[]> {
  const { embeddingDim: E, hiddenDim: H, lowRankDim: r } = h;
  const shapes = new Map<string, number[]>();
  const linear = (name: string, out: number, inp: number): void => {
    shapes.set(`${name}.weight`, [out, inp]);
    shapes.set(`${name}.bias`, [out]);
  };
  const layerNorm = (name: string): void => {
    shapes.set(`${name}.weight`, [H]);
    shapes.set(`${name}.bias`, [H]);
  };

  shapes.set('pos_emb', [2 * r + 1, H]);
  shapes.set('pos_scale', [1]);
  linear('query_encoder.0', H, E);
  layerNorm('query_encoder.1');
  linear('query_encoder.4', H, H);
  layerNorm('query_encoder.5');
  linear('step_proj.0', H, H);
  linear('step_proj.2', H, H);
  for (let i = 0; i < h.numLayers; i++) {
    const l = `transformer.layers.${i}`;
    shapes.set(`${l}.self_attn.in_proj_weight`, [3 * H, H]);
    shapes.set(`${l}.self_attn.in_proj_bias`, [3 * H]);
    linear(`${l}.self_attn.out_proj`, H, H);
    linear(`${l}.linear1`, 4 * H, H);
    linear(`${l}.linear2`, H, 4 * H);
    layerNorm(`${l}.norm1`);
    layerNorm(`${l}.norm2`);
  }
  linear('query_decoder.0', H, H);
  linear('query_decoder.3', E, H);
  for (const dec of ['dec_u_img', 'dec_v_img']) {
    linear(`${dec}.0`, H, H);
    linear(`${dec}.3`, E, H);
  }
  return shapes;
}
