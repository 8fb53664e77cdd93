/**
 * The model part of `npm run bench`: aurora-tiny and aurora-v1 (random weights, 64x64, CPU,
 * onnxruntime-node; tiny also in onnxruntime-web), this machine's MatMul peak, sparse vs dense
 * MoE, and what fp16 weights would cost in accuracy.
 *
 * Every measurement runs in its own child process (this file with --child <task>), so peak RSS
 * (process.resourceUsage().maxRSS) is per configuration and one session's idle spinning thread
 * pool never steals cycles from another. Times are medians over several runs after a warm-up.
 *
 * FLOPs per image come from a static count over the built graph (packages/model/src/flops):
 * shapes are inferred node by node from the graph inputs at batch 1; MatMul / Conv /
 * ConvTranspose count 2 FLOPs per multiply-add, elementwise ops 1 per element, softmax 5,
 * layer norm 8, data movement 0; the MoE's routed experts are charged for the tokens they get
 * (every token once). Constant subgraphs the runtime folds at load are excluded.
 *
 * aurora-v1's fp32 weights (4.67 GB) exceed protobuf's 2 GB limit, so the model is written with
 * external data (generator.onnx.data) to a temp dir and the session is created from the path.
 *
 *   tsx bench/model.ts [--skip-v1] [--v1-batches 1,2]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ortNode from 'onnxruntime-node';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { countFlops } from '../packages/model/src/flops/count.ts';
import { buildGenerator } from '../packages/model/src/generator/generator.ts';
import { toUint8Image } from '../packages/model/src/image/postprocess.ts';
import { feedForward } from '../packages/model/src/layers/feed-forward.ts';
import { Builder } from '../packages/model/src/onnx/builder.ts';
import { loadOrtWasm } from '../packages/model/src/node/ort-node.ts';
import { encodeModel } from '../packages/model/src/onnx/encode.ts';
import { Graph } from '../packages/model/src/onnx/graph.ts';
import { type ParamProvider, ParamRegistry, type ParamSpec } from '../packages/model/src/onnx/params.ts';
import { randomProvider, shapeOnlyProvider } from '../packages/model/src/onnx/providers.ts';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import type { InferenceSession, OrtModule, Tensor } from '../packages/model/src/runtime/ort-types.ts';
import { median, noise, syntheticBatch, timeRuns } from './common.ts';
import { fastRandomProvider } from './random-weights.ts';

const node = ortNode;
const web = await loadOrtWasm();

const SELF = fileURLToPath(import.meta.url);
const PEAK_N = 2048;
const MOE = { tokensSide: 32, channels: 256, experts: [4, 8, 16] };

// ---- helpers ---------------------------------------------------------------------------------

function shapeOf(preset: string) {
  const config = generatorPreset(preset);
  const built = buildGenerator(config, shapeOnlyProvider());
  const flops = countFlops(built.graph, { batch: 1, center_count: 1 });
  return {
    config,
    shape: { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers },
    params: built.params.parameterCount(),
    flops: flops.total,
  };
}

function rssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Rounds float32 values to the nearest float16 (ties to even) and back. */
function roundToHalf(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    const a = Math.abs(x);
    if (!Number.isFinite(x) || a === 0) {
      out[i] = x;
      continue;
    }
    if (a >= 65520) {
      out[i] = Math.sign(x) * Number.POSITIVE_INFINITY;
      continue;
    }
    // Spacing of half floats around a: 2^(e-10) for normals, 2^-24 for subnormals.
    const e = Math.max(Math.floor(Math.log2(a)), -14);
    const ulp = 2 ** (e - 10);
    const q = a / ulp;
    let r = Math.round(q);
    if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // ties to even
    out[i] = Math.sign(x) * r * ulp;
  }
  return out;
}

/** Child process runner: this file with --child <task> [args]; returns its RESULT json. */
function child(task: string, args: readonly string[] = [], timeoutMs = 15 * 60_000): Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child', task, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`bench child ${task} printed no result:\n${out}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
}

function log(message: string): void {
  process.stderr.write(`[bench:model] ${message}\n`);
}

// ---- child tasks -------------------------------------------------------------------------------

/** Peak: a plain [n x n] x [n x n] MatMul in onnxruntime-node (default session options). */
async function taskPeak(): Promise<Record<string, number>> {
  const g = new Graph('peak');
  const b = new Builder(g, new ParamRegistry(shapeOnlyProvider()));
  const a = g.addInput('a', 'float32', [PEAK_N, PEAK_N]);
  const c = g.addInput('b', 'float32', [PEAK_N, PEAK_N]);
  g.addOutput(b.matmul(a, c), 'y', 'float32', [PEAK_N, PEAK_N]);
  const session = await node.InferenceSession.create(encodeModel(g).model);
  const feeds = { a: new node.Tensor('float32', noise(PEAK_N * PEAK_N, 1), [PEAK_N, PEAK_N]), b: new node.Tensor('float32', noise(PEAK_N * PEAK_N, 2), [PEAK_N, PEAK_N]) };
  const times = await timeRuns(() => session.run(feeds), 10, 2);
  const flops = 2 * PEAK_N ** 3;
  return { peak_gflops: flops / (Math.min(...times) / 1e3) / 1e9, median_gflops: flops / (median(times) / 1e3) / 1e9 };
}

/** aurora-tiny, random weights, one runtime and batch size. */
async function taskTiny(runtime: 'node' | 'web', batch: number): Promise<Record<string, number>> {
  const info = shapeOf('aurora-tiny');
  const built = buildGenerator(info.config, randomProvider(1));
  const session = await GeneratorSession.create(runtime === 'node' ? node : web, encodeModel(built.graph).model, info.shape);
  const feeds = syntheticBatch(info.shape, batch);
  const runs = Math.max(3, Math.round((runtime === 'node' ? 24 : 8) / batch));
  const times = await timeRuns(() => session.run(feeds), runs, 2);
  return { ms_per_image: median(times) / batch, min_ms_per_image: Math.min(...times) / batch, peak_rss_mb: rssMb() };
}

/** fp16 weights: every parameter rounded to float16 and back, images compared with fp32 weights. */
async function taskFp16(): Promise<Record<string, number>> {
  const info = shapeOf('aurora-tiny');
  const base = randomProvider(1);
  const half: ParamProvider = { provide: (spec: ParamSpec) => roundToHalf(base.provide(spec)) };
  const batch = 8;
  const feeds = syntheticBatch(info.shape, batch);
  const images: Float32Array[] = [];
  for (const provider of [base, half]) {
    const built = buildGenerator(info.config, provider);
    const session = await GeneratorSession.create(node, encodeModel(built.graph).model, info.shape);
    images.push((await session.run(feeds)).image.data as Float32Array);
  }
  let maxErr = 0;
  let range = 0;
  for (let i = 0; i < images[0].length; i++) {
    maxErr = Math.max(maxErr, Math.abs(images[0][i] - images[1][i]));
    range = Math.max(range, Math.abs(images[0][i]));
  }
  const res = info.config.resolution;
  const shape = [batch, info.config.image_channels, res, res] as const;
  const [a, c] = images.map((im) => toUint8Image(im, shape));
  let same = 0;
  let total = 0;
  let maxU8 = 0;
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < a[n].length; i++) {
      const d = Math.abs(a[n][i] - c[n][i]);
      if (d === 0) same++;
      maxU8 = Math.max(maxU8, d);
      total++;
    }
  }
  return { max_abs_err: maxErr, max_abs_value: range, uint8_agreement: same / total, uint8_max_diff: maxU8 };
}

/** One FeedForward MoE layer on 32x32 tokens, sparse (routed) vs dense (all experts, then select). */
async function taskMoe(): Promise<Record<string, number>> {
  const { tokensSide: S, channels: C, experts } = MOE;
  const T = S * S;
  const wDim = 64;
  const out: Record<string, number> = {};
  const so: InferenceSession.SessionOptions = { extra: { session: { intra_op: { allow_spinning: '0' } } } };
  for (const E of experts) {
    const sessions: InferenceSession[] = [];
    for (const moe of ['sparse', 'dense'] as const) {
      const g = new Graph('moe');
      const b = new Builder(g, new ParamRegistry(randomProvider(5)));
      const x = g.addInput('x', 'float32', ['batch', T, C]);
      const w = g.addInput('w', 'float32', ['batch', wDim]);
      const y = feedForward(b.child('ff'), x, w, {
        channels: C, mlpRatio: 4, glu: false, numExperts: E, wDim, useWscale: true, wscaleGain: 1, lrMul: 1, height: S, width: S, moe,
      });
      g.addOutput(y, 'y', 'float32', ['batch', T, C]);
      sessions.push(await node.InferenceSession.create(encodeModel(g).model, so));
    }
    const feeds: Record<string, Tensor> = {
      x: new node.Tensor('float32', noise(T * C, 3), [1, T, C]),
      w: new node.Tensor('float32', noise(wDim, 4), [1, wDim]),
    };
    const results = await Promise.all(sessions.map(async (s) => (await s.run(feeds)).y.data as Float32Array));
    let diff = 0;
    for (let i = 0; i < results[0].length; i++) diff = Math.max(diff, Math.abs(results[0][i] - results[1][i]));
    const times: number[][] = [[], []];
    for (let r = 0; r < 7; r++) for (const [i, s] of sessions.entries()) times[i].push(...(await timeRuns(() => s.run(feeds), 1, 0)));
    out[`sparse_ms_e${E}`] = median(times[0]);
    out[`dense_ms_e${E}`] = median(times[1]);
    out[`max_abs_diff_e${E}`] = diff;
  }
  return out;
}

/** Writes `<dir>/generator.onnx` with every large initializer in `<dir>/generator.onnx.data`. */
function writeExternal(graph: Graph, dir: string): { modelBytes: number; dataBytes: number } {
  const { model, externalData, externalBytes } = encodeModel(graph, { external: { location: 'generator.onnx.data' } });
  fs.writeFileSync(path.join(dir, 'generator.onnx'), model);
  const fd = fs.openSync(path.join(dir, 'generator.onnx.data'), 'w');
  try {
    for (const chunk of externalData) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
  return { modelBytes: model.byteLength, dataBytes: externalBytes };
}

/** Builds aurora-v1 with random weights (printing progress) and writes it to dir. */
async function taskV1Build(dir: string): Promise<Record<string, number>> {
  const info = shapeOf('aurora-v1');
  const totalValues = buildGenerator(info.config, shapeOnlyProvider()).params.specs.reduce((s, p) => s + p.shape.reduce((a, c) => a * c, 1), 0);
  const base = fastRandomProvider(1);
  let done = 0;
  let lastLog = 0;
  const t0 = performance.now();
  const provider: ParamProvider = {
    provide(spec: ParamSpec) {
      const data = base.provide(spec);
      done += data.length;
      if (performance.now() - lastLog > 2000) {
        lastLog = performance.now();
        log(`aurora-v1 random weights: ${((100 * done) / totalValues).toFixed(0)}% (${(done / 1e6).toFixed(0)} M values, ${((performance.now() - t0) / 1e3).toFixed(0)} s)`);
      }
      return data;
    },
  };
  const built = buildGenerator(info.config, provider);
  const buildS = (performance.now() - t0) / 1e3;
  log(`aurora-v1 built in ${buildS.toFixed(1)} s; writing external data to ${dir}`);
  const t1 = performance.now();
  const { dataBytes } = writeExternal(built.graph, dir);
  const writeS = (performance.now() - t1) / 1e3;
  log(`aurora-v1 written: ${(dataBytes / 1e9).toFixed(2)} GB in ${writeS.toFixed(1)} s`);
  return { build_s: buildS, write_s: writeS, data_gb: dataBytes / 1e9, build_peak_rss_mb: rssMb() };
}

/**
 * aurora-v1 from its file: loading it takes ~35 s, so one child runs the batch sizes in turn. The
 * peak RSS of each batch is read before the next one runs (maxRSS is a high-water mark).
 */
async function taskV1Run(dir: string, batches: readonly number[]): Promise<Record<string, number>> {
  const info = shapeOf('aurora-v1');
  const t0 = performance.now();
  // The runtime-agnostic session takes model bytes; over 2 GB the model must load from its path.
  const fromFile: OrtModule = { Tensor: node.Tensor, InferenceSession: { create: () => ortNode.InferenceSession.create(path.join(dir, 'generator.onnx')) } };
  const gen = await GeneratorSession.create(fromFile, new Uint8Array(0), info.shape);
  const out: Record<string, number> = { load_s: (performance.now() - t0) / 1e3, load_rss_mb: rssMb() };
  log(`aurora-v1 session created in ${out.load_s.toFixed(1)} s, RSS ${out.load_rss_mb.toFixed(0)} MB`);
  for (const batch of batches) {
    const feeds = gen.feeds(syntheticBatch(info.shape, batch));
    const times = await timeRuns(() => gen.session.run(feeds, ['image']), batch === 1 ? 3 : 1, 1);
    out[`ms_per_image_b${batch}`] = median(times) / batch;
    out[`peak_rss_mb_b${batch}`] = rssMb();
    log(`aurora-v1 batch ${batch}: ${out[`ms_per_image_b${batch}`].toFixed(0)} ms/image`);
  }
  return out;
}

async function runChild(task: string, args: string[]): Promise<void> {
  let result: Record<string, number>;
  if (task === 'peak') result = await taskPeak();
  else if (task === 'tiny') result = await taskTiny(args[0] as 'node' | 'web', Number(args[1]));
  else if (task === 'fp16') result = await taskFp16();
  else if (task === 'moe') result = await taskMoe();
  else if (task === 'v1-build') result = await taskV1Build(args[0]);
  else if (task === 'v1-run') result = await taskV1Run(args[0], args[1].split(',').map(Number));
  else throw new Error(`unknown bench task ${task}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

// ---- parent ------------------------------------------------------------------------------------

export async function runModelBench(options: { v1?: boolean; v1Batches?: readonly number[] } = {}): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const rows: string[] = [];
  const row = (what: string, value: string, note = '') => rows.push(`| ${what} | ${value} | ${note} |`);
  const fmt = (x: number, digits = 2) => x.toFixed(digits);

  log('MatMul peak');
  const peak = child('peak');
  out.peak_gflops = peak.peak_gflops;

  const tiny = shapeOf('aurora-tiny');
  out['tiny.params'] = tiny.params;
  out['tiny.flops_per_image'] = tiny.flops;
  // Two interleaved rounds; each configuration keeps its faster round (the machine may be shared).
  const tinyRuns: Record<string, Record<string, number>> = {};
  for (let round = 0; round < 2; round++) {
    for (const [runtime, batch] of [['node', 1], ['node', 2], ['node', 8], ['web', 1], ['web', 2], ['web', 8]] as const) {
      log(`aurora-tiny ${runtime} batch ${batch} (round ${round + 1})`);
      const r = child('tiny', [runtime, String(batch)]);
      const key = `${runtime}${batch}`;
      if (!tinyRuns[key] || r.ms_per_image < tinyRuns[key].ms_per_image) tinyRuns[key] = r;
    }
  }
  out['tiny.node_ms_b1'] = tinyRuns.node1.ms_per_image;
  out['tiny.node_ms_b8'] = tinyRuns.node8.ms_per_image;
  out['tiny.wasm_ms_b1'] = tinyRuns.web1.ms_per_image;
  out['tiny.wasm_ms_b8'] = tinyRuns.web8.ms_per_image;
  out['tiny.node_ms_b2'] = tinyRuns.node2.ms_per_image;
  out['tiny.wasm_ms_b2'] = tinyRuns.web2.ms_per_image;
  out['tiny.node_peak_rss_mb_b8'] = tinyRuns.node8.peak_rss_mb;
  const gflops = (ms: number, flops: number) => flops / (ms / 1e3) / 1e9;
  out['tiny.node_gflops_b8'] = gflops(out['tiny.node_ms_b8'], tiny.flops);
  out['ratios.wasm_vs_node_b1'] = out['tiny.wasm_ms_b1'] / out['tiny.node_ms_b1'];
  out['ratios.fraction_of_peak_node_b8'] = out['tiny.node_gflops_b8'] / out.peak_gflops;

  log('fp16 weights');
  const fp16 = child('fp16');
  out['tiny.fp16_weight_max_abs_err'] = fp16.max_abs_err;
  out['tiny.fp16_weight_uint8_agreement'] = fp16.uint8_agreement;

  log('MoE sparse vs dense');
  const moe = child('moe');
  for (const E of MOE.experts) out[`ratios.moe_sparse_vs_dense_e${E}`] = moe[`sparse_ms_e${E}`] / moe[`dense_ms_e${E}`];

  row('MatMul peak (2048^3, onnxruntime-node)', `${fmt(out.peak_gflops, 1)} GFLOP/s`, `median ${fmt(peak.median_gflops, 1)}`);
  row('aurora-tiny parameters', tiny.params.toLocaleString('en-US'));
  row('aurora-tiny FLOPs / image', `${fmt(tiny.flops / 1e9, 3)} GFLOP`);
  for (const [key, label] of [['node1', 'node b1'], ['node2', 'node b2'], ['node8', 'node b8'], ['web1', 'wasm b1'], ['web2', 'wasm b2'], ['web8', 'wasm b8']] as const) {
    const r = tinyRuns[key];
    row(`aurora-tiny ${label}`, `${fmt(r.ms_per_image)} ms/image`, `${fmt(gflops(r.ms_per_image, tiny.flops), 1)} GFLOP/s, peak RSS ${fmt(r.peak_rss_mb, 0)} MB`);
  }
  row('wasm / node (b1)', `${fmt(out['ratios.wasm_vs_node_b1'])}x`);
  row('fraction of MatMul peak (tiny node b8)', fmt(out['ratios.fraction_of_peak_node_b8'], 3));
  row('fp16 weights: max abs image error', fp16.max_abs_err.toExponential(2), `images span +-${fmt(fp16.max_abs_value)}; uint8 samples equal ${fmt(100 * fp16.uint8_agreement, 2)}%, max diff ${fp16.uint8_max_diff}`);
  for (const E of MOE.experts) {
    row(`MoE ${MOE.tokensSide}x${MOE.tokensSide} tokens, ${MOE.channels} ch, E=${E}: sparse / dense`, `${fmt(out[`ratios.moe_sparse_vs_dense_e${E}`], 3)}`, `${fmt(moe[`sparse_ms_e${E}`])} vs ${fmt(moe[`dense_ms_e${E}`])} ms`);
  }

  if (options.v1 ?? true) {
    const v1 = shapeOf('aurora-v1');
    out['v1.params'] = v1.params;
    out['v1.flops_per_image'] = v1.flops;
    row('aurora-v1 parameters', v1.params.toLocaleString('en-US'));
    row('aurora-v1 FLOPs / image', `${fmt(v1.flops / 1e9, 1)} GFLOP`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-v1-bench-'));
    try {
      log('aurora-v1: building random weights (1.17 B parameters)');
      const build = child('v1-build', [dir]);
      out['v1.build_s'] = build.build_s;
      row('aurora-v1 random weights build / write', `${fmt(build.build_s, 1)} s / ${fmt(build.write_s, 1)} s`, `${fmt(build.data_gb)} GB external data, builder peak RSS ${fmt(build.build_peak_rss_mb, 0)} MB`);
      const batches = options.v1Batches ?? [1, 2];
      log(`aurora-v1 node batches ${batches.join(', ')}`);
      const r = child('v1-run', [dir, batches.join(',')]);
      out['v1.peak_rss_mb'] = r[`peak_rss_mb_b${batches[0]}`];
      out['v1.session_load_s'] = r.load_s;
      row('aurora-v1 session load', `${fmt(r.load_s, 1)} s`, `RSS after load ${fmt(r.load_rss_mb, 0)} MB`);
      for (const batch of batches) {
        const ms = r[`ms_per_image_b${batch}`];
        out[`v1.node_ms_b${batch}`] = ms;
        row(`aurora-v1 node b${batch}`, `${fmt(ms, 0)} ms/image`, `${fmt(gflops(ms, v1.flops), 1)} GFLOP/s, peak RSS ${fmt(r[`peak_rss_mb_b${batch}`], 0)} MB`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`\nModel (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}, fp32, random weights, 64x64):\n`);
  console.log('| metric | value | notes |\n|---|---|---|');
  console.log(rows.join('\n'));
  return out;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await runChild(argv[1], argv.slice(2));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const batchesArg = argv.indexOf('--v1-batches');
  await runModelBench({
    v1: !argv.includes('--skip-v1'),
    v1Batches: batchesArg >= 0 ? argv[batchesArg + 1].split(',').map(Number) : undefined,
  });
}
