/**
 * The HTTP app in-process with a stand-in batch function (no onnxruntime): the lifecycle answers that
 * the real process only shows for an instant (loading, draining), a failing batch, and the
 * signing switch (protocol.e2e.test.ts runs the real process).
 */
import { buildTinyBundle } from '@aurora-edge/model/build';
import { encodeInferRequest, oipErrorSchema, signRequest, type Tensor } from '@aurora-edge/protocol';
import { describe, expect, it } from 'vitest';
import { createRunner } from '../src/runner.ts';
import { type ServingBatch, type ServingOutput, servingShape } from '../src/serving.ts';

const manifest = buildTinyBundle().manifest;
const shape = servingShape(manifest);
const SECRET = 'app-test-secret-0123456789';

/** A batch function that paints every image (and partial image) with its row's first token id. */
async function paint(_bundle: string, batch: ServingBatch): Promise<ServingOutput> {
  const painted = (side: number) => {
    const size = side * side * shape.channels;
    const images = new Uint8Array(batch.batch * size);
    for (let i = 0; i < batch.batch; i++) images.fill(batch.inputIds[i * shape.contextLength] & 0xff, i * size, (i + 1) * size);
    return { images, dims: [batch.batch, side, side, shape.channels] as const };
  };
  return { ...painted(shape.height), ...(batch.partials ? { partials: shape.partials.map((res) => ({ res, ...painted(res) })) } : {}) };
}

function tensors(firstIds: number[]): Tensor[] {
  const n = firstIds.length;
  const ids = new Int32Array(n * shape.contextLength);
  firstIds.forEach((v, i) => (ids[i * shape.contextLength] = v));
  return [
    { name: 'input_ids', datatype: 'INT32', shape: [n, shape.contextLength], data: ids },
    { name: 'z', datatype: 'FP32', shape: [n, shape.zDim], data: new Float32Array(n * shape.zDim) },
    { name: 'psi', datatype: 'FP32', shape: [n, 1], data: new Float32Array(n).fill(0.5) },
  ];
}

function appWith(runBatch: typeof paint, secret: string | null = null) {
  const runner = createRunner({ runBatch, maxBatch: 4, maxQueueDelayMs: 0, queueLimit: 8, secret, processMetrics: false, logError: () => {} });
  const ready = () => {
    runner.state.models.set('aurora-tiny', { id: 'aurora-tiny', version: '0.1.0', contentHash: 'abc', trained: false, manifest, shape });
    runner.state.executionProvider = 'cpu';
    runner.state.ready = true;
  };
  const infer = async (firstIds = [7], headers: Record<string, string> = {}) => {
    const { body, headers: h } = encodeInferRequest(tensors(firstIds), { binaryOutputs: true, outputs: ['images'] });
    return runner.app.request('/v2/models/aurora-tiny/infer', { method: 'POST', body, headers: { ...h, ...headers } });
  };
  return { runner, ready, infer };
}

const errorOf = async (res: Response) => oipErrorSchema.parse(await res.json()).error;

describe('createRunnerApp', () => {
  it('is live but not ready while bundles load, then serves rows in order', async () => {
    const { runner, ready, infer } = appWith(paint);
    expect((await runner.app.request('/v2/health/live')).status).toBe(200);
    const notReady = await runner.app.request('/v2/health/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false });
    // No model yet: unknown, as on a server still loading it.
    expect((await infer()).status).toBe(404);

    ready();
    runner.state.ready = false;
    const loading = await infer();
    expect(loading.status).toBe(503);
    expect(loading.headers.get('retry-after')).toBe('5');
    expect(await errorOf(loading)).toBe('bundles are still loading');

    runner.state.ready = true;
    expect((await runner.app.request('/v2/health/ready')).status).toBe(200);
    const ok = await infer([3, 9]);
    expect(ok.status).toBe(200);
    const bytes = new Uint8Array(await ok.arrayBuffer());
    const size = shape.height * shape.width * shape.channels;
    const data = bytes.subarray(Number(ok.headers.get('inference-header-content-length')));
    expect(data.length).toBe(2 * size);
    expect([data[0], data[size - 1], data[size], data[2 * size - 1]]).toEqual([3, 3, 9, 9]);
  });

  it('answers every output of the model when no outputs are named: the images and each partial image', async () => {
    const { runner, ready } = appWith(paint);
    ready();
    expect(shape.partials.length).toBeGreaterThan(0);
    const { body, headers } = encodeInferRequest(tensors([4, 6]), { binaryOutputs: false });
    const res = await runner.app.request('/v2/models/aurora-tiny/infer', { method: 'POST', body, headers });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(out.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['images', [2, 64, 64, 3]],
      ...shape.partials.map((r) => [`partial_images_${r}`, [2, r, r, 3]]),
    ]);
    for (const o of out.outputs) expect([o.data[0], o.data.at(-1)]).toEqual([4, 6]);
  });

  it('refuses new work while draining', async () => {
    const { runner, ready, infer } = appWith(paint);
    ready();
    runner.state.draining = true;
    expect((await runner.app.request('/v2/health/ready')).status).toBe(503);
    expect((await runner.app.request('/v2/models/aurora-tiny/ready')).status).toBe(503);
    const res = await infer();
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toBe('the runner is shutting down');
  });

  it('answers 500 when a batch fails, and counts it', async () => {
    const { runner, ready, infer } = appWith(() => Promise.reject(new Error('CUDA out of memory')));
    ready();
    const res = await infer();
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'generation failed: CUDA out of memory' });
    const metrics = await (await runner.app.request('/metrics')).text();
    expect(metrics).toContain('aurora_runner_errors_total{code="batch_failed"} 1');
    expect(metrics).toContain('aurora_runner_errors_total{code="generation_failed"} 1');
    expect(metrics).toContain('aurora_runner_request_duration_seconds_count{status="500"} 1');
  });

  it('checks that a batch returns one image per row', async () => {
    const { ready, infer } = appWith(async (_b, batch) => ({ images: new Uint8Array(0), dims: [batch.batch - 1, 64, 64, 3] }));
    ready();
    const res = await infer([1, 2]);
    expect(res.status).toBe(500);
    expect(await errorOf(res)).toContain('the model returned 1 images for 2 rows');
  });

  it('requires signatures on model routes only when it has a secret', async () => {
    const { runner, ready, infer } = appWith(paint, SECRET);
    ready();
    expect((await infer()).status).toBe(401);
    expect((await runner.app.request('/v2/models/aurora-tiny')).status).toBe(401);
    expect((await runner.app.request('/v2/health/ready')).status).toBe(200);
    const { body, headers } = encodeInferRequest(tensors([5]), { binaryOutputs: true, outputs: ['images'] });
    const signed = await signRequest(SECRET, 'POST', '/v2/models/aurora-tiny/infer', body);
    expect((await runner.app.request('/v2/models/aurora-tiny/infer', { method: 'POST', body, headers: { ...headers, ...signed } })).status).toBe(200);

    const open = appWith(paint);
    open.ready();
    expect((await open.infer()).status).toBe(200);
    expect((await open.runner.app.request('/v2/models/aurora-tiny')).status).toBe(200);
  });
});
