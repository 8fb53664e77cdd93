/**
 * The HTTP app in-process with a fake model (no onnxruntime): the lifecycle answers that the real
 * process only shows for an instant (loading, draining) and a failing batch.
 */
import { errorBodySchema, type RunnerItem, runnerInfoSchema } from '@aurora-edge/protocol';
import { describe, expect, it } from 'vitest';
import { createRunner } from '../src/runner.ts';

const item: RunnerItem = { prompt: 'a red apple', seed: 1, psi: 0.7, bundle: 'aurora-tiny' };

function fakeRunner(runBatch: () => Promise<never> | Promise<{ psi: number; width: number; height: number; png: Uint8Array }[]>) {
  const runner = createRunner({ runBatch, maxBatch: 4, maxQueueDelayMs: 0, queueLimit: 8, secret: null, processMetrics: false, logError: () => {} });
  const model = { id: 'aurora-tiny', version: '0.1.0', contentHash: 'abc', trained: false, validate: () => new Int32Array(77) };
  const ready = () => {
    runner.state.models.set(model.id, model);
    runner.state.executionProvider = 'cpu';
    runner.state.ready = true;
  };
  const generate = (items: RunnerItem[] = [item]) => runner.app.request('/v1/generate', { method: 'POST', body: JSON.stringify({ items }) });
  return { runner, ready, generate };
}

const errorOf = async (res: Response) => errorBodySchema.parse(await res.json()).error;

describe('createRunnerApp', () => {
  it('is alive but not ready while bundles load', async () => {
    const { runner, ready, generate } = fakeRunner(async () => [{ psi: 0.7, width: 1, height: 1, png: new Uint8Array([1, 2, 3]) }]);
    expect((await runner.app.request('/healthz')).status).toBe(200);
    const readyz = await runner.app.request('/readyz');
    expect(readyz.status).toBe(503);
    expect(runnerInfoSchema.parse(await readyz.json()).ready).toBe(false);
    const res = await generate();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await errorOf(res)).code).toBe('not_ready');

    ready();
    expect((await runner.app.request('/readyz')).status).toBe(200);
    const ok = await generate();
    expect(ok.status).toBe(200);
    expect((await ok.json()).images[0]).toMatchObject({ prompt: 'a red apple', seed: 1, contentHash: 'abc', pngBase64: 'AQID' });
  });

  it('refuses new work while draining', async () => {
    const { runner, ready, generate } = fakeRunner(async () => []);
    ready();
    runner.state.draining = true;
    expect((await runner.app.request('/readyz')).status).toBe(503);
    const res = await generate();
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe('shutting_down');
  });

  it('answers 500 generation_failed when a batch fails, and counts it', async () => {
    const { runner, ready, generate } = fakeRunner(() => Promise.reject(new Error('CUDA out of memory')));
    ready();
    const res = await generate();
    expect(res.status).toBe(500);
    expect(await errorOf(res)).toEqual({ code: 'generation_failed', message: 'generation failed: CUDA out of memory' });
    const metrics = await (await runner.app.request('/metrics')).text();
    expect(metrics).toContain('aurora_runner_errors_total{code="batch_failed"} 1');
    expect(metrics).toContain('aurora_runner_errors_total{code="generation_failed"} 1');
  });

  it('checks that a batch returns one image per item', async () => {
    const { ready, generate } = fakeRunner(async () => []);
    ready();
    const res = await generate([item, { ...item, seed: 2 }]);
    expect(res.status).toBe(500);
    expect((await errorOf(res)).message).toContain('runBatch returned 0 results for 2 items');
  });
});
