import { NONCE_HEADER, type RunnerInfo, type RunnerItem, SIGNATURE_HEADER, verifyRequest } from '@aurora-edge/protocol';
import { describe, expect, it } from 'vitest';
import { NoRunnerError, RunnerPool } from '../src/runners/pool.ts';

const SECRET = 'x'.repeat(32);
const BUNDLE = { id: 'aurora-tiny', contentHash: 'c'.repeat(64) };
const items = (n: number): RunnerItem[] => Array.from({ length: n }, (_, i) => ({ prompt: 'p', seed: 10 + i, psi: 0.7, bundle: 'aurora-tiny' }));

interface FakeRunner {
  ready: boolean;
  queueDepth: number;
  maxBatch: number;
  contentHash: string;
  /** Status to answer /v1/generate with (200: images). */
  generateStatus: number;
  generated: number[][];
}

/** A fetch that plays several runners by host name, checking every signature like a real runner. */
function fakeRunners(specs: Record<string, Partial<FakeRunner>>) {
  const runners: Record<string, FakeRunner> = {};
  for (const [host, spec] of Object.entries(specs)) {
    runners[host] = { ready: true, queueDepth: 0, maxBatch: 16, contentHash: BUNDLE.contentHash, generateStatus: 200, generated: [], ...spec };
  }
  const fetchFn = (async (input: string, init: RequestInit) => {
    const url = new URL(input);
    const r = runners[url.host];
    if (!r) throw new TypeError('fetch failed: connection refused');
    const headers = new Headers(init.headers);
    const body = (init.body as string | undefined) ?? '';
    const ok = await verifyRequest(SECRET, init.method ?? 'GET', url.pathname, body, {
      timestamp: headers.get('x-aurora-timestamp'),
      nonce: headers.get(NONCE_HEADER),
      signature: headers.get(SIGNATURE_HEADER),
    });
    if (!ok.ok) return Response.json({ error: { code: 'unauthorized', message: ok.reason } }, { status: 401 });
    if (url.pathname === '/readyz') {
      const info: RunnerInfo = {
        ready: r.ready,
        bundles: [{ id: 'aurora-tiny', version: '1', contentHash: r.contentHash, trained: false }],
        executionProvider: 'cpu',
        maxBatch: r.maxBatch,
        queueDepth: r.queueDepth,
        queueLimit: 64,
      };
      return Response.json(info, { status: r.ready ? 200 : 503 });
    }
    const sent = JSON.parse(body).items as RunnerItem[];
    r.generated.push(sent.map((i) => i.seed));
    if (r.generateStatus !== 200) return Response.json({ error: { code: 'x', message: 'failed' } }, { status: r.generateStatus });
    const images = sent.map((i) => ({ ...i, contentHash: r.contentHash, width: 64, height: 64, pngBase64: 'AA==' }));
    return Response.json({ images, timings: { queueMs: 1, runMs: 2, totalMs: 3 } });
  }) as unknown as typeof fetch;
  const pool = new RunnerPool(
    Object.keys(specs).map((host) => ({ url: `http://${host}`, secret: SECRET })),
    { fetch: fetchFn, healthTtlMs: 60_000 },
  );
  return { pool, runners };
}

describe('RunnerPool', () => {
  it('sends a batch to the least-loaded healthy runner serving the bundle', async () => {
    const { pool, runners } = fakeRunners({ busy: { queueDepth: 9 }, idle: { queueDepth: 1 }, down: { ready: false }, other: { contentHash: 'd'.repeat(64) } });
    const res = await pool.generate(items(3), BUNDLE);
    expect(res.images.map((i) => i.seed)).toEqual([10, 11, 12]);
    expect(runners.idle.generated).toEqual([[10, 11, 12]]);
    expect(runners.busy.generated).toEqual([]);
    expect(pool.status().map((s) => s.healthy)).toEqual([true, true, false, true]);
  });

  it('retries on another runner when one fails, and marks the failed one down', async () => {
    const { pool, runners } = fakeRunners({ a: { generateStatus: 500 }, b: { queueDepth: 5 } });
    const res = await pool.generate(items(2), BUNDLE);
    expect(res.images).toHaveLength(2);
    expect(runners.a.generated).toHaveLength(1);
    expect(runners.b.generated).toHaveLength(1);
    expect(pool.status()[0].healthy).toBe(false);
  });

  it('tries another runner on a full queue (429) without marking the busy one down', async () => {
    const { pool, runners } = fakeRunners({ a: { generateStatus: 429 }, b: { queueDepth: 5 } });
    const res = await pool.generate(items(2), BUNDLE);
    expect(res.images).toHaveLength(2);
    expect(runners.a.generated).toHaveLength(1);
    expect(runners.b.generated).toHaveLength(1);
    expect(pool.status().map((s) => s.healthy)).toEqual([true, true]);
  });

  it('splits batches larger than the runners take', async () => {
    const { pool, runners } = fakeRunners({ a: { maxBatch: 3 } });
    const res = await pool.generate(items(7), BUNDLE);
    expect(res.images.map((i) => i.seed)).toEqual([10, 11, 12, 13, 14, 15, 16]);
    // Parts are sent concurrently (request signing is async), so they may arrive in any order.
    expect([...runners.a.generated].sort((x, y) => x[0] - y[0])).toEqual([[10, 11, 12], [13, 14, 15], [16]]);
  });

  it('throws NoRunnerError with every reason when none can take the batch', async () => {
    const { pool } = fakeRunners({ a: { generateStatus: 503 }, b: { ready: false } });
    const error = await pool.generate(items(4), BUNDLE).catch((e) => e);
    expect(error).toBeInstanceOf(NoRunnerError);
    expect(error.message).toMatch(/a: POST \/v1\/generate answered 503/);
    expect(error.message).toMatch(/b: unhealthy/);
    await expect(new RunnerPool([]).generate(items(4), BUNDLE)).rejects.toThrow('no GPU runner is configured');
  });
});
