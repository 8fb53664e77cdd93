import type { Builder } from '../onnx/builder.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { fourierInput, constInput } from '../layers/input-layers.ts';
import { modulatedConv } from '../layers/modulated-conv.ts';
import { residualAttnBlock } from '../layers/residual-attn-block.ts';
import { residualConvBlock } from '../layers/residual-conv-block.ts';
import { filterBuffer, upsample2d } from '../layers/upfirdn.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import type { SynthesisLayout } from './layout.ts';

export interface SynthesisOptions {
  readonly moe?: MoeMode;
  /**
   * Called with each multi-scale RGB image below the output resolution that the final image is
   * built from (skip architecture: image at res = its toRGB + the previous image upsampled), for
   * graphs that publish them (the serving graph's partial images). Not called without skip
   * connections, where no lower-resolution image feeds the output.
   */
  readonly onImage?: (res: number, image: string) => void;
}

/** SynthesisNetwork.forward: wp [N, L, w_dim] and local text [N, S, context] -> image [N, 3, R, R]. */
export function synthesis(
  b: Builder,
  wp: string,
  localText: string,
  c: GeneratorConfig,
  layout: SynthesisLayout,
  textTokens: number,
  options: SynthesisOptions = {},
): string {
  const common = {
    wDim: c.w_dim, demodulate: c.demodulate, useWscale: c.use_wscale, wscaleGain: c.wscale_gain, lrMul: c.lr_mul, eps: c.eps,
  };
  const skipFilter = c.skip_connection ? filterBuffer(b, c.filter_kernel) : null;
  const msRes = c.ms_training_res.map(Number);
  const lastRes = Math.max(...msRes);
  const net = b.child('net');
  let h = '';
  let size = c.init_res;
  let img: string | null = null;
  let imgRes = 0;
  for (const [idx, m] of layout.modules.entries()) {
    const w = b.op('Gather', [wp, b.i64(idx)], { axis: { kind: 'int', value: 1 } }, `wp${idx}`);
    const mb = net.child(idx);
    if (m.kind === 'input') {
      const start = c.fourier_feat
        ? fourierInput(mb.child(0), w, { wDim: c.w_dim, channels: m.inChannels, size: m.res, samplingRate: m.res, bandwidth: 1 })
        : constInput(mb.child(0), w, m.inChannels, m.res);
      h = modulatedConv(mb.child(1), start, w, {
        ...common, inChannels: m.inChannels, outChannels: m.outChannels, kernelSize: 3, numKernels: c.num_adaptive_kernels[String(m.res)],
        activation: 'lrelu', mtm: c.mtm, clamp: c.conv_clamp, height: m.res, width: m.res,
      }).y;
    } else if (m.kind === 'conv') {
      ({ y: h, height: size } = residualConvBlock(mb.child(0), h, w, {
        ...common, inChannels: m.inChannels, outChannels: m.outChannels, numKernels: c.num_adaptive_kernels[String(m.res)],
        upsample: m.upsample, residualGain: c.residual_gain, filterKernel: c.filter_kernel, mtm: m.mtm, clamp: c.conv_clamp, height: size, width: size,
      }));
    } else {
      h = residualAttnBlock(mb.child(0), h, w, localText, {
        ...common, inChannels: m.channels, depth: m.depth, attnGain: c.attn_gain, groups: 32, clamp: c.conv_clamp, numHeads: c.num_heads,
        headDim: m.headDim, contextDim: c.context_dim, contextTokens: textTokens, l2: c.l2_attention, tie: c.tie,
        scaleIn: c.scale_in, includeFf: c.include_ff, useWCond: c.use_w_cond, glu: c.glu, numExperts: m.numExperts, height: size, width: size,
        moe: options.moe,
      });
    }
    b.graph.tap(h, `blocks/net${String(idx).padStart(2, '0')}`, 'float32', ['batch', layout.channels(m.res), size, size]);

    const res = layout.layerIdToRes.get(idx);
    if (res === undefined) continue;
    // The reference builds an output layer at every resolution, so every one is declared (its
    // weights are in the checkpoint); only those in ms_training_res up to the largest feed the
    // image (the reference stops there), and the rest are pruned at encoding.
    let y = modulatedConv(b.child(`output_res_${res}x${res}`), h, w, {
      ...common, inChannels: layout.channels(res), outChannels: c.image_channels, kernelSize: 1,
      numKernels: c.num_adaptive_kernels[String(res)], demodulate: false, activation: 'linear', clamp: c.conv_clamp, height: size, width: size,
    }).y;
    if (!msRes.includes(res) || res > lastRes) continue;
    if (c.final_tanh) y = b.op('Tanh', [y]);
    if (skipFilter && res !== c.init_res) {
      if (img === null) throw new RangeError('skip_connection needs the initial resolution in ms_training_res');
      // The skip sum upsamples the previous image 2x, so no resolution may be left out below the last.
      if (imgRes !== res / 2) throw new RangeError(`skip_connection needs ${res / 2} in ms_training_res (the image before ${res})`);
      y = b.add(y, upsample2d(b, img, skipFilter, c.image_channels, size / 2, size / 2));
    }
    if (img !== null && skipFilter) options.onImage?.(imgRes, img);
    img = y;
    imgRes = res;
    b.graph.tap(img, `img_res_${res}x${res}`, 'float32', ['batch', c.image_channels, size, size]);
  }
  if (img === null) throw new RangeError('ms_training_res produced no image output');
  return img;
}
