import type { Builder } from '../onnx/builder.ts';
import { applyActivation, type Activation } from './activation.ts';

export interface DenseOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly addBias?: boolean;
  readonly initBias?: number | readonly number[];
  readonly useWscale?: boolean;
  readonly wscaleGain?: number;
  readonly lrMul?: number;
  readonly activation?: Activation;
  readonly initWeight?: number;
  /** Full names of other modules holding the same tensors (torch registers some modules twice). */
  readonly aliases?: readonly string[];
}

/** The effective (scaled) weight and bias of a reference DenseLayer, shaped [out, in] and [out]. */
export function denseParams(b: Builder, o: DenseOptions): { weight: string; bias: string | null } {
  const lrMul = o.lrMul ?? 1;
  const gain = o.wscaleGain ?? 1;
  const useWscale = o.useWscale ?? true;
  const wscale = gain / Math.sqrt(o.inChannels);
  const initWeight = o.initWeight ?? 1;
  const std = useWscale ? initWeight / lrMul : (wscale * initWeight) / lrMul;
  const aliasOf = (n: string) => o.aliases?.map((a) => `${a}.${n}`);
  const raw = b.param('weight', [o.outChannels, o.inChannels], { kind: 'normal', std }, { aliases: aliasOf('weight') });
  // torch multiplies by a python float, which is rounded to float32 first: so do we.
  const weight = b.scale(raw, useWscale ? wscale * lrMul : lrMul);
  let bias: string | null = null;
  if (o.addBias ?? true) {
    const init = o.initBias ?? 0;
    const values = Float32Array.from({ length: o.outChannels }, (_, i) => (typeof init === 'number' ? init : init[i]) / lrMul);
    const rawBias = b.param('bias', [o.outChannels], { kind: 'values', values }, { aliases: aliasOf('bias') });
    bias = b.scale(rawBias, lrMul);
  }
  return { weight, bias };
}

/** Reference DenseLayer: x @ (W * wscale)^T + b * bscale, then bias_act's activation and gain. */
export function dense(b: Builder, x: string, o: DenseOptions): string {
  const { weight, bias } = denseParams(b, o);
  let y = b.matmul(x, b.transpose(weight, [1, 0]));
  if (bias) y = b.add(y, bias);
  return applyActivation(b, y, o.activation ?? 'linear');
}
