/**
 * The GPU part of `npm run bench`: aurora-tiny and aurora-v1 (random weights) on a GPU execution
 * provider (webgpu by default), node placements (how many nodes fall back to the CPU), every MoE
 * formulation end to end and as one layer, and parity of the images with the CPU provider.
 *
 * One entry file that also runs on a machine with nothing but Node and onnxruntime-node (the lead's
 * GPU box): bundle it and put onnxruntime-node (+ onnxruntime-common) in a node_modules beside it:
 *   npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --external:onnxruntime-node \
 *     --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
 *     --outfile=gpu-bench.mjs
 *   node gpu-bench.mjs [--provider webgpu] [--models tiny,v1] [--batches 1,8,32] [--moe sparse,dense,grouped]
 *                      [--v1-moe grouped,sparse] [--runs N] [--json out.json] [--force-v1] [--v1-placements]
 * or here: npx tsx bench/gpu.ts ...
 *
 * A CPU-emulated adapter (lavapipe, SwiftShader) is labelled as such: correctness only, no speed
 * claim, and aurora-v1 is skipped there unless --force-v1. Keys without a formulation name are the
 * one the provider runs from a bundle (generatorGraphFor: grouped on GPUs, sparse on the CPU);
 * `_sparse`, `_dense`, `_grouped` name the others. aurora-v1 is built once per formulation (~5 GB
 * each, written to a temp folder): by default only the shipped one (--v1-moe for more). Every
 * result is written to --json as
 * soon as it exists, so a run cut short still leaves what it measured; one failing configuration
 * (e.g. a buffer past the adapter's limits at batch 32) is recorded and the rest still run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import ortNode from 'onnxruntime-node';
import { buildTinyBundle } from '../packages/model/src/bundle/aurora-tiny.ts';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { buildGenerator } from '../packages/model/src/generator/generator.ts';
import { synthesisLayout } from '../packages/model/src/generator/layout.ts';
import { toUint8Image } from '../packages/model/src/image/postprocess.ts';
import { feedForward, MOE_MODES, type MoeMode } from '../packages/model/src/layers/feed-forward.ts';
import {
  describeProvider,
  type ExecutionProvider,
  generatorGraphFor,
  probeWebGpu,
  type ResolvedProvider,
  resolveExecutionProvider,
  sessionOptionsFor,
} from '../packages/model/src/node/execution-providers.ts';
import { writeBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { writeExternalModel } from '../packages/model/src/node/graph-session.ts';
import { reportPlacements, summarizeFallback } from '../packages/model/src/node/placements.ts';
import { Builder } from '../packages/model/src/onnx/builder.ts';
import { encodeModel } from '../packages/model/src/onnx/encode.ts';
import { Graph } from '../packages/model/src/onnx/graph.ts';
import { ParamRegistry } from '../packages/model/src/onnx/params.ts';
import { randomProvider, sharedProvider } from '../packages/model/src/onnx/providers.ts';
import { GeneratorSession, type GeneratorShape } from '../packages/model/src/runtime/generator-session.ts';
import type { InferenceSession, Tensor } from '../packages/model/src/runtime/ort-types.ts';
import { median, noise, syntheticBatch, timeRuns } from './common.ts';
import { fastRandomProvider } from './random-weights.ts';

const ort = ortNode;

/** The formulation a provider runs from a bundle: the GPU graph's grouped MoE, or the sparse one on the CPU. */
export function shippedMoe(provider: ExecutionProvider): MoeMode {
  return generatorGraphFor(provider) === 'gpu' ? 'grouped' : 'sparse';
}

export interface GpuBenchOptions {
  readonly provider?: ExecutionProvider;
  readonly models?: readonly ('tiny' | 'v1')[];
  readonly batches?: readonly number[];
  readonly moe?: readonly MoeMode[];
  /** Formulations of aurora-v1 to build and time (default: the shipped one). */
  readonly v1Moe?: readonly MoeMode[];
  /** Also report aurora-v1's placements (one more session load of 5 GB). */
  readonly v1Placements?: boolean;
  /** Timed runs per configuration (after warm-up); default by model and batch. */
  readonly runs?: number;
  readonly json?: string;
  readonly forceV1?: boolean;
}

export interface GpuBenchResult {
  /** Flat dotted keys, numbers (bench/results.json). */
  readonly results: Record<string, number>;
  /** gpu.adapter and other descriptions. */
  readonly notes: Record<string, string>;
  readonly rows: string[];
}

function log(message: string): void {
  process.stderr.write(`[bench:gpu] ${message}\n`);
}

/** uint8 agreement of two raw image batches (the project's parity bound: >= 99.9% identical, max 1). */
function parity(a: Float32Array, b: Float32Array, dims: readonly [number, number, number, number]): { identical: number; maxDiff: number } {
  const [ua, ub] = [toUint8Image(a, dims), toUint8Image(b, dims)];
  let same = 0;
  let total = 0;
  let maxDiff = 0;
  for (let n = 0; n < ua.length; n++) {
    for (let i = 0; i < ua[n].length; i++) {
      const d = Math.abs(ua[n][i] - ub[n][i]);
      if (d === 0) same++;
      maxDiff = Math.max(maxDiff, d);
      total++;
    }
  }
  return { identical: same / total, maxDiff };
}

export async function runGpuBench(options: GpuBenchOptions = {}): Promise<GpuBenchResult | null> {
  const provider = options.provider ?? 'webgpu';
  const results: Record<string, number> = {};
  const notes: Record<string, string> = {};
  const rows: string[] = [];
  const row = (what: string, value: string, note = '') => rows.push(`| ${what} | ${value} | ${note} |`);
  const save = () => {
    if (options.json) fs.writeFileSync(options.json, `${JSON.stringify({ ...notes, ...results }, null, 2)}\n`);
  };

  let resolved: ResolvedProvider;
  if (provider === 'webgpu') {
    const probe = await probeWebGpu();
    if (!probe.ok) {
      log(`NO GPU SECTION: no WebGPU adapter here (${probe.reason})`);
      return null;
    }
    resolved = { provider, adapter: probe.adapter, skipped: [] };
  } else {
    resolved = await resolveExecutionProvider(ort, provider);
  }
  const emulated = resolved.adapter?.cpuEmulated ?? false;
  notes['gpu.adapter'] = describeProvider(resolved);
  results['gpu.cpu_emulated'] = emulated ? 1 : 0;
  const label = emulated ? ' (CPU-emulated adapter: correctness only, no speed claim)' : '';
  log(`provider ${notes['gpu.adapter']}${label}`);
  save();
  const sessionOptions = sessionOptionsFor(provider);
  const batches = options.batches ?? [1, 8];
  const modes = options.moe ?? MOE_MODES;
  const shipped = shippedMoe(provider);
  const suffix = (moe: MoeMode) => (moe === shipped ? '' : `_${moe}`);
  notes['gpu.moe'] = `${shipped} (what ${provider} runs from a bundle)`;
  const models = options.models ?? ['tiny', 'v1'];

  // ---- aurora-tiny: placements, timings, parity with the CPU provider, per MoE formulation ----
  if (models.includes('tiny')) {
    const config = generatorPreset('aurora-tiny');
    for (const moe of modes) {
      const built = buildGenerator(config, randomProvider(1), { moe });
      const shape: GeneratorShape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
      const model = encodeModel(built.graph).model;
      const placed = await reportPlacements(model, provider);
      const key = suffix(moe);
      results[`gpu.fallback_nodes${key}`] = placed.fallback.length;
      results[`gpu.memcpy_nodes${key}`] = placed.memcpy;
      results[`gpu.tiny_nodes${key}`] = placed.total;
      notes[`gpu.fallback${key}`] = summarizeFallback(placed.fallback) || 'none';
      log(`aurora-tiny moe=${moe}: ${placed.total} nodes, ${placed.fallback.length} on the CPU (${notes[`gpu.fallback${key}`]}), ${placed.memcpy} memcpy`);
      row(`aurora-tiny MoE ${moe}: nodes off ${provider}`, `${placed.fallback.length} of ${placed.total}`, `${placed.memcpy} memcpy; ${notes[`gpu.fallback${key}`]}`);
      const gpu = await GeneratorSession.create(ort, model, shape, sessionOptions);
      const cpu = await GeneratorSession.create(ort, model, shape, sessionOptionsFor('cpu'));
      for (const batch of batches) {
        const feeds = syntheticBatch(shape, batch);
        try {
          const [a, b] = [await gpu.run(feeds), await cpu.run(feeds)];
          const p = parity(a.image.data as Float32Array, b.image.data as Float32Array, a.image.dims as [number, number, number, number]);
          const runs = options.runs ?? (emulated ? 2 : Math.max(3, Math.round(32 / batch)));
          const times = await timeRuns(() => gpu.run(feeds), runs, 1);
          const ms = median(times) / batch;
          results[`gpu.tiny${key}_ms_b${batch}`] = ms;
          results[`gpu.tiny${key}_parity_identical_b${batch}`] = p.identical;
          results[`gpu.tiny${key}_parity_max_diff_b${batch}`] = p.maxDiff;
          log(`aurora-tiny moe=${moe} batch ${batch}: ${ms.toFixed(2)} ms/image; vs cpu ${(100 * p.identical).toFixed(4)}% uint8 identical, max diff ${p.maxDiff}`);
          row(`aurora-tiny ${provider} MoE ${moe}, batch ${batch}`, `${ms.toFixed(2)} ms/image${label ? ' (emulated)' : ''}`, `vs cpu: ${(100 * p.identical).toFixed(3)}% uint8 identical, max diff ${p.maxDiff}`);
        } catch (error) {
          notes[`gpu.tiny${key}_error_b${batch}`] = (error as Error).message.split('\n')[0];
          log(`aurora-tiny moe=${moe} batch ${batch} FAILED: ${notes[`gpu.tiny${key}_error_b${batch}`]}`);
        }
        save();
      }
      await gpu.session.release();
      await cpu.session.release();
    }
  }

  // ---- the text encoder the pipeline runs beside the generator (aurora-tiny's bundle) ----
  if (models.includes('tiny')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-tiny-gpu-'));
    try {
      writeBundleDir(buildTinyBundle(), dir);
      const placed = await reportPlacements(path.join(dir, 'text-encoder.onnx'), provider);
      results['gpu.text_encoder_fallback_nodes'] = placed.fallback.length;
      results['gpu.text_encoder_memcpy_nodes'] = placed.memcpy;
      row(`aurora-tiny text encoder: nodes off ${provider}`, `${placed.fallback.length} of ${placed.total}`, `${placed.memcpy} memcpy; ${summarizeFallback(placed.fallback) || 'none'}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    save();
  }

  // ---- one MoE layer, every formulation: 32x32 tokens at 256 channels, and aurora-v1's 64x64 layer ----
  const v1Config = generatorPreset('aurora-v1');
  const v1Layer = { side: 64, channels: synthesisLayout(v1Config).channels(64), experts: v1Config.num_experts['64'] ?? 16, glu: v1Config.glu };
  const layers = [
    ...[4, 8, 16].map((experts) => ({ name: `e${experts}`, side: 32, channels: 256, experts, glu: false })),
    ...(emulated ? [] : [{ name: 'v1_64', ...v1Layer }]),
  ];
  for (const { name, side, channels, experts: E, glu } of layers) {
    const T = side * side;
    const wDim = 64;
    const feeds: Record<string, Tensor> = {
      x: new ort.Tensor('float32', noise(T * channels, 3), [1, T, channels]),
      w: new ort.Tensor('float32', noise(wDim, 4), [1, wDim]),
    };
    for (const moe of modes) {
      const g = new Graph('moe');
      const b = new Builder(g, new ParamRegistry(randomProvider(5)));
      const x = g.addInput('x', 'float32', ['batch', T, channels]);
      const w = g.addInput('w', 'float32', ['batch', wDim]);
      const y = feedForward(b.child('ff'), x, w, {
        channels, mlpRatio: 4, glu, numExperts: E, wDim, useWscale: true, wscaleGain: 1, lrMul: 1, height: side, width: side, moe,
      });
      g.addOutput(y, 'y', 'float32', ['batch', T, channels]);
      const session: InferenceSession = await ort.InferenceSession.create(encodeModel(g).model, sessionOptions);
      // Emulated: one run (a dense 16-expert layer takes ~20 s on lavapipe).
      const times = await timeRuns(() => session.run(feeds), options.runs ?? (emulated ? 1 : 10), 1);
      results[`gpu.moe_${moe}_ms_${name}`] = median(times);
      await session.release();
    }
    const cells = modes.map((m) => `${m} ${results[`gpu.moe_${m}_ms_${name}`].toFixed(2)} ms`).join(', ');
    log(`MoE layer ${side}x${side} tokens, ${channels} ch, E=${E}: ${cells}`);
    row(`MoE layer ${side}x${side} tokens, ${channels} ch, E=${E}${glu ? ' (GLU)' : ''}`, cells, emulated ? 'CPU-emulated: no speed claim' : '');
    save();
  }

  // ---- aurora-v1, random weights, external data (4.7 GB), one session per MoE formulation ----
  if (models.includes('v1')) {
    if (emulated && !options.forceV1) {
      log('aurora-v1 skipped: the adapter is CPU-emulated (no speed claim; --force-v1 runs it anyway)');
      notes['gpu.v1'] = 'skipped: CPU-emulated adapter';
    } else {
      const config = v1Config;
      const weights = sharedProvider(fastRandomProvider(1));
      for (const moe of options.v1Moe ?? [shipped]) {
        const key = suffix(moe);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-v1-gpu-'));
        try {
          const t0 = performance.now();
          const built = buildGenerator(config, weights, { moe });
          writeExternalModel(built.graph, path.join(dir, 'generator.onnx'));
          log(`aurora-v1 moe=${moe} built and written in ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
          const file = path.join(dir, 'generator.onnx');
          if (options.v1Placements) {
            const placed = await reportPlacements(file, provider);
            results[`gpu.v1_fallback_nodes${key}`] = placed.fallback.length;
            log(`aurora-v1 moe=${moe}: ${placed.total} nodes, ${placed.fallback.length} on the CPU, ${placed.memcpy} memcpy`);
          }
          const t1 = performance.now();
          const shape: GeneratorShape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
          const session = GeneratorSession.wrap(ort, await ortNode.InferenceSession.create(file, sessionOptions), shape);
          results[`gpu.v1${key}_load_s`] = (performance.now() - t1) / 1e3;
          log(`aurora-v1 moe=${moe} session created in ${results[`gpu.v1${key}_load_s`].toFixed(1)} s`);
          for (const batch of batches) {
            try {
              const feeds = syntheticBatch(shape, batch);
              const runs = options.runs ?? (batch === 1 ? 5 : 3);
              const times = await timeRuns(() => session.run(feeds), runs, 1);
              results[`gpu.v1${key}_ms_b${batch}`] = median(times) / batch;
              log(`aurora-v1 moe=${moe} batch ${batch}: ${results[`gpu.v1${key}_ms_b${batch}`].toFixed(1)} ms/image`);
              row(`aurora-v1 ${provider} MoE ${moe}, batch ${batch}`, `${results[`gpu.v1${key}_ms_b${batch}`].toFixed(1)} ms/image`, `session load ${results[`gpu.v1${key}_load_s`].toFixed(1)} s`);
            } catch (error) {
              notes[`gpu.v1${key}_error_b${batch}`] = (error as Error).message.split('\n')[0];
              log(`aurora-v1 moe=${moe} batch ${batch} FAILED: ${notes[`gpu.v1${key}_error_b${batch}`]}`);
            }
            save();
          }
          await session.session.release();
        } catch (error) {
          notes[`gpu.v1${key}_error`] = (error as Error).message.split('\n')[0];
          log(`aurora-v1 moe=${moe} FAILED: ${notes[`gpu.v1${key}_error`]}`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        save();
      }
    }
  }
  save();
  return { results, notes, rows };
}

function parseArgs(argv: readonly string[]): GpuBenchOptions {
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const list = (name: string) => arg(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const provider = (arg('--provider') ?? 'webgpu') as ExecutionProvider;
  if (!['cpu', 'webgpu', 'cuda'].includes(provider)) throw new Error(`--provider must be cpu, webgpu or cuda, got ${provider}`);
  const moes = (name: string) => {
    const moe = list(name) as MoeMode[] | undefined;
    for (const m of moe ?? []) if (!(MOE_MODES as readonly string[]).includes(m)) throw new Error(`${name}: ${m} is not one of ${MOE_MODES.join(', ')}`);
    return moe;
  };
  const models = list('--models') as ('tiny' | 'v1')[] | undefined;
  for (const m of models ?? []) if (m !== 'tiny' && m !== 'v1') throw new Error(`--models: ${m} is not tiny or v1`);
  const batches = list('--batches')?.map(Number);
  if (batches?.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--batches: positive integers, e.g. 1,8,32');
  const runs = arg('--runs') === undefined ? undefined : Number(arg('--runs'));
  return {
    provider, models, batches, moe: moes('--moe'), v1Moe: moes('--v1-moe'), runs, json: arg('--json'),
    forceV1: argv.includes('--force-v1'), v1Placements: argv.includes('--v1-placements'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const options = parseArgs(process.argv.slice(2));
  const out = await runGpuBench(options);
  if (!out) {
    console.error('bench/gpu: no WebGPU adapter, nothing measured (see the reason above)');
    process.exitCode = 1;
  } else {
    console.log(`\nGPU (${out.notes['gpu.adapter']}), ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores:\n`);
    console.log('| metric | value | notes |\n|---|---|---|');
    console.log(out.rows.join('\n'));
    console.log(`\n${JSON.stringify({ ...out.notes, ...out.results }, null, 2)}`);
  }
}
