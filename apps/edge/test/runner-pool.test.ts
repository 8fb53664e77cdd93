/**
 * The gateway's runner pool against real runner apps (apps/gpu-runner's Hono app, in process, over
 * the Open Inference Protocol v2) whose batch function paints each image from its row's latent, so
 * routing, retries, splitting and order are visible without onnxruntime; and against a server
 * that answers as Triton does (numbered versions, the content hash in its model config), which
 * cannot run here. test/gateway-node.test.ts runs the real runner process end to end.
 */
import { decodePng, sampleLatent } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { CONTENT_HASH_PARAMETER, decodeInferRequest, encodeInferResponse, INFERENCE_HEADER_CONTENT_LENGTH, wantsBinaryOutput } from '@aurora-edge/protocol';
import { describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../gpu-runner/src/runner.ts';
import { type ServingBatch, servingShape, servingTensorMetadata } from '../../gpu-runner/src/serving.ts';
import { type BundleRef, NoRunnerError, RunnerPool } from '../src/runners/pool.ts';

const SECRET = 'x'.repeat(32);
const manifest = buildTinyBundle().manifest;
const shape = servingShape(manifest);
const BUNDLE: BundleRef = { id: 'aurora-tiny', contentHash: 'c'.repeat(64), manifest };
const SIZE = shape.height * shape.width * shape.channels;
const batch = (n: number) => ({ tokenIds: new Int32Array(shape.contextLength).fill(3), seeds: Array.from({ length: n }, (_, i) => 10 + i), psi: 0.7 });
/** The byte the stand-in model paints for a seed (from its latent, which the gateway sampled). */
const paintOf = (seed: number) => Math.round(Math.abs(sampleLatent(seed, shape.zDim)[0]) * 100) & 0xff;

interface RunnerSpec {
  ready?: boolean;
  contentHash?: string;
  maxBatch?: number;
  queueLimit?: number;
  /** Fail every batch with this error. */
  fail?: string;
  /** Batches wait for this before they finish. */
  gate?: Promise<void>;
}

function realRunner(spec: RunnerSpec, batches: number[][]): Runner {
  const maxBatch = spec.maxBatch ?? 16;
  const runner = createRunner({
    runBatch: async (_bundle, b: ServingBatch) => {
      const seeds = [...b.z.filter((_, i) => i % shape.zDim === 0)].map((z0) => Math.round(Math.abs(z0) * 100) & 0xff);
      batches.push(seeds);
      await spec.gate;
      if (spec.fail) throw new Error(spec.fail);
      const images = new Uint8Array(b.batch * SIZE);
      seeds.forEach((v, i) => images.fill(v, i * SIZE, (i + 1) * SIZE));
      return { images, dims: [b.batch, shape.height, shape.width, shape.channels] };
    },
    maxBatch,
    maxQueueDelayMs: 0,
    queueLimit: spec.queueLimit ?? 64,
    secret: SECRET,
    processMetrics: false,
    logError: () => {},
  });
  runner.state.models.set('aurora-tiny', {
    id: 'aurora-tiny',
    version: '0.1.0',
    contentHash: spec.contentHash ?? BUNDLE.contentHash,
    trained: false,
    manifest,
    shape,
  });
  runner.state.ready = spec.ready ?? true;
  return runner;
}

/** A server that answers as Triton does for a model repository made by `aurora export triton`. */
function tritonLike(contentHash: string, calls: string[]) {
  return async (url: URL, init: RequestInit): Promise<Response> => {
    calls.push(`${init.method ?? 'GET'} ${url.pathname}`);
    const p = url.pathname;
    if (p === '/v2/health/ready') return new Response(null, { status: 200 });
    if (p === '/v2/models/aurora-tiny')
      return Response.json({ name: 'aurora-tiny', versions: ['1'], platform: 'onnxruntime_onnx', ...servingTensorMetadata(manifest) });
    if (p === '/v2/models/aurora-tiny/config')
      return Response.json({
        name: 'aurora-tiny',
        platform: 'onnxruntime_onnx',
        max_batch_size: 8,
        parameters: { [CONTENT_HASH_PARAMETER]: { string_value: contentHash } },
      });
    if (p === '/v2/models/aurora-tiny/infer') {
      const body = new Uint8Array(await new Response(init.body).arrayBuffer());
      const { request, inputs } = decodeInferRequest(body, new Headers(init.headers).get(INFERENCE_HEADER_CONTENT_LENGTH));
      // The exported model also has partial outputs: only what is asked for by name comes back.
      calls.push(`outputs ${JSON.stringify(request.outputs)}`);
      const z = inputs.get('z')!.data as Float32Array;
      const n = inputs.get('z')!.shape[0];
      const images = new Uint8Array(n * SIZE);
      for (let i = 0; i < n; i++) images.fill(Math.round(Math.abs(z[i * shape.zDim]) * 100) & 0xff, i * SIZE, (i + 1) * SIZE);
      const out = encodeInferResponse(
        { model_name: 'aurora-tiny', model_version: '1' },
        [{ name: 'images', datatype: 'UINT8', shape: [n, 64, 64, 3], data: images }],
        (name) => wantsBinaryOutput(request, name),
      );
      return new Response(out.body, { headers: out.headers });
    }
    return Response.json({ error: `unknown path ${p}` }, { status: 404 });
  };
}

/** A pool over runners by host name: real runner apps, Triton-like servers, or nothing (refused). */
function poolOf(specs: Record<string, RunnerSpec | { triton: string }>, options: { now?: () => number } = {}) {
  const batches: Record<string, number[][]> = {};
  const calls: Record<string, string[]> = {};
  const apps: Record<string, (url: URL, init: RequestInit) => Promise<Response>> = {};
  const logs: string[] = [];
  for (const [host, spec] of Object.entries(specs)) {
    batches[host] = [];
    calls[host] = [];
    if ('triton' in spec) apps[host] = tritonLike(spec.triton, calls[host]);
    else {
      const runner = realRunner(spec, batches[host]);
      apps[host] = async (url, init) => {
        calls[host].push(`${init.method ?? 'GET'} ${url.pathname}`);
        return runner.app.request(url.pathname, init);
      };
    }
  }
  const fetchFn = (async (input: string, init: RequestInit) => {
    const url = new URL(input);
    const app = apps[url.host];
    if (!app) throw new TypeError('fetch failed: connection refused');
    return app(url, init);
  }) as unknown as typeof fetch;
  const endpoints = Object.entries(specs).map(([host, spec]) => ({ url: `http://${host}`, secret: 'triton' in spec ? null : SECRET }));
  const pool = new RunnerPool(endpoints, { fetch: fetchFn, healthTtlMs: 60_000, log: (m) => logs.push(m), now: options.now });
  return { pool, batches, calls, logs };
}

const paints = (pngs: Uint8Array[]) => pngs.map((png) => decodePng(png).pixels[0]);

describe('RunnerPool over the Open Inference Protocol v2', () => {
  it('sends a batch to an eligible runner, and leaves out one with other content (logged) and one not ready', async () => {
    const { pool, batches, logs } = poolOf({ down: { ready: false }, other: { contentHash: 'd'.repeat(64) }, good: {} });
    const res = await pool.generate(batch(3), BUNDLE);
    expect(paints(res.pngs)).toEqual([10, 11, 12].map(paintOf));
    expect(batches.good).toHaveLength(1);
    expect(batches.other).toEqual([]);
    expect(pool.status().map((s) => [s.healthy, s.bundles])).toEqual([
      [false, []],
      [true, []],
      [true, ['aurora-tiny']],
    ]);
    expect(logs).toEqual([
      "aurora-edge: GPU runner http://other is not used for aurora-tiny: it serves content dddddddddddd, this gateway's bundle is cccccccccccc",
    ]);
    // Logged once per verdict, not once per batch.
    await pool.generate(batch(1), BUNDLE);
    expect(logs).toHaveLength(1);
  });

  it('routes to the least-loaded runner: a batch waits on one, the next goes to the other', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { pool, batches } = poolOf({ a: { gate }, b: { gate } });
    const first = pool.generate(batch(4), BUNDLE);
    await new Promise((r) => setTimeout(r, 20));
    const second = pool.generate(batch(2), BUNDLE);
    await new Promise((r) => setTimeout(r, 20));
    open();
    await Promise.all([first, second]);
    expect([batches.a.map((b) => b.length), batches.b.map((b) => b.length)]).toEqual([[4], [2]]);
  });

  it('retries on another runner when one fails, and marks the failed one down', async () => {
    const { pool, batches } = poolOf({ a: { fail: 'CUDA out of memory' }, b: {} });
    const res = await pool.generate(batch(2), BUNDLE);
    expect(paints(res.pngs)).toEqual([10, 11].map(paintOf));
    expect(batches.a).toHaveLength(1);
    expect(batches.b).toHaveLength(1);
    expect(pool.status().map((s) => s.healthy)).toEqual([false, true]);
  });

  it('tries another runner on a full queue (429) without marking the busy one down', async () => {
    // a queues at most 2 rows: a 3-row request is refused whole with 429 and goes to b.
    const { pool, batches, calls } = poolOf({ a: { queueLimit: 2 }, b: {} });
    const res = await pool.generate(batch(3), BUNDLE);
    expect(paints(res.pngs)).toEqual([10, 11, 12].map(paintOf));
    expect(calls.a.filter((c) => c.startsWith('POST'))).toHaveLength(1);
    expect([batches.a.length, batches.b.length]).toEqual([0, 1]);
    expect(pool.status().map((s) => s.healthy)).toEqual([true, true]);
  });

  it('splits batches larger than the runners max_batch_size, keeping seed order', async () => {
    const { pool, batches } = poolOf({ a: { maxBatch: 3 } });
    const res = await pool.generate(batch(7), BUNDLE);
    expect(paints(res.pngs)).toEqual([10, 11, 12, 13, 14, 15, 16].map(paintOf));
    expect(batches.a.map((b) => b.length).sort()).toEqual([1, 3, 3]);
  });

  it('uses a Triton server whose model config carries the content hash, at its unversioned infer path', async () => {
    const { pool, calls, logs } = poolOf({ triton: { triton: BUNDLE.contentHash }, stale: { triton: 'e'.repeat(64) } });
    const res = await pool.generate(batch(10), BUNDLE);
    expect(paints(res.pngs)).toEqual(Array.from({ length: 10 }, (_, i) => paintOf(10 + i)));
    // max_batch_size 8: two requests.
    expect(calls.triton.filter((c) => c === 'POST /v2/models/aurora-tiny/infer')).toHaveLength(2);
    expect(calls.triton).toContain('outputs [{"name":"images","parameters":{"binary_data":true}}]');
    expect(calls.stale.filter((c) => c.startsWith('POST'))).toEqual([]);
    expect(logs).toEqual([expect.stringContaining('GPU runner http://stale is not used for aurora-tiny: it serves content eeeeeeeeeeee')]);
  });

  it('keeps a model verdict for its TTL, then asks again', async () => {
    let now = 0;
    const { pool, calls } = poolOf({ a: {} }, { now: () => now });
    await pool.generate(batch(1), BUNDLE);
    await pool.generate(batch(1), BUNDLE);
    const metadata = () => calls.a.filter((c) => c === 'GET /v2/models/aurora-tiny').length;
    expect(metadata()).toBe(1);
    now += 31_000;
    await pool.generate(batch(1), BUNDLE);
    expect(metadata()).toBe(2);
  });

  it('throws NoRunnerError with every reason when none can take the batch', async () => {
    const { pool } = poolOf({ a: { fail: 'device lost' }, b: { ready: false }, gone: { triton: 'f'.repeat(64) } });
    const error = await pool.generate(batch(4), BUNDLE).catch((e) => e);
    expect(error).toBeInstanceOf(NoRunnerError);
    expect(error.message).toMatch(/a: POST \/v2\/models\/aurora-tiny\/versions\/c{64}\/infer answered 500: {"error":"generation failed: device lost"}/);
    expect(error.message).toMatch(/b: unhealthy/);
    expect(error.message).toMatch(/gone: it serves content ffffffffffff/);
    await expect(new RunnerPool([]).generate(batch(4), BUNDLE)).rejects.toThrow('no GPU runner is configured');
  });
});
