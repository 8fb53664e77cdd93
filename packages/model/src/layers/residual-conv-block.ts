import type { Builder } from '../onnx/builder.ts';
import { conv } from './conv.ts';
import { modulatedConv } from './modulated-conv.ts';

export interface ResidualConvBlockOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly wDim: number;
  readonly numKernels: number;
  readonly upsample: boolean;
  readonly residualGain: number;
  readonly filterKernel: readonly number[];
  readonly demodulate: boolean;
  readonly useWscale: boolean;
  readonly wscaleGain: number;
  readonly lrMul: number;
  readonly eps: number;
  readonly mtm: boolean;
  /** conv_clamp for both convs (the skip path is never clamped). */
  readonly clamp: number | null;
  readonly height: number;
  readonly width: number;
}

/** ResidualConvBlock: conv1 (maybe upsampling) -> conv2 (maybe MTM), plus a skip path, times residual_gain. */
export function residualConvBlock(b: Builder, x: string, w: string, o: ResidualConvBlockOptions): { y: string; height: number; width: number } {
  const common = {
    wDim: o.wDim, kernelSize: 3, numKernels: o.numKernels, demodulate: o.demodulate, useWscale: o.useWscale,
    wscaleGain: o.wscaleGain, lrMul: o.lrMul, activation: 'lrelu' as const, eps: o.eps, filterKernel: o.filterKernel, clamp: o.clamp,
  };
  const c1 = modulatedConv(b.child('conv1'), x, w, {
    ...common, inChannels: o.inChannels, outChannels: o.outChannels, upsample: o.upsample, height: o.height, width: o.width,
  });
  const c2 = modulatedConv(b.child('conv2'), c1.y, w, {
    ...common, inChannels: o.outChannels, outChannels: o.outChannels, mtm: o.mtm, height: c1.height, width: c1.width,
  });
  const needsProjection = o.upsample || o.inChannels !== o.outChannels;
  const residual = needsProjection
    ? conv(b.child('skip_connection'), x, {
        inChannels: o.inChannels, outChannels: o.outChannels, kernelSize: 1, upsample: o.upsample, filterKernel: o.filterKernel,
        useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, height: o.height, width: o.width,
      })
    : x;
  return { y: b.scale(b.add(c2.y, residual), o.residualGain), height: c2.height, width: c2.width };
}
