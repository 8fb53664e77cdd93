/**
 * Issue 13 item 7: test/reliability-load.test.ts failed once in a full run with "fetch failed" on a
 * miss request, and passed alone. The cause: in-process WASM generation ran on Node's main thread
 * and drained the whole WASM queue without yielding to the event loop (each image's graph is one
 * synchronous call and images follow each other through promise callbacks), so a busy gateway did
 * not read its sockets for seconds. A keep-alive connection that the client reused while the
 * server's keep-alive timer (5 s) was running out got closed under the request when the loop came
 * back: timers run before the socket's pending bytes are read, and fetch does not retry a POST. In a
 * full run the WASM queue is slower (other files share the 2 cores), so the stall grew past the
 * client's reuse window. This test makes that window: a client reuses an idle keep-alive socket
 * while a long WASM queue runs, as fetch may (undici reuses one up to 2 s before the server's
 * advertised 5 s). The gateway is its own process, so the client is never stalled with it.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayChild, postJson, removeTempDirs, sleep, startGatewayChild, tempDir } from './support/reliability.ts';

let gateway: GatewayChild;

beforeAll(async () => {
  gateway = await startGatewayChild({
    DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'),
    WASM_MAX_BATCH: '16',
    WASM_FALLBACK_MAX_BATCH: '16',
    WASM_MAX_QUEUE: '1000',
  });
});

afterAll(async () => {
  gateway?.child.kill('SIGTERM');
  await gateway?.exited;
  removeTempDirs();
});

/** GET on one keep-alive socket of `agent`; rejects with the socket error when the server closes it under the request. */
function get(agent: http.Agent, url: string): Promise<{ status: number; socketReused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socketReused: req.reusedSocket }));
    });
    req.on('error', reject);
  });
}

describe('keep-alive connections while WASM generation runs', () => {
  it('an idle keep-alive socket reused 2.5 s later (inside the 5 s keep-alive window) gets its answer', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(agent, `${gateway.url}/healthz`)).status).toBe(200);
      // A long WASM queue: 8 requests of 16 new images each (run one image at a time).
      const busy = Array.from({ length: 8 }, (_, i) => postJson(gateway.url, { prompt: `a long queue ${i}`, seed: 1, n: 16 }, 120_000));
      await sleep(2_500);
      const reused = await get(agent, `${gateway.url}/healthz`);
      expect(reused).toEqual({ status: 200, socketReused: true });
      expect((await Promise.all(busy)).map((a) => a.status)).toEqual(new Array(8).fill(200));
    } finally {
      agent.destroy();
    }
  });
});
