import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { applyActivation, type Activation } from './activation.ts';
import { filterBuffer, upsample2d } from './upfirdn.ts';

export interface ConvOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly addBias?: boolean;
  readonly upsample?: boolean;
  readonly filterKernel?: readonly number[];
  readonly useWscale?: boolean;
  readonly wscaleGain?: number;
  readonly lrMul?: number;
  readonly activation?: Activation;
  /** conv_clamp: clamp the output to [-clamp, clamp]; null/undefined for none. */
  readonly clamp?: number | null;
  readonly height: number;
  readonly width: number;
}

/**
 * The reference ConvLayer (unmodulated, weights shared by the batch, so a plain ONNX Conv).
 * Upsampling is only used with 1x1 kernels in the generator (the residual skip path).
 */
export function conv(b: Builder, x: string, o: ConvOptions): string {
  const { inChannels: I, outChannels: O, kernelSize: k } = o;
  const lrMul = o.lrMul ?? 1;
  const useWscale = o.useWscale ?? true;
  const wscale = (o.wscaleGain ?? 1) / Math.sqrt(k * k * I);
  const raw = b.param('weight', [O, I, k, k], { kind: 'normal', std: useWscale ? 1 / lrMul : wscale / lrMul });
  const weight = b.scale(raw, useWscale ? wscale * lrMul : lrMul);
  let y: string;
  if (!o.upsample) {
    const p = Math.floor(k / 2);
    y = b.op('Conv', [x, weight], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) });
  } else {
    if (k !== 1) throw new RangeError('ConvLayer upsampling is only implemented for 1x1 kernels');
    const filter = filterBuffer(b, o.filterKernel ?? [1, 3, 3, 1]);
    const c = b.op('Conv', [x, weight], { kernel_shape: attr.ints([1, 1]) });
    y = upsample2d(b, c, filter, O, o.height, o.width);
  }
  if (o.addBias) {
    const bias = b.param('bias', [O], { kind: 'constant', value: 0 });
    y = b.add(y, b.reshape(b.scale(bias, lrMul), [O, 1, 1]));
  }
  return applyActivation(b, y, o.activation ?? 'linear', o.clamp);
}
