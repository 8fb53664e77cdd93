/**
 * The MoE formulations compute one function (FeedForwardOptions.moe): a bundle's GPU graph (the
 * grouped MoE) must give the sparse graph's images, on any runtime (a browser may run it on WebGPU
 * or WASM). Conformance of each with the reference: `aurora conform --moe` and webgpu.e2e.test.ts.
 */
import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { describe, expect, it } from 'vitest';
import { Builder } from '../src/onnx/builder.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { Graph } from '../src/onnx/graph.ts';
import { ParamRegistry } from '../src/onnx/params.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { feedForward, groupBlockSize, MOE_MODES } from '../src/layers/feed-forward.ts';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { parityStats, withinParity } from './support/parity.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const ortWeb = await loadOrtWasm();
const node = ortNode;

describe('MoE formulations', () => {
  it.each([
    [8, 4, false],
    [16, 8, true],
    [32, 16, false],
  ])('one layer (side %i, %i experts, glu %s): sparse, dense and grouped agree to float noise', async (side, experts, glu) => {
    const T = side * side;
    const C = 32;
    const wDim = 16;
    const n = 3;
    const x = Float32Array.from({ length: n * T * C }, (_, i) => Math.sin(i * 0.37) * 2);
    const w = Float32Array.from({ length: n * wDim }, (_, i) => Math.cos(i * 1.3));
    const outs: Float32Array[] = [];
    for (const moe of MOE_MODES) {
      const g = new Graph('moe');
      const b = new Builder(g, new ParamRegistry(randomProvider(5)));
      const xi = g.addInput('x', 'float32', ['batch', T, C]);
      const wi = g.addInput('w', 'float32', ['batch', wDim]);
      const y = feedForward(b.child('ff'), xi, wi, { channels: C, mlpRatio: 4, glu, numExperts: experts, wDim, useWscale: true, wscaleGain: 1, lrMul: 1, height: side, width: side, moe });
      g.addOutput(y, 'y', 'float32', ['batch', T, C]);
      const session = await node.InferenceSession.create(encodeModel(g).model);
      const out = await session.run({ x: new node.Tensor('float32', x, [n, T, C]), w: new node.Tensor('float32', w, [n, wDim]) });
      outs.push(out.y.data as Float32Array);
    }
    for (const [i, moe] of MOE_MODES.entries()) {
      let diff = 0;
      for (let j = 0; j < outs[0].length; j++) diff = Math.max(diff, Math.abs(outs[i][j] - outs[0][j]));
      expect(diff, moe).toBeLessThan(1e-5);
    }
    expect(groupBlockSize(T, experts)).toBeGreaterThanOrEqual(8);
  });

  it("a bundle's GPU graph in onnxruntime-web (WASM) gives its sparse graph's images in onnxruntime-node, within the parity bound", async () => {
    const source = readBundleDir(tinyBundleDir());
    expect(source.manifest.generator.gpuGraph).toBe('generator-gpu.onnx');
    const sparse = await AuroraPipeline.load(node, source, { preferPaths: true });
    const grouped = await AuroraPipeline.load(ortWeb, source, { generatorGraph: 'gpu' });
    const requests = ['a red apple on a table', 'a cat in the rain', 'a castle under the stars'].flatMap((prompt) => [0, 7].map((seed) => ({ prompt, seed })));
    const [a, b] = [await sparse.generate(requests), await grouped.generate(requests)];
    for (let i = 0; i < requests.length; i++) {
      const s = parityStats(a[i].pixels, b[i].pixels);
      expect(withinParity(s), `${requests[i].prompt} seed ${requests[i].seed}: ${JSON.stringify(s)}`).toBe(true);
    }
  });
});
