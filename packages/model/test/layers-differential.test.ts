/**
 * The optimised layers (polyphase/col2im upsampling conv, depthwise FIR, ConvTranspose upsample2d,
 * gather-based MTM, modulation on the activations with static Conv/ConvTranspose for single-kernel
 * layers) against the straightforward formulations in support/reference-layers.ts, in
 * onnxruntime-node and onnxruntime-web, over kernel sizes, filters (random, asymmetric), odd map
 * sizes and kernel counts the fixtures do not cover. Every constant-initialised tensor (biases, MTM
 * scales) and the FIR filter get random values, so offsets are fractional and reach the borders.
 * The bound is on the largest error relative to the output's largest magnitude.
 */
import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { describe, expect, it } from 'vitest';
import { noise } from '../../../bench/common.ts';
import * as fast from '../src/layers/modulated-conv.ts';
import * as fastFir from '../src/layers/upfirdn.ts';
import { Builder } from '../src/onnx/builder.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { Graph } from '../src/onnx/graph.ts';
import { ParamRegistry, type ParamSpec } from '../src/onnx/params.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import type { OrtModule } from '../src/runtime/ort-types.ts';
import * as reference from './support/reference-layers.ts';

const ortWeb = await loadOrtWasm();

const BOUND = 1e-5;
const W_DIM = 8;
const RUNTIMES: [string, OrtModule][] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web', ortWeb],
];

type Body = (b: Builder, x: string, w: string) => string;

function model(body: Body, xDims: readonly number[]): Uint8Array {
  const g = new Graph('check');
  const base = randomProvider(3);
  // Constant-initialised tensors and the FIR filter (a checkpoint buffer: it need not be
  // symmetric, separable or normalised) get random values, as the fixtures do.
  const randomise = (spec: ParamSpec): ParamSpec =>
    spec.init.kind === 'constant' || spec.name.endsWith('.filter') || spec.name === 'filter' ? { ...spec, init: { kind: 'normal', std: 1.5 } } : spec;
  const b = new Builder(g, new ParamRegistry({ provide: (spec) => base.provide(randomise(spec)) }));
  const x = g.addInput('x', 'float32', ['n', ...xDims.slice(1)]);
  const w = g.addInput('w', 'float32', ['n', W_DIM]);
  g.addOutput(body(b, x, w), 'y', 'float32', ['n', 'c', 'h', 'w']);
  return encodeModel(g).model;
}

/** The largest |reference - fast| relative to the reference output's largest magnitude, per runtime. */
async function relativeErrors(xDims: readonly number[], referenceBody: Body, fastBody: Body): Promise<Record<string, number>> {
  const models = [model(referenceBody, xDims), model(fastBody, xDims)];
  const errors: Record<string, number> = {};
  for (const [name, ort] of RUNTIMES) {
    const feeds = {
      x: new ort.Tensor('float32', noise(xDims.reduce((a, c) => a * c, 1), 5), [...xDims]),
      w: new ort.Tensor('float32', noise(xDims[0] * W_DIM, 6), [xDims[0], W_DIM]),
    };
    // One intra-op thread: session start-up dominates these tiny graphs, and the test workers already use every core.
    const options = name === 'onnxruntime-node' ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {};
    const [a, c] = await Promise.all(models.map(async (m) => (await (await ort.InferenceSession.create(m, options)).run(feeds)).y));
    expect(c.dims, name).toEqual(a.dims);
    const da = a.data as Float32Array;
    const dc = c.data as Float32Array;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < da.length; i++) {
      worst = Math.max(worst, Math.abs(da[i] - dc[i]));
      scale = Math.max(scale, Math.abs(da[i]));
    }
    errors[name] = worst / Math.max(scale, 1e-30);
  }
  return errors;
}

async function expectSame(xDims: readonly number[], referenceBody: Body, fastBody: Body): Promise<void> {
  const errors = await relativeErrors(xDims, referenceBody, fastBody);
  for (const [name, err] of Object.entries(errors)) expect(err, `${name}: max rel err ${err.toExponential(2)}`).toBeLessThan(BOUND);
}

const FILTERS = [[1, 3, 3, 1], [1, 2, 1], [1], [1, 1], [1, 4, 6, 4, 1]];

describe('upsampled modulated conv: polyphase/col2im vs zero insertion + im2col', () => {
  const cases = [1, 2, 3, 4, 5].flatMap((k) =>
    FILTERS.flatMap((filter) =>
      [[4, 4], [5, 7], [8, 8], [12, 12]].flatMap(([H, W]) => [1, 2].map((K) => ({ name: `k=${k} f=[${filter}] ${H}x${W} K=${K}`, k, filter, H, W, K }))),
    ),
  );
  it.each(cases)('$name', async ({ k, filter, H, W, K }) => {
    const o = { inChannels: 6, outChannels: 5, wDim: W_DIM, kernelSize: k, numKernels: K, upsample: true, filterKernel: filter, demodulate: true, activation: 'lrelu' as const, eps: 1e-8, height: H, width: W };
    await expectSame([2, 6, H, W], (b, x, w) => reference.modulatedConv(b, x, w, o).y, (b, x, w) => fast.modulatedConv(b, x, w, o).y);
  });
});

describe('modulated conv with and without MTM: gather vs GridSample, modulation on the activations', () => {
  const cases = [1, 3, 5].flatMap((k) =>
    [[4, 4], [5, 7], [8, 8], [16, 16]].flatMap(([H, W]) => [1, 3].flatMap((K) => [true, false].map((mtm) => ({ name: `${mtm ? 'MTM ' : ''}k=${k} ${H}x${W} K=${K}`, k, H, W, K, mtm })))),
  );
  it.each(cases)('$name', async ({ k, H, W, K, mtm }) => {
    const o = { inChannels: 6, outChannels: 5, wDim: W_DIM, kernelSize: k, numKernels: K, mtm, demodulate: true, activation: 'lrelu' as const, eps: 1e-8, height: H, width: W };
    await expectSame([2, 6, H, W], (b, x, w) => reference.modulatedConv(b, x, w, o).y, (b, x, w) => fast.modulatedConv(b, x, w, o).y);
  });
});

describe('FIR: ConvTranspose upsample2d and depthwise firFilter vs Conv over planes', () => {
  const neg = (p: number) => Math.max(-p, 0);
  /** The reference firFilter pads but does not crop: negative pads become a slice first. */
  const cropReference = (b: Builder, x: string, H: number, W: number, pad: readonly number[]): string => {
    const [x0, x1, y0, y1] = pad;
    return b.slice(x, [neg(y0), neg(x0)], [H - neg(y1), W - neg(x1)], [2, 3]);
  };
  const sizes = [[4, 4], [5, 7]];
  const upsampleCases = FILTERS.flatMap((filter) => sizes.map(([H, W]) => ({ name: `f=[${filter}] ${H}x${W}`, filter, H, W })));
  it.each(upsampleCases)('upsample2d $name', async ({ filter, H, W }) => {
    await expectSame(
      [2, 3, H, W],
      (b, x) => reference.upsample2d(b, x, reference.filterBuffer(b, filter), 3, H, W),
      (b, x) => fastFir.upsample2d(b, x, fastFir.filterBuffer(b, filter), 3, H, W),
    );
  });

  const pads: [number, number, number, number][] = [[1, 1, 1, 1], [2, 1, 0, 3], [-1, 2, 1, -1]];
  const filterCases = upsampleCases.flatMap(({ filter, H, W }) =>
    pads.filter((pad) => H + pad[2] + pad[3] - filter.length + 1 > 0 && W + pad[0] + pad[1] - filter.length + 1 > 0).map((pad) => ({ name: `f=[${filter}] ${H}x${W} pad=[${pad}]`, filter, H, W, pad })),
  );
  it.each(filterCases)('firFilter $name', async ({ filter, H, W, pad }) => {
    await expectSame(
      [2, 3, H, W],
      (b, x) =>
        reference.firFilter(
          b,
          cropReference(b, x, H, W, pad),
          reference.filterBuffer(b, filter),
          3,
          H - neg(pad[2]) - neg(pad[3]),
          W - neg(pad[0]) - neg(pad[1]),
          pad.map((p) => Math.max(p, 0)) as [number, number, number, number],
          4,
        ),
      (b, x) => fastFir.firFilter(b, x, fastFir.filterBuffer(b, filter), 3, H, W, pad, 4),
    );
  });
});
