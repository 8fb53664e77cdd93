/**
 * Interpolation frames across runtimes: onnxruntime-node on the CPU, onnxruntime-web (WASM SIMD),
 * and the WebGPU execution provider (grouped-MoE image stage) when an adapter exists (CI has one:
 * AURORA_REQUIRE_WEBGPU=1). Every pair within the project's parity bound.
 */
import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { generatorGraphFor, probeWebGpu, sessionOptionsFor } from '../src/node/execution-providers.ts';
import { AuroraInterpolator, type Interpolation, type InterpolateRequest } from '../src/pipeline/interpolation.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import type { OrtModule } from '../src/runtime/ort-types.ts';
import { parityStats, withinParity } from './support/parity.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const ortWeb = await loadOrtWasm();
const probe = await probeWebGpu();
if (!probe.ok) console.warn(`\n*** WEBGPU INTERPOLATION PARITY SKIPPED: ${probe.reason}\n`);

const REQUESTS: InterpolateRequest[] = [
  { from: 'a red apple', to: 'a green pear', steps: 5, seed: 0 },
  { from: 'an astronaut riding a horse', to: 'a lighthouse at dusk', steps: 9, seed: 7, interpolateGlobal: true },
  { from: 'a cat', to: 'Ünïcödé 🍎 & <html>', steps: 3, seed: 4294967295, psi: 0.3, centerCount: 16 },
];

async function framesOn(ort: OrtModule, options: { preferPaths: boolean; sessionOptions?: object; generatorGraph?: 'default' | 'gpu' }, dir: string): Promise<Interpolation[]> {
  const source = readBundleDir(dir);
  const pipeline = await AuroraPipeline.load(ort, source, options);
  const interpolator = await AuroraInterpolator.load(ort, source, pipeline.text, options);
  const out: Interpolation[] = [];
  for (const r of REQUESTS) out.push(await interpolator.interpolate(r));
  return out;
}

function expectParity(a: Interpolation[], b: Interpolation[]): void {
  a.forEach((run, i) =>
    run.frames.forEach((frame, k) => {
      const s = parityStats(frame.pixels, b[i].frames[k].pixels);
      expect(withinParity(s), `request ${i} frame ${k}: ${(s.fraction * 100).toFixed(3)}% identical, max diff ${s.maxDiff}`).toBe(true);
    }),
  );
}

describe('interpolation frames agree across runtimes', () => {
  let dir: string;
  let cpu: Interpolation[];
  beforeAll(async () => {
    dir = tinyBundleDir();
    cpu = await framesOn(ortNode, { preferPaths: true }, dir);
  });

  it('onnxruntime-web (WASM) vs onnxruntime-node (CPU)', async () => {
    expectParity(cpu, await framesOn(ortWeb, { preferPaths: false }, dir));
  });

  it.skipIf(!probe.ok)('WebGPU (grouped-MoE image stage) vs CPU', async () => {
    const ort = ortNode;
    const webgpu = await framesOn(ort, { preferPaths: true, sessionOptions: sessionOptionsFor('webgpu'), generatorGraph: generatorGraphFor('webgpu') }, dir);
    expectParity(cpu, webgpu);
  });
});
