/**
 * Fault injection against the real Node gateway over loopback: a GPU runner SIGKILLed while it
 * holds a batch, the SQLite file locked by another connection (and a write failing half-way
 * through a batch), and the gateway itself killed and restarted on the same database.
 */
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from '../apps/gpu-runner/test/support/runner-process.ts';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import {
  type Answer,
  call,
  expectErrorBody,
  postJson,
  readRows,
  removeTempDirs,
  startGateway,
  startGatewayChild,
  tempDir,
  waitFor,
} from './support/reliability.ts';

afterAll(() => {
  removeTinyBundleDirs();
  removeTempDirs();
});

interface Generated {
  data: { id: string; seed: number; route: string; cached: boolean; b64_json?: string; url?: string }[];
}
const dataOf = (a: Answer) => (a.json as Generated).data;

describe('a GPU runner killed (SIGKILL) while it holds a batch', () => {
  let a: RunnerProcess;
  let b: RunnerProcess;
  let gateway: NodeGateway;
  let dbPath: string;

  beforeAll(async () => {
    // A long batch window keeps each batch waiting on its runner, so the kill lands mid-batch.
    const env = { RUNNER_BUNDLES: tinyBundleDir(), RUNNER_EXECUTION_PROVIDER: 'cpu', RUNNER_MAX_BATCH: '16', RUNNER_MAX_QUEUE_DELAY_MS: '1500' };
    [a, b] = await Promise.all([startRunner(env), startRunner(env)]);
    dbPath = path.join(tempDir(), 'cache.sqlite');
    gateway = await startGateway({
      DATABASE_PATH: dbPath,
      RUNNERS: `${a.url},${b.url}`,
      RUNNER_SHARED_SECRET: TEST_SECRET,
      RUNNER_HEALTH_TTL_MS: '60000',
      ANON_RPM: '0',
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** Waits until `runner` has `items` queued (its metrics report the depth), then SIGKILLs it. */
  async function killWhenQueued(runner: RunnerProcess, items: number): Promise<void> {
    await waitFor(`${items} items queued on ${runner.url}`, async () => {
      const res = await fetch(`${runner.url}/metrics`);
      return metric(await res.text(), 'aurora_runner_queue_depth') >= items;
    });
    runner.child.kill('SIGKILL');
    expect((await runner.exited).signal).toBe('SIGKILL');
  }

  it('retries the batch on the other runner: the client gets every image, stored once', async () => {
    const body = { prompt: 'a lighthouse in a storm', n: 8, seed: 100, response_format: 'b64_json' };
    const pending = postJson(gateway.url, body);
    await killWhenQueued(a, 8); // both idle: the first configured runner takes it
    const res = await pending;
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.headers.get('x-aurora-route')).toBe('runner');
    const data = dataOf(res);
    expect(data.map((d) => [d.seed, d.route, d.cached])).toEqual(Array.from({ length: 8 }, (_, i) => [100 + i, 'runner', false]));
    for (const d of data) expect(decodePng(Buffer.from(d.b64_json!, 'base64'))).toMatchObject({ width: 64, height: 64 });
    const rows = readRows(dbPath).filter((r) => r.prompt === body.prompt);
    expect(rows.map((r) => r.key).sort()).toEqual(data.map((d) => d.id).sort());
    const health = (await call(`${gateway.url}/healthz`)).json as { runners: { healthy: boolean }[] };
    expect(health.runners.map((r) => r.healthy)).toEqual([false, true]);
  });

  it('with the last runner killed too, a batch too big for WASM gets a clean 503 and writes nothing', async () => {
    const body = { prompt: 'a lighthouse in the fog', n: 8, seed: 200 };
    const pending = postJson(gateway.url, body);
    await killWhenQueued(b, 8);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(expectErrorBody(res).code).toBe('no_runner');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(readRows(dbPath).filter((r) => r.prompt === body.prompt)).toEqual([]);
  });

  it('with no runner left, a small batch falls back to WASM', async () => {
    const res = await postJson(gateway.url, { prompt: 'a lighthouse in the fog', n: 3, seed: 300 });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.headers.get('x-aurora-route')).toBe('wasm');
    expect(dataOf(res)).toHaveLength(3);
  });
});

describe('the SQLite file busy or failing', () => {
  let gateway: NodeGateway;
  let dbPath: string;
  let other: Database.Database;

  beforeAll(async () => {
    dbPath = path.join(tempDir(), 'cache.sqlite');
    gateway = await startGateway({ DATABASE_PATH: dbPath, ANON_RPM: '0', RETRY_AFTER_S: '2' });
    other = new Database(dbPath);
  });

  afterAll(async () => {
    other?.close();
    await gateway?.close();
  });

  it('a write lock held by another connection: clean 503 with Retry-After, no rows, cache hits still served, then success', async () => {
    const cached = { prompt: 'a cached apple', n: 1, seed: 1 };
    expect((await postJson(gateway.url, cached)).status).toBe(200);
    const body = { prompt: 'an apple behind a lock', n: 2, seed: 10 };
    other.exec('BEGIN EXCLUSIVE');
    try {
      const started = performance.now();
      const res = await postJson(gateway.url, body);
      const ms = performance.now() - started;
      expect(res.status, res.text.slice(0, 300)).toBe(503);
      expect(expectErrorBody(res).code).toBe('database_busy');
      expect(res.headers.get('retry-after')).toBe('2');
      expect(ms).toBeLessThan(10_000);
      // WAL: readers are not blocked by the writer's lock, so hits keep flowing.
      const hit = await postJson(gateway.url, cached);
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-aurora-route')).toBe('cache');
      expect(other.prepare('SELECT count(*) AS n FROM images WHERE prompt = ?').get(body.prompt)).toEqual({ n: 0 });
    } finally {
      other.exec('ROLLBACK');
    }
    const res = await postJson(gateway.url, body);
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(readRows(dbPath).filter((r) => r.prompt === body.prompt)).toHaveLength(2);
  });

  it('a write that fails half-way through a batch leaves no partial rows', async () => {
    const body = { prompt: 'an apple that fails to save', n: 2, seed: 20 };
    // The second image's INSERT fails (injected with a trigger); the first must not stay behind.
    other.exec(`CREATE TRIGGER fail_second BEFORE INSERT ON images WHEN NEW.seed = 21 BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`);
    try {
      const res = await postJson(gateway.url, body);
      expect(res.status).toBe(500);
      const error = expectErrorBody(res);
      // The driver's message, not drizzle's "Failed query: <SQL> params: <every value, PNG bytes too>".
      expect(error).toMatchObject({ code: 'internal_error', message: 'internal error: injected write failure' });
      expect(readRows(dbPath).filter((r) => r.prompt === body.prompt)).toEqual([]);
    } finally {
      other.exec('DROP TRIGGER fail_second');
    }
    expect((await postJson(gateway.url, body)).status).toBe(200);
    expect(readRows(dbPath).filter((r) => r.prompt === body.prompt)).toHaveLength(2);
  });
});

describe('the gateway restarted on the same database', () => {
  it('survives a crash (SIGKILL) and a clean restart: the same request is a cache hit with identical bytes', async () => {
    const dbPath = path.join(tempDir(), 'cache.sqlite');
    const env = { DATABASE_PATH: dbPath, ANON_RPM: '0' };
    const body = { prompt: 'a castle that outlives its server', n: 2, seed: 77, response_format: 'b64_json' };

    const first = await startGatewayChild(env);
    const made = await postJson(first.url, body);
    expect(made.status).toBe(200);
    expect(made.headers.get('x-aurora-route')).toBe('wasm');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    let gateway = await startGateway(env);
    try {
      const hit = await postJson(gateway.url, body);
      expect(hit.headers.get('x-aurora-route')).toBe('cache');
      expect(dataOf(hit).map((d) => [d.id, d.b64_json, d.cached])).toEqual(dataOf(made).map((d) => [d.id, d.b64_json, true]));
      const png = await fetch(`${gateway.url}/v1/images/${dataOf(made)[0].id}.png`);
      expect(Buffer.from(await png.arrayBuffer()).toString('base64')).toBe(dataOf(made)[0].b64_json);
    } finally {
      await gateway.close(); // flushes the buffered hit counts
    }

    gateway = await startGateway(env);
    try {
      const hit = await postJson(gateway.url, body);
      expect(hit.headers.get('x-aurora-route')).toBe('cache');
      expect(dataOf(hit).map((d) => d.b64_json)).toEqual(dataOf(made).map((d) => d.b64_json));
      const entry = await call(`${gateway.url}/v1/cache?prompt=${encodeURIComponent(body.prompt)}&seed=77`);
      expect(entry.json).toMatchObject({ seed: 77, route: 'wasm', hit_count: 1 });
    } finally {
      await gateway.close();
    }
  });
});
