/**
 * The real runner process on loopback with real onnxruntime-node and aurora-tiny: batching, image
 * identity and the API's errors (lifecycle.e2e.test.ts: start-up failures and SIGTERM).
 */
import { errorBodySchema, RUNNER_MAX_ITEMS, type RunnerItem, runnerInfoSchema, signRequest } from '@aurora-edge/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse, expectImagesMatch, parityStats, referencePipeline, withinParity } from './support/images.ts';
import { metric, type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from './support/runner-process.ts';

const PROMPTS = ['a red apple on a table', 'a cat in the rain', 'sunset over the ocean', 'a castle under the stars'];
const RUNS = 'aurora_runner_session_runs_total{bundle="aurora-tiny"}';
const item = (i: number, prompt = PROMPTS[i % PROMPTS.length]): RunnerItem => ({ prompt, seed: 1000 + i, psi: 0.7, bundle: 'aurora-tiny' });

describe('gpu-runner process', () => {
  let runner: RunnerProcess;
  let reference: (item: RunnerItem) => Promise<Uint8Array>;

  beforeAll(async () => {
    const dir = tinyBundleDir();
    [runner, reference] = await Promise.all([
      // auto: no CUDA here, so this also checks the clean fallback to CPU.
      startRunner({ RUNNER_BUNDLES: dir, RUNNER_EXECUTION_PROVIDER: 'auto', RUNNER_MAX_QUEUE_DELAY_MS: '20' }),
      referencePipeline(dir),
    ]);
  });
  afterAll(async () => {
    await runner?.stop();
    removeTinyBundleDirs();
  });

  it('reports health, readiness and its bundles, provider and limits', async () => {
    expect((await runner.get('/healthz')).status).toBe(200);
    const ready = await runner.get('/readyz');
    expect(ready.status).toBe(200);
    const info = runnerInfoSchema.parse(await ready.json());
    expect(info).toMatchObject({ ready: true, executionProvider: 'cpu', maxBatch: 16, queueLimit: 256 });
    expect(info.bundles.map((b) => b.id)).toEqual(['aurora-tiny']);
    expect(runner.logs.some((l) => l.level === 'warn' && String(l.msg).includes('RUNNER_EXECUTION_PROVIDER=auto passed over cuda'))).toBe(true);
    // auto never takes a CPU-emulated adapter (lavapipe, where CI installs it): it says why it passed webgpu over.
    const webgpu = runner.logs.find((l) => String(l.msg).includes('passed over webgpu'));
    expect(webgpu, 'auto must report why it did not take webgpu').toBeDefined();
    expect(info.adapter ?? null).toBeNull();
    expect(runner.logs.find((l) => l.msg === 'execution provider')).toMatchObject({ requested: 'auto', executionProvider: 'cpu' });
    expect(metric(await (await runner.get('/metrics')).text(), 'aurora_runner_execution_provider{provider="cpu",adapter=""}')).toBe(1);
    expect(runnerInfoSchema.parse(await (await runner.get('/v1/info', { signed: true })).json())).toEqual(info);
    expect((await runner.get('/v1/info')).status).toBe(401);
  });

  it('serves 32 concurrent single-image requests in fewer session runs, each with its own image', async () => {
    const before = metric(await (await runner.get('/metrics')).text(), RUNS);
    const items = Array.from({ length: 32 }, (_, i) => item(i));
    const responses = await Promise.all(items.map((it) => runner.post('/v1/generate', { items: [it] })));
    const metrics = await (await runner.get('/metrics')).text();
    const runs = metric(metrics, RUNS) - before;
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(32);
    const images: Uint8Array[] = [];
    for (let i = 0; i < items.length; i++) {
      expect(responses[i].status).toBe(200);
      const { body, pixels } = await decodeResponse(responses[i]);
      await expectImagesMatch([items[i]], body, pixels, reference);
      images.push(pixels[0]);
    }
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) expect(withinParity(parityStats(images[i], images[j])), `image ${i} vs ${j}`).toBe(false);
    }
    expect(metric(metrics, 'aurora_runner_images_generated_total{bundle="aurora-tiny"}')).toBeGreaterThanOrEqual(32);
    console.log(`32 concurrent requests -> ${runs} session runs`);
  });

  it('serves a multi-item request in item order, one text encoding per distinct prompt', async () => {
    const items = [item(0, 'a bowl of fruit'), item(1, 'a bird over a lake'), item(2, 'a bowl of fruit')];
    const res = await runner.post('/v1/generate', { items });
    expect(res.status).toBe(200);
    const { body, pixels } = await decodeResponse(res);
    await expectImagesMatch(items, body, pixels, reference);
    expect(body.images.every((im) => im.width === 64 && im.height === 64 && im.contentHash.length > 0)).toBe(true);
  });

  it.each([
    ['bad JSON', 400, 'bad_json', undefined, { raw: '{"items": [' }],
    ['no items', 400, 'invalid_request', 'items', { body: { items: [] } }],
    ['a missing seed', 400, 'invalid_request', 'items[0].seed', { body: { items: [{ prompt: 'x', psi: 0.5, bundle: 'aurora-tiny' }] } }],
    ['psi out of range', 400, 'invalid_request', 'items[1].psi', { body: { items: [item(0), { ...item(1), psi: 1.5 }] } }],
    ['an unknown bundle', 404, 'unknown_bundle', 'items[3].bundle', { body: { items: [item(0), item(1), item(2), { ...item(3), bundle: 'aurora-v9' }] } }],
    ['more items than maxBatch', 400, 'too_many_items', 'items', { body: { items: Array.from({ length: 17 }, (_, i) => item(i)) } }],
    [
      'more items than the protocol allows',
      400,
      'invalid_request',
      'items',
      { body: { items: Array.from({ length: RUNNER_MAX_ITEMS + 1 }, (_, i) => item(i)) } },
    ],
    ['an empty prompt', 400, 'invalid_input', 'items[0].prompt', { body: { items: [{ ...item(0), prompt: '' }] } }],
    ['a blank prompt', 400, 'invalid_input', 'items[1].prompt', { body: { items: [item(0), { ...item(1), prompt: ' \t\n ' }] } }],
    ['a prompt over the context length', 400, 'invalid_input', 'items[1].prompt', { body: { items: [item(0), { ...item(1), prompt: 'word '.repeat(200) }] } }],
    ['a bad signature', 401, 'unauthorized', undefined, { body: { items: [item(0)] }, secret: 'another-secret-0123456789' }],
    ['a body over 1 MiB', 413, 'payload_too_large', undefined, { raw: `{"items":[],"pad":"${'x'.repeat(1 << 20)}"}` }],
  ] as const)('answers %s with a JSON %i error', async (_name, status, code, field, request) => {
    const body = 'body' in request ? request.body : undefined;
    const res = await runner.post('/v1/generate', body, {
      raw: 'raw' in request ? request.raw : undefined,
      secret: 'secret' in request ? request.secret : undefined,
    });
    expect(res.status).toBe(status);
    const error = errorBodySchema.parse(await res.json()).error;
    expect({ code: error.code, field: error.field }).toEqual({ code, field });
    expect(error.message.length).toBeGreaterThan(5);
  });

  it('rejects unsigned and stale requests and unknown routes', async () => {
    const text = JSON.stringify({ items: [item(0)] });
    const unsigned = await fetch(`${runner.url}/v1/generate`, { method: 'POST', body: text });
    expect(unsigned.status).toBe(401);
    const stale = await signRequest(TEST_SECRET, 'POST', '/v1/generate', text, Date.now() - 10 * 60_000);
    expect((await fetch(`${runner.url}/v1/generate`, { method: 'POST', body: text, headers: stale })).status).toBe(401);
    const tampered = await signRequest(TEST_SECRET, 'POST', '/v1/generate', text);
    const res = await fetch(`${runner.url}/v1/generate`, { method: 'POST', body: text.replace('1000', '1001'), headers: tampered });
    expect(res.status).toBe(401);
    expect(errorBodySchema.parse(await res.json()).error.code).toBe('unauthorized');
    expect((await runner.get('/nope')).status).toBe(404);
  });

  it('rejects a signed request sent again within its window (a replay), and serves a freshly signed twin', async () => {
    const text = JSON.stringify({ items: [item(5)] });
    const headers = await signRequest(TEST_SECRET, 'POST', '/v1/generate', text);
    const send = (h: Record<string, string>) => fetch(`${runner.url}/v1/generate`, { method: 'POST', body: text, headers: h });
    expect((await send(headers)).status).toBe(200);
    const replayed = await send(headers);
    expect(replayed.status).toBe(401);
    expect(errorBodySchema.parse(await replayed.json()).error).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/already used/) });
    // Concurrent replays of one signature: one at most gets through.
    const again = await signRequest(TEST_SECRET, 'POST', '/v1/generate', text);
    const statuses = (await Promise.all([send(again), send(again), send(again)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401, 401]);
    expect((await send(await signRequest(TEST_SECRET, 'POST', '/v1/generate', text))).status).toBe(200);
  });

  it('exports Prometheus metrics', async () => {
    const text = await (await runner.get('/metrics')).text();
    for (const name of [
      'aurora_runner_queue_depth',
      'aurora_runner_batch_size_bucket',
      'aurora_runner_request_duration_seconds_bucket',
      'aurora_runner_ready 1',
    ]) {
      expect(text).toContain(name);
    }
    expect(metric(text, 'aurora_runner_errors_total{code="unknown_bundle"}')).toBeGreaterThanOrEqual(1);
  });
});
