/**
 * Load over loopback against the real Node gateway (SQLite file, onnxruntime-web in-process, a
 * real GPU runner child process with a deliberately small queue, and a per-IP generation limit):
 *   - 2,000 cache-hit requests at 64 concurrent keep-alive connections: zero errors;
 *   - 200 mixed miss requests (distinct prompts; n = 1..8: in-process WASM and the runner):
 *     every answer is its images or a clean 429/503 JSON error, none lost or duplicated, and the
 *     database holds exactly one row per image that was served and none for a refused request.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunnerProcess, removeTinyBundleDirs, startRunner, TEST_SECRET, tinyBundleDir } from '../apps/gpu-runner/test/support/runner-process.ts';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { type Answer, expectErrorBody, postJson, readRows, removeTempDirs, runPool, startGateway, tempDir } from './support/reliability.ts';

const HITS = 2_000;
const HIT_CONCURRENCY = 64;
const MISSES = 200;
const MISS_CONCURRENCY = 16;
const HIT_PROMPT = 'a red apple under load';

interface Generated {
  seed: number;
  data: { id: string; seed: number; route: string; cached: boolean }[];
}

let runner: RunnerProcess;
let gateway: NodeGateway;
let dbPath: string;

beforeAll(async () => {
  // A runner that takes at most 4 items a batch and queues at most 8 (429 beyond: the gateway then
  // tries elsewhere, falls back to WASM for batches of at most 4, or answers 503).
  runner = await startRunner({ RUNNER_BUNDLES: tinyBundleDir(), RUNNER_EXECUTION_PROVIDER: 'cpu', RUNNER_MAX_BATCH: '4', RUNNER_QUEUE_LIMIT: '8' });
  dbPath = path.join(tempDir(), 'cache.sqlite');
  gateway = await startGateway({
    DATABASE_PATH: dbPath,
    RUNNERS: runner.url,
    RUNNER_SHARED_SECRET: TEST_SECRET,
    RUNNER_HEALTH_TTL_MS: '300', // a runner marked down after a 429 is asked again soon
    ANON_RPM: '100', // per-IP generation limit: cache hits are free, misses beyond it get 429
    RETRY_AFTER_S: '1',
  });
});

afterAll(async () => {
  await gateway?.close();
  await runner?.stop();
  removeTinyBundleDirs();
  removeTempDirs();
});

describe('load over loopback (real Node gateway and GPU runner)', () => {
  it(`${HITS} cache-hit requests at ${HIT_CONCURRENCY} concurrent connections: zero errors`, async () => {
    const primed = await postJson(gateway.url, { prompt: HIT_PROMPT, n: 8, seed: 0 });
    expect(primed.status, primed.text.slice(0, 300)).toBe(200);
    const ids = (primed.json as Generated).data.map((d) => d.id);
    const started = performance.now();
    const results = await runPool(HITS, HIT_CONCURRENCY, async (i) => {
      const a = await postJson(gateway.url, { prompt: HIT_PROMPT, n: 1, seed: i % 8, ...(i % 10 === 0 ? { response_format: 'b64_json' } : {}) }, 30_000);
      const data = (a.json as Generated | undefined)?.data;
      if (a.status !== 200 || a.headers.get('x-aurora-route') !== 'cache' || data?.[0]?.id !== ids[i % 8]) throw new Error(`${a.status} ${a.text.slice(0, 200)}`);
      return a.status;
    });
    const seconds = (performance.now() - started) / 1000;
    const errors = results.filter((r) => r instanceof Error) as Error[];
    console.log(`load: ${HITS} cache hits at ${HIT_CONCURRENCY} connections in ${seconds.toFixed(2)} s (${(HITS / seconds).toFixed(0)} req/s), ${errors.length} errors`);
    expect(errors.map((e) => e.message).slice(0, 5)).toEqual([]);
    expect(results).toHaveLength(HITS);
  });

  it(`${MISSES} mixed miss requests: every answer is its images or a clean 429/503, and the database matches`, async () => {
    const sizes = [1, 2, 1, 3, 1, 8, 1, 4, 1, 6]; // n <= 2: WASM; larger: the runner (or WASM when no runner and n <= 4)
    const requests = Array.from({ length: MISSES }, (_, i) => ({ prompt: `a lighthouse number ${i}`, n: sizes[i % sizes.length], seed: 1000 * i }));
    const started = performance.now();
    const answers = await runPool(MISSES, MISS_CONCURRENCY, (i) => postJson(gateway.url, requests[i], 90_000));
    const seconds = (performance.now() - started) / 1000;
    const counts = new Map<string, number>();
    const served = new Map<string, { prompt: string; seed: number }>();
    const refused: string[] = [];
    for (const [i, a] of answers.entries()) {
      const req = requests[i];
      expect(a, `request ${i} got no answer`).not.toBeInstanceOf(Error);
      const answer = a as Answer;
      const label = answer.status === 200 ? `200 ${answer.headers.get('x-aurora-route')}` : `${answer.status} ${expectErrorBody(answer, `request ${i}`).code}`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
      if (answer.status === 200) {
        const body = answer.json as Generated;
        expect(body.data.map((d) => [d.seed, d.cached])).toEqual(Array.from({ length: req.n }, (_, k) => [req.seed + k, false]));
        for (const d of body.data) {
          expect(served.has(d.id), `image ${d.id} served twice`).toBe(false);
          served.set(d.id, { prompt: req.prompt, seed: d.seed });
        }
      } else {
        expect([429, 503], `request ${i}: ${answer.status} ${answer.text.slice(0, 200)}`).toContain(answer.status);
        expect(Number(answer.headers.get('retry-after')), `request ${i} Retry-After`).toBeGreaterThan(0);
        refused.push(req.prompt);
      }
    }
    console.log(
      `load: ${MISSES} miss requests (${requests.reduce((s, r) => s + r.n, 0)} images) at ${MISS_CONCURRENCY} concurrent in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(counts))}`,
    );
    expect(served.size).toBeGreaterThan(0);

    // The database: exactly the served images (no duplicates, none missing), nothing from a refused request.
    const rows = readRows(dbPath).filter((r) => r.prompt !== HIT_PROMPT);
    expect(rows.length).toBe(served.size);
    for (const row of rows) expect(served.get(row.key), `row ${row.key}`).toEqual({ prompt: row.prompt, seed: row.seed });
    const refusedPrompts = new Set(refused);
    expect(rows.filter((r) => refusedPrompts.has(r.prompt))).toEqual([]);

    const health = (await postJson(gateway.url, { prompt: HIT_PROMPT, n: 1, seed: 3 })).headers.get('x-aurora-route');
    expect(health).toBe('cache');
  });
});
