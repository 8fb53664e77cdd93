/**
 * `npm run bench`'s output: ONE markdown table over every section's numbers (flat dotted keys, as
 * in bench/results.json), with the issue's goals checked where they apply, plus the results file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

export type Results = Record<string, number>;

/** The issue's goals (not test thresholds): key, comparison, target, wording. */
export const GOALS = [
  { key: 'ratios.wasm_vs_node_b1', max: 1.5, text: 'WASM within 1.5x of native' },
  { key: 'ratios.fraction_of_peak_node_b8', min: 0.4, text: '>= 40% of MatMul peak at batch 8' },
  { key: 'ratios.runner_batching_gain_b8', min: 3, text: 'batching gain >= 3x' },
  { key: 'ratios.cache_hit_vs_bare_route', min: 0.5, text: 'cache hits >= 50% of a bare route' },
  { key: 'v1.node_ms_b1', max: 10_000, text: 'aurora-v1 <= 10 s per image on this CPU' },
] as const;

/** The original PyTorch code on this 2-core machine, batch 1 (from the issue). */
export const PYTORCH_V1_MS = 94_000;

const num = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? undefined : x.toFixed(digits));
const int = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? undefined : Math.round(x).toLocaleString('en-US'));

function goalNote(r: Results, key: string): string {
  const goal = GOALS.find((g) => g.key === key);
  const value = r[key];
  if (!goal || value === undefined) return '';
  const met = 'max' in goal ? value <= goal.max : value >= goal.min;
  return `goal: ${goal.text} (${met ? 'met' : 'not met'})`;
}

/** Derived numbers that belong in the results file too. */
export function derive(r: Results): Results {
  const out: Results = {};
  const flops = r['tiny.flops_per_image'];
  for (const rt of ['node', 'wasm'] as const) {
    for (const b of [1, 2, 8]) {
      const ms = r[`tiny.${rt}_ms_b${b}`];
      if (ms === undefined || flops === undefined) continue;
      out[`tiny.${rt}_gflops_b${b}`] = flops / (ms / 1e3) / 1e9;
      if (r.peak_gflops) out[`ratios.fraction_of_peak_${rt}_b${b}`] = out[`tiny.${rt}_gflops_b${b}`] / r.peak_gflops;
    }
  }
  if (r['tiny.wasm_ms_b8'] !== undefined && r['tiny.node_ms_b8'] !== undefined) out['ratios.wasm_vs_node_b8'] = r['tiny.wasm_ms_b8'] / r['tiny.node_ms_b8'];
  if (r['tiny.node_ms_b1'] !== undefined && r['tiny.node_ms_b8'] !== undefined)
    out['ratios.node_batching_gain_b8'] = r['tiny.node_ms_b1'] / r['tiny.node_ms_b8'];
  if (r['v1.node_ms_b1'] !== undefined) out['ratios.v1_speedup_vs_pytorch_b1'] = PYTORCH_V1_MS / r['v1.node_ms_b1'];
  if (r['v1.node_ms_b1'] !== undefined && r['v1.flops_per_image'] !== undefined) {
    out['v1.node_gflops_b1'] = r['v1.flops_per_image'] / (r['v1.node_ms_b1'] / 1e3) / 1e9;
    if (r.peak_gflops) out['ratios.fraction_of_peak_v1_b1'] = out['v1.node_gflops_b1'] / r.peak_gflops;
  }
  return out;
}

export interface ReportContext {
  readonly notes: Record<string, string>;
  readonly failures: Record<string, string>;
  readonly carried: readonly string[];
  readonly seconds: number;
}

/** The one markdown table (plus a heading line naming the machine). */
export function renderReport(r: Results, ctx: ReportContext): string {
  const rows: [string, string, string | undefined, string][] = [];
  const row = (area: string, metric: string, value: string | undefined, note = '') => rows.push([area, metric, value, note]);
  const ms = (x: number | undefined, digits = 1) => (num(x, digits) === undefined ? undefined : `${num(x, digits)} ms`);
  const perImage = (x: number | undefined) => (num(x, 2) === undefined ? undefined : `${num(x, 2)} ms/image`);
  const gf = (key: string) => (r[key] === undefined ? '' : `${num(r[key])} GFLOP/s`);
  const pct = (x: number | undefined) => (x === undefined ? '' : `${(100 * x).toFixed(0)}% of peak`);
  const ratio = (x: number | undefined, digits = 2) => (num(x, digits) === undefined ? undefined : `${num(x, digits)}x`);

  row(
    'model',
    'MatMul peak (onnxruntime-node, 2048x2048 fp32)',
    num(r.peak_gflops) && `${num(r.peak_gflops)} GFLOP/s`,
    'best of 10 runs, same run as everything below',
  );
  row(
    'model',
    'aurora-tiny FLOPs / image',
    num(r['tiny.flops_per_image'] / 1e9, 3) && `${num(r['tiny.flops_per_image'] / 1e9, 3)} GFLOP`,
    `${int(r['tiny.params']) ?? '?'} generator parameters`,
  );
  for (const b of [1, 2, 8]) {
    row(
      'model',
      `aurora-tiny, onnxruntime-node CPU, batch ${b}`,
      perImage(r[`tiny.node_ms_b${b}`]),
      [gf(`tiny.node_gflops_b${b}`), pct(r[`ratios.fraction_of_peak_node_b${b}`])].filter(Boolean).join(', '),
    );
  }
  for (const b of [1, 2, 8]) {
    row('model', `aurora-tiny, onnxruntime-web WASM SIMD (Node, 1 thread), batch ${b}`, perImage(r[`tiny.wasm_ms_b${b}`]), gf(`tiny.wasm_gflops_b${b}`));
  }
  if (r['browser.wasm_1t_ms_b1'] !== undefined) {
    for (const b of [1, 8]) {
      row('model', `aurora-tiny, WASM SIMD in Chromium, 1 thread, batch ${b}`, perImage(r[`browser.wasm_1t_ms_b${b}`]));
      row(
        'model',
        `aurora-tiny, WASM SIMD in Chromium, ${r['browser.cores'] ?? 'all'} threads (all cores), batch ${b}`,
        perImage(r[`browser.wasm_all_ms_b${b}`]),
        ratio(r[`ratios.wasm_threads_speedup_b${b}`]) ? `${ratio(r[`ratios.wasm_threads_speedup_b${b}`])} vs 1 thread` : '',
      );
    }
  } else {
    row('model', 'aurora-tiny, WASM SIMD with threads', 'n/a', ctx.notes.browser ?? 'not measured');
  }
  row('model', 'WASM / native, batch 1', ratio(r['ratios.wasm_vs_node_b1']), goalNote(r, 'ratios.wasm_vs_node_b1'));
  row('model', 'WASM / native, batch 8', ratio(r['ratios.wasm_vs_node_b8']));
  row('model', 'fraction of MatMul peak, node batch 8', num(r['ratios.fraction_of_peak_node_b8'], 3), goalNote(r, 'ratios.fraction_of_peak_node_b8'));
  for (const e of [4, 8, 16]) {
    row(
      'model',
      `MoE layer sparse / dense time, ${e} experts`,
      num(r[`ratios.moe_sparse_vs_dense_e${e}`], 3),
      e === 16 ? '32x32 tokens, 256 channels; < 1: routing only to the chosen experts pays' : '',
    );
  }
  if (r['tiny.fp16_weight_max_abs_err'] !== undefined) {
    row(
      'model',
      'fp16 weights: max abs image error vs fp32',
      num(r['tiny.fp16_weight_max_abs_err'], 3),
      r['tiny.fp16_weight_uint8_agreement'] === undefined
        ? ''
        : `${(100 * r['tiny.fp16_weight_uint8_agreement']).toFixed(1)}% of uint8 samples equal: fp32 stays`,
    );
  }
  row(
    'aurora-v1',
    'parameters / FLOPs per 64x64 image',
    r['v1.params'] === undefined ? undefined : `${int(r['v1.params'])} / ${num(r['v1.flops_per_image'] / 1e9, 0)} GFLOP`,
    'random weights (4.7 GB fp32, external data)',
  );
  row(
    'aurora-v1',
    'onnxruntime-node CPU, batch 1',
    ms(r['v1.node_ms_b1'], 0),
    [
      goalNote(r, 'v1.node_ms_b1'),
      ratio(r['ratios.v1_speedup_vs_pytorch_b1'], 1) && `${ratio(r['ratios.v1_speedup_vs_pytorch_b1'], 1)} faster than PyTorch's ~94 s`,
      gf('v1.node_gflops_b1'),
    ]
      .filter(Boolean)
      .join('; '),
  );
  if (r['v1.node_ms_b2'] !== undefined) row('aurora-v1', 'onnxruntime-node CPU, batch 2', perImage(r['v1.node_ms_b2']));
  row(
    'aurora-v1',
    'session load / peak RSS',
    r['v1.session_load_s'] === undefined ? undefined : `${num(r['v1.session_load_s'])} s / ${int(r['v1.peak_rss_mb'])} MB`,
  );
  for (const b of [1, 2, 4, 8, 16]) {
    const ips = r[`runner.b${b}_images_per_s`];
    if (ips === undefined) continue;
    row(
      'runner',
      `GPU runner on CPU, batch ${b} (batcher + model worker)`,
      `${num(ips)} images/s`,
      `p50 ${num(r[`runner.b${b}_p50_ms`])} ms, p95 ${num(r[`runner.b${b}_p95_ms`])} ms`,
    );
  }
  row('runner', 'batching gain, batch 8 vs 1', ratio(r['ratios.runner_batching_gain_b8']), goalNote(r, 'ratios.runner_batching_gain_b8'));
  row(
    'gateway',
    'cache hit, POST /v1/images/generations',
    num(r['gateway.cache_hit_rps'], 0) && `${num(r['gateway.cache_hit_rps'], 0)} req/s`,
    `p50 ${num(r['gateway.cache_hit_p50_ms'], 2)} ms, p99 ${num(r['gateway.cache_hit_p99_ms'], 2)} ms`,
  );
  row(
    'gateway',
    'bare Hono route, constant PNG',
    num(r['gateway.bare_rps'], 0) && `${num(r['gateway.bare_rps'], 0)} req/s`,
    `p50 ${num(r['gateway.bare_p50_ms'], 2)} ms, p99 ${num(r['gateway.bare_p99_ms'], 2)} ms`,
  );
  row('gateway', 'cache hit / bare route (req/s)', num(r['ratios.cache_hit_vs_bare_route'], 2), goalNote(r, 'ratios.cache_hit_vs_bare_route'));
  row(
    'gateway',
    'cache hit p99 while WASM misses run / idle p99',
    num(r['ratios.cache_hit_p99_busy_vs_idle'], 2) && `${num(r['ratios.cache_hit_p99_busy_vs_idle'], 2)}x`,
    r['gateway.cache_hit_busy_p99_ms'] === undefined
      ? undefined
      : `p99 ${num(r['gateway.cache_hit_busy_p99_ms'], 2)} ms busy vs ${num(r['gateway.cache_hit_p99_ms'], 2)} ms idle; ${num(r['gateway.cache_hit_busy_rps'], 0)} req/s; WASM in a worker thread`,
  );
  row(
    'scale',
    'cache hit, 2 gateways on one Postgres',
    num(r['scale.two_gateways_hit_rps'], 0) && `${num(r['scale.two_gateways_hit_rps'], 0)} req/s`,
    'both loaded at once, 10 connections each, summed',
  );
  row(
    'scale',
    '40 identical concurrent misses across 2 gateways',
    num(r['scale.coalesced_generations'], 0) && `${num(r['scale.coalesced_generations'], 0)} generation(s)`,
    'goal 1: single flight across gateways (Postgres claims)',
  );
  row(
    'batches',
    'interactive p99 while a 2,000-image batch runs / idle p99',
    num(r['batches.interactive_p99_ratio'], 2) && `${num(r['batches.interactive_p99_ratio'], 2)}x`,
    r['batches.interactive_p99_idle_ms'] === undefined
      ? undefined
      : `p99 ${num(r['batches.interactive_p99_busy_ms'], 0)} ms busy vs ${num(r['batches.interactive_p99_idle_ms'], 0)} ms idle; batch ${num(r['batches.images_per_s'], 1)} images/s beside it (WASM, BATCH_MAX_RUNNING 4)`,
  );
  row(
    'size',
    "Worker's JS, as wrangler deploy bundles it (minified)",
    num(r['size.worker_js_kb'], 1) && `${num(r['size.worker_js_kb'], 1)} KB`,
    r['size.worker_js_gzip_kb'] === undefined
      ? undefined
      : `${num(r['size.worker_js_gzip_kb'], 1)} KB gzipped; plus ${num(r['size.worker_wasm_kb'], 0)} KB of onnxruntime-web wasm`,
  );
  row(
    'size',
    '<aurora-image> local-mode chunk (minified)',
    num(r['size.embed_local_kb'], 1) && `${num(r['size.embed_local_kb'], 1)} KB`,
    r['size.embed_local_gzip_kb'] === undefined
      ? undefined
      : `${num(r['size.embed_local_gzip_kb'], 1)} KB gzipped; embed.js itself ${num(r['size.embed_js_kb'], 1)} KB`,
  );
  row('gateway', 'GET /v1/images/{id}.png (cached)', num(r['gateway.image_get_rps'], 0) && `${num(r['gateway.image_get_rps'], 0)} req/s`);
  row(
    'gateway',
    'cache miss in WASM, n=1..2',
    perImage(r['gateway.wasm_miss_ms_per_image']),
    'through the whole app: text encoder, centre latents, generator, PNG, SQLite write',
  );
  row(
    'cold start',
    'gateway: spawn -> listening',
    ms(r['cold.gateway_ready_ms'], 0),
    'SQLite + migrations, onnxruntime-web and aurora-tiny loaded, embed built',
  );
  row('cold start', 'gateway: spawn -> first image (a cache miss)', ms(r['cold.gateway_first_image_ms'], 0));
  for (const rt of ['wasm', 'node'] as const) {
    row(
      'cold start',
      `new process -> first image, ${rt === 'wasm' ? 'onnxruntime-web' : 'onnxruntime-node'}`,
      ms(r[`cold.${rt}_first_image_ms`], 0),
      r[`cold.${rt}_bundle_load_ms`] === undefined
        ? ''
        : `process + imports ${num(r[`cold.${rt}_process_and_imports_ms`], 0)} ms, bundle load ${num(r[`cold.${rt}_bundle_load_ms`], 0)} ms, first image ${num(r[`cold.${rt}_first_generate_ms`], 0)} ms, second ${num(r[`cold.${rt}_second_generate_ms`], 0)} ms`,
    );
  }
  row(
    'memory',
    'gateway peak RSS, aurora-tiny loaded',
    r['gateway.peak_rss_mb'] === undefined ? undefined : `${num(r['gateway.peak_rss_mb'], 0)} MB`,
    `after 40 misses, 500 hits and 100 PNG GETs; RSS now ${num(r['gateway.rss_mb'], 0)} MB (Node + tsx included)`,
  );
  row(
    'memory',
    'wasm heap, in-process generator',
    r['gateway.wasm_heap_mb'] === undefined ? undefined : `${num(r['gateway.wasm_heap_mb'], 0)} MiB`,
    'GET /healthz wasm_heap_bytes; Workers allow 128 MB per isolate',
  );
  row(
    'memory',
    'onnxruntime-node process, aurora-tiny batch 8',
    r['tiny.node_peak_rss_mb_b8'] === undefined ? undefined : `${num(r['tiny.node_peak_rss_mb_b8'], 0)} MB`,
    'peak RSS',
  );
  const pctOf = (key: string) => (r[key] === undefined ? undefined : `${(100 * r[key]).toFixed(1)}%`);
  const evalNote =
    r['eval.seeds'] === undefined
      ? 'no aurora-shapes bundle (BENCH_EVAL_BUNDLE or bundles/aurora-shapes)'
      : `aurora eval, ${r['eval.seeds']} seeds x 24 prompts`;
  row('eval', 'aurora-shapes colour accuracy, "a {colour} {shape}"', pctOf('eval.colour_acc'), evalNote);
  row('eval', 'aurora-shapes shape accuracy', pctOf('eval.shape_acc'));
  row('eval', 'aurora-shapes held-out pairs, colour and shape right', pctOf('eval.heldout_acc'), 'pairs never rendered in training');
  row('eval', "aurora-shapes diversity across seeds / the data's", num(r['eval.diversity'], 2), '1 = as diverse as the world, 0 = mode collapse');

  if (r['gpu.cpu_emulated'] !== undefined) {
    // bench/gpu.ts: the adapter's description is a note (results.json holds numbers).
    const emulated = r['gpu.cpu_emulated'] === 1;
    const claim = emulated ? 'CPU-emulated adapter: correctness only, no speed claim' : '';
    row('gpu', 'adapter', ctx.notes.gpu_adapter ?? 'webgpu', emulated ? 'CPU-emulated (lavapipe/SwiftShader): tests only' : 'real GPU');
    row(
      'gpu',
      'generator + text encoder nodes on the CPU (fallbacks)',
      `${r['gpu.fallback_nodes'] ?? '?'} + ${r['gpu.text_encoder_fallback_nodes'] ?? '?'}`,
      `memcpy ${r['gpu.memcpy_nodes'] ?? '?'}; sparse MoE graph: ${r['gpu.fallback_nodes_sparse'] ?? '?'} fallbacks`,
    );
    for (const b of [1, 8, 32]) {
      if (r[`gpu.tiny_ms_b${b}`] !== undefined)
        row(
          'gpu',
          `aurora-tiny, webgpu, batch ${b}`,
          perImage(r[`gpu.tiny_ms_b${b}`]),
          claim || `vs cpu: ${(100 * (r[`gpu.tiny_parity_identical_b${b}`] ?? 0)).toFixed(3)}% uint8 identical`,
        );
    }
    for (const b of [1, 8, 32]) {
      if (r[`gpu.v1_ms_b${b}`] !== undefined) row('gpu', `aurora-v1, webgpu, batch ${b}`, perImage(r[`gpu.v1_ms_b${b}`]));
    }
    for (const e of ['e4', 'e8', 'e16', 'v1_64']) {
      const cells = ['sparse', 'dense', 'grouped']
        .filter((m) => r[`gpu.moe_${m}_ms_${e}`] !== undefined)
        .map((m) => `${m} ${num(r[`gpu.moe_${m}_ms_${e}`], 2)}`);
      if (cells.length)
        row('gpu', `MoE layer ms, ${e === 'v1_64' ? "aurora-v1's 64x64 layer" : `32x32 tokens, 256 ch, ${e.slice(1)} experts`}`, cells.join(' / '), claim);
    }
  }

  const cpu = os.cpus();
  const head = [
    `Aurora Edge benchmarks: ${cpu.length} cores (${cpu[0]?.model ?? 'cpu'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, onnxruntime 1.30, ${new Date().toISOString().slice(0, 10)}; ${Math.round(ctx.seconds)} s in all.`,
    'Shared machine: numbers are medians (or best rounds) of interleaved runs; compare ratios within one run.',
  ];
  if (ctx.carried.length) head.push(`Not measured in this run (carried from an earlier one): ${ctx.carried.join(', ')}.`);
  for (const [section, message] of Object.entries(ctx.failures)) head.push(`FAILED section ${section}: ${message}`);
  const lines = ['| area | metric | value | notes |', '|---|---|---|---|'];
  for (const [area, metric, value, note] of rows) lines.push(`| ${area} | ${metric} | ${value ?? 'n/a'} | ${note} |`);
  return `${head.join('\n')}\n\n${lines.join('\n')}\n`;
}

/** Writes the results, keys sorted. */
/** Numbers, plus the few descriptions a number needs (`gpu.adapter`: what the gpu.* keys ran on). */
export function writeResults(file: string, r: Results, descriptions: Record<string, string> = {}): void {
  const clean = Object.fromEntries(
    [...Object.entries(r).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)), ...Object.entries(descriptions)].sort(([a], [b]) =>
      a.localeCompare(b),
    ),
  );
  fs.writeFileSync(file, `${JSON.stringify(clean, null, 2)}\n`);
}
