/**
 * Issue 13 item 15: the Node gateway logs one structured line per request (id, route, cache
 * outcome, status, ms) and serves Prometheus metrics on a loopback listener of its own, never on
 * the public port (the real gateway, WASM in its worker thread).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { call, postJson, removeTempDirs, startLoggingGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
const logs: string[] = [];

beforeAll(async () => {
  gateway = await startLoggingGateway({ METRICS_PORT: '0', DATABASE_PATH: path.join(tempDir(), 'cache.sqlite') }, logs);
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

interface Line {
  id: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  cache?: string;
  images?: { cache: number; wasm: number; runner: number };
}

const lineFor = (id: string | null): Line | undefined => logs.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Line] : [])).find((l) => l.id === id);

describe('observability', () => {
  it('one JSON log line per request: id, route, status, ms and the cache outcome', async () => {
    const body = { prompt: 'logged once', seed: 5, n: 2 };
    const miss = await postJson(gateway.url, body);
    const hit = await postJson(gateway.url, body);
    const partial = await postJson(gateway.url, { ...body, n: 3 });
    const notFound = await call(`${gateway.url}/v1/images/${'0'.repeat(64)}.png`);
    const line = (a: { headers: Headers }) => lineFor(a.headers.get('x-request-id'));
    expect(line(miss)).toMatchObject({ method: 'POST', route: '/v1/images/generations', status: 200, cache: 'miss', images: { cache: 0, wasm: 2, runner: 0 } });
    expect(line(hit)).toMatchObject({ status: 200, cache: 'hit', images: { cache: 2, wasm: 0, runner: 0 } });
    expect(line(partial)).toMatchObject({ cache: 'partial', images: { cache: 2, wasm: 1, runner: 0 } });
    expect(line(notFound)).toMatchObject({ method: 'GET', route: '/v1/images/:file{[^/]+\\.png}', status: 404 });
    expect(line(notFound)?.cache).toBeUndefined();
    expect(typeof line(miss)?.ms).toBe('number');
    const ids = [miss, hit, partial, notFound].map((a) => a.headers.get('x-request-id'));
    expect(logs.filter((l) => ids.some((id) => l.includes(`"id":"${id}"`)))).toHaveLength(4);
  });

  it('Prometheus metrics on a loopback listener of their own; the public port has none', async () => {
    expect(gateway.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await call(`${gateway.url}/metrics`)).status).toBe(404);
    const res = await fetch(gateway.metricsUrl!);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}[\]()\\.+^$|?*]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('aurora_edge_requests_total{route="/v1/images/generations",status="200"}')).toBe(3);
    expect(value('aurora_edge_cache_images_total{outcome="hit"}')).toBe(4);
    expect(value('aurora_edge_cache_images_total{outcome="miss"}')).toBe(3);
    expect(value('aurora_edge_images_generated_total{route="wasm"}')).toBe(3);
    expect(value('aurora_edge_request_duration_seconds_count{route="/v1/images/generations"}')).toBe(3);
    expect(value('aurora_edge_wasm_queue{model="aurora-tiny"}')).toBe(0);
    expect(value('aurora_edge_requests_in_flight')).toBe(0);
    expect(value('aurora_edge_generations_in_flight')).toBe(0);
    const made = await postJson(gateway.url, { prompt: 'counted', seed: 1 });
    expect(made.status).toBe(200);
    const after = await (await fetch(gateway.metricsUrl!)).text();
    expect(after).toMatch(/^aurora_edge_images_generated_total\{route="wasm"\} 4$/m);
  });
});
