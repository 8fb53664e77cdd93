/**
 * onnxruntime-node's WebGPU execution provider (Dawn over Vulkan) on the real graphs: conformance
 * with the PyTorch reference, the parity bound against the CPU provider, and no node left on the
 * CPU. It needs a WebGPU adapter: .ci/run installs libvulkan1 and Mesa >= 25 lavapipe (a CPU Vulkan
 * driver: correct, not fast) and sets AURORA_REQUIRE_WEBGPU=1, which turns a missing adapter into a
 * failure; elsewhere these tests are skipped with the probe's reason.
 */
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { describe, expect, it } from 'vitest';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { generatorGraphFor, probeWebGpu, sessionOptionsFor } from '../src/node/execution-providers.ts';
import { reportPlacements } from '../src/node/placements.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { runAurora } from './support/cli.ts';
import { PARITY_REQUESTS, parityStats, withinParity } from './support/parity.ts';
import { HAS_REFERENCE, REFERENCE_DIR, REPO_ROOT } from './support/reference.ts';
import { tinyBundleDir } from './support/tiny-bundle.ts';

const ort = ortNode;
const ortWeb = await loadOrtWasm();

const probe = await probeWebGpu();
const REQUIRED = process.env.AURORA_REQUIRE_WEBGPU === '1';
if (!probe.ok) {
  console.warn(`\n*** WEBGPU TESTS SKIPPED: no WebGPU adapter here: ${probe.reason}\n*** (CI installs one: .ci/run, libvulkan1 + Mesa >= 25 lavapipe)\n`);
}

const aurora = (args: readonly string[], env: Record<string, string> = {}) => runAurora(args, { env, maxBuffer: 1 << 26 });

describe('a WebGPU adapter', () => {
  it.runIf(REQUIRED)('exists where AURORA_REQUIRE_WEBGPU=1 (CI)', () => {
    expect(probe.ok, probe.ok ? '' : probe.reason).toBe(true);
  });

  it('an explicit --runtime webgpu without one is exit 1, naming the provider and what is missing', async () => {
    // A Vulkan driver manifest that does not exist: the loader finds no device (or there is no loader).
    const r = await aurora(['generate', 'a red apple', '--runtime', 'webgpu', '--out', path.join(REPO_ROOT, '.cache', 'webgpu-none')], {
      VK_ICD_FILENAMES: '/nonexistent/icd.json',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aurora: execution provider webgpu: no WebGPU adapter: (no Vulkan driver|the Vulkan loader)/m);
  });
});

describe.skipIf(!probe.ok)('the WebGPU execution provider', () => {
  it('is CPU-emulated here or a real GPU, and says which', () => {
    if (!probe.ok) return;
    expect(probe.adapter.description.length).toBeGreaterThan(0);
    console.log(`webgpu adapter: ${probe.adapter.description}${probe.adapter.cpuEmulated ? ' (CPU-emulated)' : ''}`);
  });

  it('runs every node of the bundle graphs it loads: nothing falls back to the CPU, no host copies', async () => {
    const dir = tinyBundleDir();
    const m = readBundleDir(dir).manifest;
    expect(m.generator.gpuGraph).toBe('generator-gpu.onnx');
    // serving-gpu.onnx: what AuroraPipeline runs on webgpu (text encoder, generator and the uint8 postprocess in one graph).
    for (const graph of [m.serving?.gpuGraph as string, m.generator.gpuGraph as string, m.textEncoder.graph, m.generator.stages?.text as string, m.generator.stages?.imageGpu as string]) {
      const placed = await reportPlacements(path.join(dir, graph), 'webgpu');
      expect(placed.byProvider.WebGpuExecutionProvider, graph).toBeGreaterThan(0);
      expect(placed.fallback, graph).toEqual([]);
      expect(placed.memcpy, graph).toBe(0);
    }
    // The sparse graph is what the GPU graph exists for: its NonZero dispatch leaves the device.
    const sparse = await reportPlacements(path.join(dir, m.generator.graph), 'webgpu');
    expect(sparse.fallback.filter((f) => f.startsWith('NonZero ')).length).toBeGreaterThan(0);
  });

  it.skipIf(!HAS_REFERENCE).each(['tiny-full', 'tiny-plain'])('aurora conform %s passes on webgpu', async (fixture) => {
    const r = await aurora(['conform', path.join(REFERENCE_DIR, fixture), '--runtime', 'webgpu']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^runtime webgpu \(/m);
    expect(r.stdout).toMatch(/^moe grouped$/m);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  }, 600_000);

  it('20 prompts x 3 seeds: webgpu images are the cpu provider and the wasm images within the parity bound', async () => {
    const source = readBundleDir(tinyBundleDir());
    // Each provider loads the graph it would serve: cpu the sparse MoE, webgpu the grouped one.
    const cpu = await AuroraPipeline.load(ort, source, { preferPaths: true, sessionOptions: sessionOptionsFor('cpu'), generatorGraph: generatorGraphFor('cpu') });
    const gpu = await AuroraPipeline.load(ort, source, { preferPaths: true, sessionOptions: sessionOptionsFor('webgpu'), generatorGraph: generatorGraphFor('webgpu') });
    // WASM (onnxruntime-web, as Workers and browsers run it) loads the sparse graph, as it serves.
    const wasm = await AuroraPipeline.load(ortWeb, source);
    // The requests of parity.test.ts (node vs wasm): the same bound holds between cpu and webgpu.
    const requests = PARITY_REQUESTS;
    const pairs = { cpu: { identical: 0, total: 0, worst: 0 }, wasm: { identical: 0, total: 0, worst: 0 } };
    for (let i = 0; i < requests.length; i += 12) {
      const chunk = requests.slice(i, i + 12);
      const b = await gpu.generate(chunk);
      for (const [name, other] of [['cpu', cpu], ['wasm', wasm]] as const) {
        const a = await other.generate(chunk);
        const sum = pairs[name];
        for (let j = 0; j < chunk.length; j++) {
          const s = parityStats(a[j].pixels, b[j].pixels);
          expect(withinParity(s), `${name} vs webgpu, ${chunk[j].prompt} seed ${chunk[j].seed}: ${JSON.stringify(s)}`).toBe(true);
          sum.identical += s.identical;
          sum.total += s.total;
          sum.worst = Math.max(sum.worst, s.maxDiff);
        }
      }
    }
    for (const [name, sum] of Object.entries(pairs)) {
      console.log(`parity ${name} vs webgpu: ${requests.length} images, ${((100 * sum.identical) / sum.total).toFixed(4)}% of ${sum.total} uint8 samples identical, max diff ${sum.worst}`);
      expect(sum.identical / sum.total).toBeGreaterThanOrEqual(0.999);
    }
    // lavapipe is a CPU running shaders: ~1 s per image, and the first run compiles them (~20 s).
  }, 900_000);
});
