import type { Builder } from '../onnx/builder.ts';
import { dense } from '../layers/dense.ts';
import { pixelNorm } from '../layers/norm.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';

/** MappingNetwork: normalised z ++ normalised global text -> dense lrelu stack -> w, and wp [N, L, w_dim]. */
export function mapping(b: Builder, z: string, globalText: string, c: GeneratorConfig, numLayers: number): { w: string; wp: string } {
  const zn = c.normalize_z ? pixelNorm(b, z, 1, c.eps) : z;
  const tn = c.normalize_text_cond ? pixelNorm(b, globalText, 1, c.eps) : globalText;
  let w = b.concat([zn, tn], 1);
  const outDim = c.repeat_w ? c.w_dim : c.w_dim * numLayers;
  for (let i = 0; i < c.mapping_layers; i++) {
    w = dense(b.child(`dense${i}`), w, {
      inChannels: i === 0 ? c.z_dim + c.context_dim : c.mapping_fmaps,
      outChannels: i === c.mapping_layers - 1 ? outDim : c.mapping_fmaps,
      useWscale: c.mapping_use_wscale, wscaleGain: c.mapping_wscale_gain, lrMul: c.mapping_lr_mul, activation: 'lrelu',
    });
  }
  const wp = c.repeat_w
    ? b.op('Expand', [b.unsqueeze(w, [1]), b.i64([1, numLayers, 1])])
    : b.reshape(w, [-1, numLayers, c.w_dim]);
  return { w, wp };
}
