/**
 * GPU-runner throughput on CPU for aurora-tiny: the runner's own path (dynamic batcher -> model
 * worker thread -> the serving function on onnxruntime-node: token ids, latents and psi in, uint8
 * NHWC images out, as an OIP v2 infer request gives them), without HTTP. The prompts are tokenized
 * and the latents sampled here, as the gateway does before it calls a runner. For each batch size b, b
 * closed-loop clients each keep one single-image request in flight with maxBatch = b, so every
 * batch is full; images/s and per-request latency (submit -> image) are measured, and the
 * batching gain is images/s relative to b = 1. The sizes are measured in interleaved rounds and each
 * number is the median over rounds, so a burst of machine noise hits every size alike.
 *   tsx bench/runner.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamicBatcher } from '../apps/gpu-runner/src/batcher.ts';
import type { ServingRow } from '../apps/gpu-runner/src/infer.ts';
import { ModelHost } from '../apps/gpu-runner/src/model-host.ts';
import { batchOf, splitImages } from '../apps/gpu-runner/src/runner.ts';
import { loadBundleTokenizer, promptTokenIds, sampleLatent } from '../packages/model/src/index.ts';
import { buildTinyBundle } from '../packages/model/src/bundle/aurora-tiny.ts';
import { readBundleDir, writeBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { median } from './common.ts';

const BATCH_SIZES = [1, 2, 4, 8, 16];
const ROUNDS = 3;
const PROMPTS = ['a red apple on a table', 'a cat in the rain', 'sunset over the ocean', 'a castle under the stars'];

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function measure(
  host: ModelHost,
  b: number,
  images: number,
  rowOf: (seed: number) => ServingRow,
): Promise<{ imagesPerS: number; p50: number; p95: number }> {
  const batcher = new DynamicBatcher({
    runBatch: async (bundle: string, rows: ServingRow[]) => splitImages(await host.run(bundle, batchOf(rows)), rows.length),
    keyOf: () => 'aurora-tiny',
    maxBatch: b,
    maxQueueDelayMs: 5,
    queueLimit: 1024,
  });
  let seed = 0;
  const latencies: number[] = [];
  const client = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const s = seed++;
      await batcher.submit([rowOf(s)]);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: b }, () => client(1))); // one warm batch at this size
  latencies.length = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: b }, () => client(Math.ceil(images / b))));
  const seconds = (performance.now() - start) / 1000;
  return { imagesPerS: latencies.length / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
}

export async function runRunnerBench(): Promise<Record<string, number>> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-runner-bench-')), 'aurora-tiny');
  writeBundleDir(buildTinyBundle(), dir);
  const source = readBundleDir(dir);
  const tokenizer = await loadBundleTokenizer(source);
  const m = source.manifest;
  const ids = PROMPTS.map((p) => promptTokenIds(tokenizer, p, m.tokenizer.contextLength));
  const rowOf = (seed: number): ServingRow => ({
    bundle: m.id,
    inputIds: ids[seed % ids.length],
    z: sampleLatent(seed, m.generator.config.z_dim),
    psi: 0.7,
    partials: false,
  });
  const host = await ModelHost.start([dir], {
    executionProvider: 'cpu',
    cudaDeviceId: 0,
    warmUpBatch: Math.max(...BATCH_SIZES),
    workersPerBundle: 1,
    onWorkerDeath: (_bundle, error) => {
      throw error;
    },
  });
  const rounds = new Map(BATCH_SIZES.map((b) => [b, [] as { imagesPerS: number; p50: number; p95: number }[]]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const b of BATCH_SIZES) rounds.get(b)!.push(await measure(host, b, Math.max(16, 4 * b), rowOf));
    }
  } finally {
    await host.close();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  const out: Record<string, number> = {};
  const rows: string[] = [];
  for (const b of BATCH_SIZES) {
    const rs = rounds.get(b)!;
    const r = { imagesPerS: median(rs.map((x) => x.imagesPerS)), p50: median(rs.map((x) => x.p50)), p95: median(rs.map((x) => x.p95)) };
    const gain = r.imagesPerS / (out['runner.b1_images_per_s'] ?? r.imagesPerS);
    out[`runner.b${b}_images_per_s`] = r.imagesPerS;
    out[`runner.b${b}_p50_ms`] = r.p50;
    out[`runner.b${b}_p95_ms`] = r.p95;
    if (b > 1) out[`ratios.runner_batching_gain_b${b}`] = gain;
    rows.push(`| ${b} | ${r.imagesPerS.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${gain.toFixed(2)}x |`);
  }
  console.log(`\nGPU runner on CPU, aurora-tiny (${os.cpus().length} cores, onnxruntime-node, median of ${ROUNDS} interleaved rounds):\n`);
  console.log('| batch | images/s | p50 ms | p95 ms | gain vs b1 |\n|---|---|---|---|---|');
  console.log(rows.join('\n'));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runRunnerBench();
