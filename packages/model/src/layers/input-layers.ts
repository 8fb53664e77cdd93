import type { Builder } from '../onnx/builder.ts';
import { dense } from './dense.ts';

/** ConstInputLayer: a learned [1, C, r, r] tensor repeated over the batch. */
export function constInput(b: Builder, w: string, channels: number, res: number): string {
  const value = b.param('const', [1, channels, res, res], { kind: 'normal', std: 1 });
  const shape = b.concat([b.dim(w, 0), b.i64([channels, res, res])], 0);
  return b.op('Expand', [value, shape]);
}

/** Reference FourierInputLayer's random frequencies: N(0,1) directions shrunk by exp(r^2)^(1/4). */
function fourierInit(channels: number, bandwidth: number, normal: () => number): Float32Array {
  const freqs = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    const fx = normal();
    const fy = normal();
    const r = Math.sqrt(fx * fx + fy * fy);
    const s = (r * Math.exp(r * r) ** 0.25) / bandwidth;
    freqs[2 * c] = fx / s;
    freqs[2 * c + 1] = fy / s;
  }
  return freqs;
}

/**
 * affine_grid(theta, [1, 1, H, W], align_corners=False) for the reference's diagonal theta:
 * pixel centres in [-1, 1], scaled by 0.5 * size / sampling_rate. Shape [1, H, W, 1, 2].
 */
function fourierGrid(size: number, samplingRate: number): Float32Array {
  const grid = new Float32Array(size * size * 2);
  const scale = Math.fround((0.5 * size) / samplingRate);
  const coord = (i: number) => Math.fround(Math.fround((2 * i + 1) / size) - 1);
  for (let h = 0; h < size; h++) {
    for (let x = 0; x < size; x++) {
      grid[(h * size + x) * 2] = Math.fround(scale * coord(x));
      grid[(h * size + x) * 2 + 1] = Math.fround(scale * coord(h));
    }
  }
  return grid;
}

/**
 * FourierInputLayer: sinusoids whose frequencies and phases are rotated and translated by an
 * affine code from w, then mixed by a learned C x C matrix. Output [N, C, size, size].
 */
export function fourierInput(
  b: Builder,
  w: string,
  o: { wDim: number; channels: number; size: number; samplingRate: number; bandwidth: number },
): string {
  const C = o.channels;
  const S = o.size;
  const weight = b.param('weight', [C, C], { kind: 'normal', std: 1 });
  const transformBuf = b.param('transform', [3, 3], { kind: 'values', values: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) }, { buffer: true });
  const freqsBuf = b.param('freqs', [C, 2], { kind: 'generate', generate: (normal) => fourierInit(C, o.bandwidth, normal) }, { buffer: true });
  const phasesBuf = b.param('phases', [C], { kind: 'uniform', low: -0.5, high: 0.5 }, { buffer: true });

  const t = dense(b.child('affine'), w, { inChannels: o.wDim, outChannels: 4, initWeight: 0, initBias: [1, 0, 0, 0], lrMul: 1, wscaleGain: 1 });
  const norm = b.sqrt(b.reduceSum(b.square(b.slice(t, [0], [2], [1])), [1]));
  const tn = b.div(t, norm); // [N, 4] = (cos, sin, tx, ty)
  const [c, s, tx, ty] = [0, 1, 2, 3].map((i) => b.slice(tn, [i], [i + 1], [1]));
  const zero = b.mul(c, b.f32(0));
  const one = b.add(zero, b.f32(1));
  const row = (...xs: string[]) => b.unsqueeze(b.concat(xs, 1), [1]); // [N, 1, 3]
  // Inverse rotation and translation of the output image, as the reference composes them.
  const mR = b.concat([row(c, b.neg(s), zero), row(s, c, zero), row(zero, zero, one)], 1);
  const mT = b.concat([row(one, zero, b.neg(tx)), row(zero, one, b.neg(ty)), row(zero, zero, one)], 1);
  const transforms = b.matmul(b.matmul(mR, mT), b.unsqueeze(transformBuf, [0])); // [N, 3, 3]

  const freqs = b.unsqueeze(freqsBuf, [0]); // [1, C, 2]
  const phases = b.add(b.unsqueeze(phasesBuf, [0]), b.squeeze(b.matmul(freqs, b.slice(transforms, [0, 2], [2, 3], [1, 2])), [2])); // [N, C]
  const rotated = b.matmul(freqs, b.slice(transforms, [0, 0], [2, 2], [1, 2])); // [N, C, 2]

  const grid = b.f32(fourierGrid(S, o.samplingRate), [1, S, S, 1, 2]);
  const fT = b.unsqueeze(b.transpose(rotated, [0, 2, 1]), [1, 2]); // [N, 1, 1, 2, C]
  // A broadcast multiply + sum rather than a MatMul: onnxruntime's CPU MatMul splits work by
  // columns across threads with a batch-dependent summation order, and a sample's image must not
  // depend on its batch.
  let x = b.squeeze(b.reduceSum(b.mul(b.unsqueeze(grid, [5]), b.unsqueeze(fT, [3])), [4], true), [3, 4]); // [N, S, S, C]
  x = b.add(x, b.unsqueeze(phases, [1, 2]));
  x = b.sin(b.scale(x, Math.PI * 2));
  x = b.matmul(x, b.transpose(b.div(weight, b.f32(Math.sqrt(C))), [1, 0]));
  return b.transpose(x, [0, 3, 1, 2]);
}
