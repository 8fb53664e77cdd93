/**
 * The GPU runner on the WebGPU execution provider, end to end behind the real Node gateway: a
 * runner process with RUNNER_EXECUTION_PROVIDER=webgpu, a gateway that routes batches over
 * WASM_MAX_BATCH to it, and the images it serves held to the parity bound against the CPU provider.
 * Needs a WebGPU adapter (.ci/run installs Mesa >= 25 lavapipe and sets AURORA_REQUIRE_WEBGPU=1);
 * skipped with the probe's reason elsewhere.
 */
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from '../apps/gpu-runner/test/support/runner-process.ts';
import { decodePng } from '../packages/model/src/image/png.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { probeWebGpu, sessionOptionsFor } from '../packages/model/src/node/execution-providers.ts';
import { AuroraPipeline } from '../packages/model/src/pipeline/pipeline.ts';
import { parityStats, withinParity } from '../packages/model/test/support/parity.ts';
import { postJson, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

const probe = await probeWebGpu();
if (!probe.ok) console.warn(`\n*** WEBGPU RUNNER TEST SKIPPED: no WebGPU adapter here: ${probe.reason}\n`);

describe.skipIf(!probe.ok)('the GPU runner on webgpu behind the gateway', () => {
  let runner: RunnerProcess;
  let gateway: NodeGateway;
  let bundleDir: string;

  beforeAll(async () => {
    bundleDir = tinyBundleDir();
    // maxBatch 4: the warm-up runs a full batch, and an emulated adapter takes ~1 s per image.
    runner = await startRunner({ RUNNER_BUNDLES: bundleDir, RUNNER_EXECUTION_PROVIDER: 'webgpu', RUNNER_MAX_BATCH: '4' }, 240_000);
    gateway = await startGateway({
      DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'),
      RUNNERS: runner.url,
      RUNNER_SHARED_SECRET: TEST_SECRET,
      WASM_MAX_BATCH: '1',
      RUNNER_TIMEOUT_MS: '240000',
    });
  }, 300_000);

  afterAll(async () => {
    await gateway?.close();
    await runner?.stop();
    removeTinyBundleDirs();
    removeTempDirs();
  });

  it('reports webgpu and its adapter in /metrics', async () => {
    const metrics = await (await runner.get('/metrics')).text();
    expect(metrics).toContain(`aurora_runner_execution_provider{provider="webgpu",adapter="${probe.ok ? probe.adapter.description : ''}"} 1`);
    expect(runner.logs.find((l) => l.msg === 'execution provider')).toMatchObject({ requested: 'webgpu', executionProvider: 'webgpu' });
  });

  it('serves a 3-image request through the runner, each image within the parity bound of the CPU provider', async () => {
    const a = await postJson(gateway.url, { prompt: 'a lighthouse on a cliff', n: 3, seed: 41, truncation_psi: 0.6, response_format: 'b64_json' }, 240_000);
    expect(a.status, a.text.slice(0, 300)).toBe(200);
    expect(a.headers.get('x-aurora-route')).toBe('runner');
    const body = a.json as { data: { b64_json: string; seed: number; route: string }[] };
    expect(body.data.map((d) => [d.seed, d.route])).toEqual([
      [41, 'runner'],
      [42, 'runner'],
      [43, 'runner'],
    ]);
    const cpu = await AuroraPipeline.load(ortNode, readBundleDir(bundleDir), { preferPaths: true, sessionOptions: sessionOptionsFor('cpu') });
    const expected = await cpu.generate(body.data.map((d) => ({ prompt: 'a lighthouse on a cliff', seed: d.seed, psi: 0.6 })));
    for (const [i, d] of body.data.entries()) {
      const png = decodePng(new Uint8Array(Buffer.from(d.b64_json, 'base64')));
      const s = parityStats(png.pixels, expected[i].pixels);
      expect(withinParity(s), `seed ${d.seed}: ${JSON.stringify(s)}`).toBe(true);
    }
  }, 600_000);
});
