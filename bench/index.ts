/**
 * `npm run bench`: every benchmark section in one run, then ONE markdown table on stdout (sections'
 * own tables and progress go to stderr) and bench/results.json (flat dotted keys such as
 * `tiny.node_ms_b1`, numbers of this run only). A few minutes on 2 cores; aurora-v1 (4.7 GB of
 * random fp32 weights, ~10 GB peak RSS) is most of it.
 *   npm run bench                         everything
 *   npm run bench -- --skip-v1            (or BENCH_SKIP_V1=1) without aurora-v1; its keys are
 *                                         carried from the previous results.json and named as such
 *   npm run bench -- --v1-batches 1,2     aurora-v1 batch sizes (default 1,2)
 *   npm run bench -- --only runner,gateway  some sections; merged into the previous results.json
 * Sections: model (bench/model.ts: MatMul peak, aurora-tiny node/WASM b1/b8, MoE, fp16, aurora-v1),
 * serving (bench/serving.ts: tiny b2, cold starts, gateway RSS and wasm heap), browser
 * (bench/browser.ts: WASM threads in Chromium), runner (bench/runner.ts), gateway (bench/gateway.ts),
 * eval (bench/eval.ts: `aurora eval` on BENCH_EVAL_BUNDLE or bundles/aurora-shapes; skipped without one).
 * gpu (bench/gpu.ts: aurora-tiny and aurora-v1 on the WebGPU provider, node placements, MoE
 * formulations; only where a WebGPU adapter exists, labelled when it is CPU-emulated).
 * size (bench/size.ts: the Worker's JS as wrangler bundles it, the embed script and its local chunk).
 * scale (bench/scale.ts: two Node gateways on one Postgres: cache hits/s through both, generations for
 * 40 concurrent identical misses across them; skipped without Postgres's server binaries).
 * batches (bench/batches.ts: interactive generation latency while a 2,000-image batch runs on the
 * same gateway, vs idle, and the batch's throughput beside it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { runBatchesBench } from './batches.ts';
import { runBrowserBench } from './browser.ts';
import { runEvalBench } from './eval.ts';
import { runGatewayBench } from './gateway.ts';
import { runGpuBench } from './gpu.ts';
import { runModelBench } from './model.ts';
import { derive, type Results, renderReport, writeResults } from './report.ts';
import { runRunnerBench } from './runner.ts';
import { runScaleBench } from './scale.ts';
import { runServingBench } from './serving.ts';
import { runSizeBench } from './size.ts';

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results.json');
const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const skipV1 = argv.includes('--skip-v1') || process.env.BENCH_SKIP_V1 === '1';
const v1Batches = arg('--v1-batches')?.split(',').map(Number);
const only = arg('--only')?.split(',');

// The gateways the sections start must not rate-limit the benchmark's own cache misses.
process.env.ANON_RPM ??= '0';

const notes: Record<string, string> = {};
const sections: { name: string; run: () => Promise<Results> }[] = [
  { name: 'model', run: () => runModelBench({ v1: !skipV1, v1Batches }) },
  { name: 'serving', run: () => runServingBench({ tinyBatch2: results['tiny.node_ms_b2'] === undefined }) },
  {
    name: 'browser',
    run: async () => {
      const { results, note } = await runBrowserBench();
      notes.browser = note;
      return results;
    },
  },
  { name: 'runner', run: runRunnerBench },
  {
    // Whenever a WebGPU adapter exists; a CPU-emulated one (lavapipe) is labelled and skips aurora-v1.
    name: 'gpu',
    run: async () => {
      const gpu = await runGpuBench({ provider: 'webgpu', models: skipV1 ? ['tiny'] : ['tiny', 'v1'], batches: [1, 8] });
      if (!gpu) {
        notes.gpu_adapter = 'no WebGPU adapter';
        return {};
      }
      notes.gpu_adapter = gpu.notes['gpu.adapter'];
      return gpu.results;
    },
  },
  { name: 'gateway', run: runGatewayBench },
  { name: 'eval', run: runEvalBench },
  { name: 'size', run: runSizeBench },
  { name: 'scale', run: runScaleBench },
  { name: 'batches', run: runBatchesBench },
];

const previous: Results = fs.existsSync(RESULTS) ? JSON.parse(fs.readFileSync(RESULTS, 'utf8')) : {};
const results: Results = only ? { ...previous } : {};
const failures: Record<string, string> = {};
const started = performance.now();

// Sections print their own tables and progress: keep stdout for the one report.
const stdoutLog = console.log;
console.log = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);
try {
  for (const section of sections) {
    if (only && !only.includes(section.name)) continue;
    const t0 = performance.now();
    process.stderr.write(`\n== bench section ${section.name}\n`);
    try {
      Object.assign(results, await section.run());
    } catch (error) {
      failures[section.name] = (error as Error).message.split('\n')[0];
      process.stderr.write(`${(error as Error).stack ?? error}\n`);
    }
    process.stderr.write(`== ${section.name}: ${((performance.now() - t0) / 1e3).toFixed(0)} s\n`);
  }
} finally {
  console.log = stdoutLog;
}

const carried: string[] = [];
if (skipV1 && !only) {
  for (const [key, value] of Object.entries(previous)) {
    if (key.startsWith('v1.') || key === 'ratios.v1_speedup_vs_pytorch_b1' || key === 'ratios.fraction_of_peak_v1_b1') {
      results[key] = value;
      carried.push(key);
    }
  }
  if (carried.length) results['run.v1_carried_from_previous_run'] = 1;
}
Object.assign(results, derive(results));
const seconds = (performance.now() - started) / 1e3;
results['run.seconds'] = Math.round(seconds);
results['run.unix_ms'] = Date.now();
// gpu.adapter names the device the gpu.* numbers came from; kept from the previous file when the gpu section did not run.
const previousAdapter = (previous as Record<string, unknown>)['gpu.adapter'];
const gpuAdapter = notes.gpu_adapter ?? (results['gpu.cpu_emulated'] !== undefined && typeof previousAdapter === 'string' ? previousAdapter : undefined);
writeResults(RESULTS, results, gpuAdapter ? { 'gpu.adapter': gpuAdapter } : {});
if (gpuAdapter) notes.gpu_adapter = gpuAdapter;
console.log(renderReport(results, { notes, failures, carried: carried.filter((k) => k.startsWith('v1.node_ms')), seconds }));
console.log(`wrote ${path.relative(process.cwd(), RESULTS)}`);
if (Object.keys(failures).length) process.exitCode = 1;
