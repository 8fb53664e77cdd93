/**
 * Checks the optimised layers (polyphase/col2im upsampling conv, depthwise FIR, ConvTranspose
 * upsample2d, gather-based MTM, modulation on the activations with static Conv/ConvTranspose for
 * single-kernel layers) against the straightforward formulations in reference-layers.ts, in
 * onnxruntime-node and onnxruntime-web, over kernel sizes, filters (random, asymmetric), odd map
 * sizes and kernel counts the fixtures do not cover. Every constant-initialised tensor
 * (biases, MTM scales) gets random values so offsets are fractional and reach the borders.
 *   tsx bench/check-layers.ts
 */
import ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import * as newConv from '../packages/model/src/layers/modulated-conv.ts';
import * as newFir from '../packages/model/src/layers/upfirdn.ts';
import { Builder } from '../packages/model/src/onnx/builder.ts';
import { encodeModel } from '../packages/model/src/onnx/encode.ts';
import { Graph } from '../packages/model/src/onnx/graph.ts';
import { ParamRegistry, type ParamSpec } from '../packages/model/src/onnx/params.ts';
import { randomProvider } from '../packages/model/src/onnx/providers.ts';
import type { OrtModule } from '../packages/model/src/runtime/ort-types.ts';
import { noise } from './common.ts';
import * as reference from './reference-layers.ts';

const oldConv = reference;
const oldFir = reference;
ortWeb.env.wasm.numThreads = 1;

type Body = (b: Builder, x: string, w: string) => string;
async function compare(label: string, xDims: number[], wDim: number, bodies: [Body, Body]): Promise<number> {
  const models = bodies.map((body) => {
    const g = new Graph('check');
    // Every constant-initialised tensor (biases, MTM scales) gets random values, as the fixtures do.
    const base = randomProvider(3);
    // The FIR filter too (a checkpoint buffer: it need not be symmetric, separable or normalised).
    const randomise = (spec: ParamSpec): ParamSpec => (spec.init.kind === 'constant' || spec.name.endsWith('.filter') || spec.name === 'filter' ? { ...spec, init: { kind: 'normal', std: 1.5 } } : spec);
    const b = new Builder(g, new ParamRegistry({ provide: (spec) => base.provide(randomise(spec)) }));
    const x = g.addInput('x', 'float32', ['n', ...xDims.slice(1)]);
    const w = g.addInput('w', 'float32', ['n', wDim]);
    g.addOutput(body(b, x, w), 'y', 'float32', ['n', 'c', 'h', 'w']);
    return encodeModel(g).model;
  });
  let worst = 0;
  try {
  for (const ort of [ortNode, ortWeb] as unknown as OrtModule[]) {
    const feeds = {
      x: new ort.Tensor('float32', noise(xDims.reduce((a, c) => a * c, 1), 5), xDims),
      w: new ort.Tensor('float32', noise(xDims[0] * wDim, 6), [xDims[0], wDim]),
    };
    const [a, c] = await Promise.all(models.map(async (m) => (await (await ort.InferenceSession.create(m)).run(feeds)).y));
    if (a.dims.join() !== c.dims.join()) throw new Error(`${label}: dims ${a.dims} vs ${c.dims}`);
    const da = a.data as Float32Array;
    const dc = c.data as Float32Array;
    let m = 0;
    let scale = 0;
    for (let i = 0; i < da.length; i++) {
      m = Math.max(m, Math.abs(da[i] - dc[i]));
      scale = Math.max(scale, Math.abs(da[i]));
    }
    worst = Math.max(worst, m / Math.max(scale, 1e-30));
  }
  } catch (e) {
    console.log(`ERR  ${label}: ${String(e).split('\n')[0].slice(0, 200)}`);
    return Number.NaN;
  }
  console.log(`${worst < 1e-5 ? 'ok  ' : 'FAIL'} ${label}: max rel err ${worst.toExponential(2)}`);
  overall = Math.max(overall, worst);
  return worst;
}

let failures = 0;
let overall = 0;
const W_DIM = 8;
for (const k of [1, 2, 3, 4, 5]) {
  for (const kernel of [[1, 3, 3, 1], [1, 2, 1], [1], [1, 1], [1, 4, 6, 4, 1]]) {
    for (const [H, Wd] of [[4, 4], [5, 7], [8, 8], [12, 12]]) {
      for (const K of [1, 2]) {
        const o = { inChannels: 6, outChannels: 5, wDim: W_DIM, kernelSize: k, numKernels: K, upsample: true, filterKernel: kernel, demodulate: true, activation: 'lrelu' as const, eps: 1e-8, height: H, width: Wd };
        const err = await compare(`upsampled modulated conv k=${k} f=[${kernel}] ${H}x${Wd} K=${K}`, [2, 6, H, Wd], W_DIM, [
          (b, x, w) => oldConv.modulatedConv(b, x, w, o).y,
          (b, x, w) => newConv.modulatedConv(b, x, w, o).y,
        ]);
        if (!(err < 1e-5)) failures++;
      }
    }
  }
}
for (const k of [1, 3, 5]) {
  for (const [H, Wd] of [[4, 4], [5, 7], [8, 8], [16, 16]]) {
    for (const K of [1, 3]) {
      const o = { inChannels: 6, outChannels: 5, wDim: W_DIM, kernelSize: k, numKernels: K, mtm: true, demodulate: true, activation: 'lrelu' as const, eps: 1e-8, height: H, width: Wd };
      const err = await compare(`MTM modulated conv k=${k} ${H}x${Wd} K=${K}`, [2, 6, H, Wd], W_DIM, [
        (b, x, w) => oldConv.modulatedConv(b, x, w, o).y,
        (b, x, w) => newConv.modulatedConv(b, x, w, o).y,
      ]);
      if (!(err < 1e-5)) failures++;
      const plain = { ...o, mtm: false };
      const err2 = await compare(`modulated conv k=${k} ${H}x${Wd} K=${K}`, [2, 6, H, Wd], W_DIM, [
        (b, x, w) => oldConv.modulatedConv(b, x, w, plain).y,
        (b, x, w) => newConv.modulatedConv(b, x, w, plain).y,
      ]);
      if (!(err2 < 1e-5)) failures++;
    }
  }
}
for (const kernel of [[1, 3, 3, 1], [1, 2, 1], [1], [1, 1], [1, 4, 6, 4, 1]]) {
  for (const [H, Wd] of [[4, 4], [5, 7]]) {
    const err1 = await compare(`upsample2d f=[${kernel}] ${H}x${Wd}`, [2, 3, H, Wd], W_DIM, [
      (b, x) => oldFir.upsample2d(b, x, oldFir.filterBuffer(b, kernel), 3, H, Wd),
      (b, x) => newFir.upsample2d(b, x, newFir.filterBuffer(b, kernel), 3, H, Wd),
    ]);
    const pads: [number, number, number, number][] = [[1, 1, 1, 1], [2, 1, 0, 3], [-1, 2, 1, -1]];
    for (const pad of pads) {
      if (H + pad[2] + pad[3] - kernel.length + 1 <= 0 || Wd + pad[0] + pad[1] - kernel.length + 1 <= 0) continue;
      const err2 = await compare(`firFilter f=[${kernel}] ${H}x${Wd} pad=[${pad}]`, [2, 3, H, Wd], W_DIM, [
        (b, x) => oldFir.firFilter(b, cropOld(b, x, H, Wd, pad), oldFir.filterBuffer(b, kernel), 3, H - neg(pad[2]) - neg(pad[3]), Wd - neg(pad[0]) - neg(pad[1]), pad.map((p) => Math.max(p, 0)) as [number, number, number, number], 4),
        (b, x) => newFir.firFilter(b, x, newFir.filterBuffer(b, kernel), 3, H, Wd, pad, 4),
      ]);
      if (!(err2 < 1e-5)) failures++;
    }
    if (!(err1 < 1e-5)) failures++;
  }
}
function neg(p: number): number {
  return Math.max(-p, 0);
}
function cropOld(b: Builder, x: string, H: number, Wd: number, pad: readonly number[]): string {
  const [x0, x1, y0, y1] = pad;
  return b.slice(x, [neg(y0), neg(x0)], [H - neg(y1), Wd - neg(x1)], [2, 3]);
}
console.log(failures ? `${failures} FAILED` : `all ok (largest error relative to the output's max abs: ${overall.toExponential(2)})`);
process.exitCode = failures ? 1 : 0;
