/**
 * The Node gateway and real GPU runner processes over the Open Inference Protocol v2: images made
 * through a runner are byte for byte what AuroraPipeline makes in process on the same CPU provider
 * for the same (prompt, seed, psi) batch; a runner serving other content under the same model
 * name is left out (logged), not an error; with no eligible runner, small batches fall back to
 * WASM and large ones get a 503 that names no runner address.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuroraPipeline } from '@aurora-edge/model';
import { defaultBundlePath, loadOrtNode, readBundleDir } from '@aurora-edge/model/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from '../apps/gpu-runner/test/support/runner-process.ts';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { expectErrorBody, postJson, removeTempDirs, startLoggingGateway, tempDir, tinyOnly } from './support/reliability.ts';

interface Generated {
  data: { seed: number; route: string; b64_json: string }[];
}
const IMAGES = 'aurora_runner_images_generated_total{bundle="aurora-tiny"}';

describe('gateway -> GPU runners over the Open Inference Protocol v2', () => {
  let same: RunnerProcess;
  let other: RunnerProcess;
  let gateway: NodeGateway;
  const logs: string[] = [];

  beforeAll(async () => {
    tinyOnly();
    // Another bundle content under the same id: a manifest that differs only in its description.
    const otherDir = tinyBundleDir();
    const manifestPath = path.join(otherDir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, description: `${manifest.description} (retrained elsewhere)` }));
    const env = { RUNNER_EXECUTION_PROVIDER: 'cpu', RUNNER_MAX_QUEUE_DELAY_MS: '5' };
    [same, other] = await Promise.all([startRunner({ ...env, RUNNER_BUNDLES: tinyBundleDir() }), startRunner({ ...env, RUNNER_BUNDLES: otherDir })]);
    gateway = await startLoggingGateway(
      {
        DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'),
        // The other one first: picked first if the gateway did not check what it serves.
        RUNNERS: `${other.url},${same.url}`,
        RUNNER_SHARED_SECRET: TEST_SECRET,
        WASM_MAX_BATCH: '2',
        WASM_FALLBACK_MAX_BATCH: '4',
      },
      logs,
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([same?.stop(), other?.stop()]);
    removeTinyBundleDirs();
    removeTempDirs();
  });

  it('makes through a runner the PNG bytes AuroraPipeline makes in process, and only on the runner with our content', async () => {
    const request = { prompt: 'a lighthouse in a storm', n: 6, seed: 321, truncation_psi: 0.6, response_format: 'b64_json' };
    const res = await postJson(gateway.url, request, 120_000);
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    const data = (res.json as Generated).data;
    expect(data.map((d) => [d.seed, d.route])).toEqual(Array.from({ length: 6 }, (_, i) => [321 + i, 'runner']));

    // The same batch in this process: onnxruntime-node on the CPU, the gateway's own bundle.
    const pipeline = await AuroraPipeline.load(await loadOrtNode(), readBundleDir(defaultBundlePath()), { preferPaths: true });
    const reference = await pipeline.generate(data.map((d) => ({ prompt: request.prompt, seed: d.seed, psi: request.truncation_psi })));
    data.forEach((d, i) => expect(Buffer.from(d.b64_json, 'base64').equals(Buffer.from(reference[i].png)), `seed ${d.seed}`).toBe(true));

    expect(metric(await (await same.get('/metrics')).text(), IMAGES)).toBe(6);
    expect(metric(await (await other.get('/metrics')).text(), IMAGES)).toBe(0);
    const notUsed = logs.filter((l) => l.includes(`GPU runner ${other.url} is not used for aurora-tiny`));
    expect(notUsed).toHaveLength(1);
    expect(notUsed[0]).toMatch(/it serves content [0-9a-f]{12}, this gateway's bundle is [0-9a-f]{12}/);
  });

  it('with no runner serving our content: small batches run in WASM, large ones get a 503 naming no address', async () => {
    await same.stop();
    const big = await postJson(gateway.url, { prompt: 'a red kite', n: 8, seed: 5 }, 120_000);
    expect(big.status).toBe(503);
    expect(expectErrorBody(big, 'n=8 without a runner').code).toBe('no_runner');
    expect(big.text).not.toMatch(/127\.0\.0\.1|localhost|:\d{4,5}/);
    const small = await postJson(gateway.url, { prompt: 'a red kite', n: 3, seed: 5, response_format: 'b64_json' }, 120_000);
    expect(small.status, small.text.slice(0, 300)).toBe(200);
    expect((small.json as Generated).data.map((d) => d.route)).toEqual(['wasm', 'wasm', 'wasm']);
    expect(metric(await (await other.get('/metrics')).text(), IMAGES)).toBe(0);
  });
});
