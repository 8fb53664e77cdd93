/**
 * Issue 13 item 5: on Node, in-process (WASM) generation runs in a worker thread. onnxruntime-web's
 * single-threaded WASM computes a whole graph synchronously on the calling thread; on the main
 * thread that stalled every cache hit and /healthz for the length of each image. The real Node
 * gateway runs in this test's process, so its main thread is this one: it must never instantiate
 * WebAssembly, and a cache hit sent while a WASM batch runs must be answered before that batch.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { postJson, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

// Counted before the gateway loads anything: every WebAssembly instantiation on this thread.
let mainThreadInstantiations = 0;
const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (...args: unknown[]) => Promise<unknown>;
(WebAssembly as { instantiate: unknown }).instantiate = (...args: unknown[]) => {
  mainThreadInstantiations++;
  return instantiate(...args);
};

let gateway: NodeGateway;

beforeAll(async () => {
  gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), WASM_MAX_BATCH: '4' });
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

describe('WASM generation off the main thread', () => {
  it('generates in WASM without instantiating WebAssembly on the main thread; the heap is still reported', async () => {
    const made = await postJson(gateway.url, { prompt: 'made in a worker thread', seed: 3, n: 2 });
    expect([made.status, made.headers.get('x-aurora-route')]).toEqual([200, 'wasm']);
    expect(mainThreadInstantiations).toBe(0);
    const health = (await (await fetch(`${gateway.url}/healthz`)).json()) as { wasm_heap_bytes: number };
    expect(health.wasm_heap_bytes).toBeGreaterThan(16 * 2 ** 20);
  });

  it('a cache hit sent while a 4-image WASM batch runs is answered before the batch', async () => {
    const hitBody = { prompt: 'made in a worker thread', seed: 3, n: 2 };
    const order: string[] = [];
    const miss = postJson(gateway.url, { prompt: 'a long wasm batch', seed: 1, n: 4 }).then((a) => {
      order.push('miss');
      return a;
    });
    // Sent once the batch is queued (the queue depth says so), not after a sleep. A main thread
    // busy generating answers /healthz only when the batch is done, and then the queue is empty.
    let queued = false;
    for (let polls = 0; polls < 200 && !queued && order.length === 0; polls++) {
      const h = (await (await fetch(`${gateway.url}/healthz`)).json()) as { models: { wasm_queue: number }[] };
      queued = h.models[0].wasm_queue > 0;
    }
    expect(queued, '/healthz saw the batch queued while it ran').toBe(true);
    const hit = await postJson(gateway.url, hitBody);
    order.push('hit');
    expect(hit.headers.get('x-aurora-route')).toBe('cache');
    expect((await miss).status).toBe(200);
    expect(order).toEqual(['hit', 'miss']);
  });
});
