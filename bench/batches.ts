/**
 * Batches beside interactive traffic (issue 18): one Node gateway process (aurora-tiny, WASM only,
 * SQLite in a temp folder) measures the latency of interactive single-image generations (distinct
 * misses, one at a time) while idle and while a 2,000-image batch runs on the same gateway.
 *   batches.interactive_p50_idle_ms, batches.interactive_p99_idle_ms
 *   batches.interactive_p50_busy_ms, batches.interactive_p99_busy_ms
 *   batches.interactive_p99_ratio      busy p99 / idle p99 (BATCH_MAX_RUNNING and BATCH_CONCURRENCY bound it)
 *   batches.images_per_s               the batch's throughput while it shared the gateway
 *   tsx bench/batches.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type GatewayChild, postJson, startGatewayChild } from '../test/support/reliability.ts';

const SAMPLES = 40;
const BATCH_IMAGES = 2000;

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Latencies (ms) of `count` interactive misses, one after the other, each a new seed. */
async function interactive(url: string, count: number, firstSeed: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const answer = await postJson(url, { prompt: 'an interactive request', n: 1, seed: firstSeed + i });
    if (answer.status !== 200) throw new Error(`batches bench: interactive request -> ${answer.status} ${answer.text.slice(0, 200)}`);
    out.push(performance.now() - started);
  }
  return out;
}

async function batchState(url: string, id: string): Promise<{ status: string; done: number }> {
  return (await (await fetch(`${url}/v1/batches/${id}?limit=1`)).json()) as { status: string; done: number };
}

export async function runBatchesBench(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-bench-batches-'));
  let gateway: GatewayChild | null = null;
  try {
    gateway = await startGatewayChild({ DATABASE_PATH: path.join(dir, 'edge.sqlite') }, 120_000);
    const url = gateway.url;
    await interactive(url, 5, 1_000_000); // warm-up
    const idle = await interactive(url, SAMPLES, 2_000_000);

    const items = Array.from({ length: BATCH_IMAGES / 4 }, (_, i) => ({ prompt: 'a batch warming the cache', seed: i * 4, n: 4 }));
    const created = await fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
    if (created.status !== 202) throw new Error(`batches bench: POST /v1/batches -> ${created.status}`);
    const { id } = (await created.json()) as { id: string };
    const started = performance.now();
    // Let the batch reach its steady state first.
    while ((await batchState(url, id)).done < 20) await new Promise((r) => setTimeout(r, 100));
    const busy = await interactive(url, SAMPLES, 3_000_000);
    const during = await batchState(url, id);
    const elapsedS = (performance.now() - started) / 1000;
    if (during.status === 'completed') console.log('batches: the batch finished before the busy samples did; raise BATCH_IMAGES');

    const results = {
      'batches.interactive_p50_idle_ms': Math.round(percentile(idle, 50) * 10) / 10,
      'batches.interactive_p99_idle_ms': Math.round(percentile(idle, 99) * 10) / 10,
      'batches.interactive_p50_busy_ms': Math.round(percentile(busy, 50) * 10) / 10,
      'batches.interactive_p99_busy_ms': Math.round(percentile(busy, 99) * 10) / 10,
      'batches.interactive_p99_ratio': Math.round((percentile(busy, 99) / percentile(idle, 99)) * 100) / 100,
      'batches.images_per_s': Math.round((during.done / elapsedS) * 10) / 10,
    };
    console.log(
      `batches: interactive p50/p99 idle ${results['batches.interactive_p50_idle_ms']}/${results['batches.interactive_p99_idle_ms']} ms, ` +
        `with a batch running ${results['batches.interactive_p50_busy_ms']}/${results['batches.interactive_p99_busy_ms']} ms ` +
        `(p99 x${results['batches.interactive_p99_ratio']}); batch ${results['batches.images_per_s']} images/s meanwhile`,
    );
    return results;
  } finally {
    if (gateway) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  console.log(JSON.stringify(await runBatchesBench(), null, 2));
}
