/**
 * Development tool: timing of several generator model files (same inputs/outputs), A/B/A/B.
 *   tsx bench/compare.ts [--web] [--batches 1,8] [--reps 5] [--inproc] a.onnx b.onnx ...
 * By default every measurement runs in its own child process (default session options: the
 * intra-op pool spins, as in production, and idle pools of other sessions cannot steal cycles);
 * children are interleaved across variants so machine noise hits every variant alike.
 * --inproc keeps all sessions in one process (spinning off, THREADS=n sets the pool size).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import ortNode from 'onnxruntime-node';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { loadOrtWasm } from '../packages/model/src/node/ort-node.ts';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import type { OrtModule } from '../packages/model/src/runtime/ort-types.ts';
import { median, syntheticBatch } from './common.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const bool = (name: string) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const web = bool('--web');
const inproc = bool('--inproc');
const child = bool('--child');
const batches = flag('--batches', '1,8').split(',').map(Number);
const reps = Number(flag('--reps', '5'));
const runs = Number(flag('--runs', '8'));
const preset = flag('--preset', 'aurora-tiny');
const ort: OrtModule = web ? await loadOrtWasm() : ortNode;
const config = generatorPreset(preset);
const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: Number(flag('--layers', '10')) };

async function open(file: string, spin: boolean) {
  const threads = Number(process.env.THREADS ?? 0);
  const options = web ? {} : spin ? { intraOpNumThreads: threads } : { intraOpNumThreads: threads, extra: { session: { intra_op: { allow_spinning: '0' } } } };
  return GeneratorSession.create(ort, new Uint8Array(fs.readFileSync(file)), shape, options);
}

async function timeRuns(s: GeneratorSession, n: number, count: number): Promise<number[]> {
  const feeds = syntheticBatch(shape, n);
  await s.run(feeds);
  const times: number[] = [];
  for (let r = 0; r < count; r++) {
    const t0 = performance.now();
    await s.run(feeds);
    times.push((performance.now() - t0) / n);
  }
  return times;
}

if (child) {
  const s = await open(args[0], true);
  const out: Record<number, number> = {};
  for (const n of batches) out[n] = median(await timeRuns(s, n, runs));
  console.log(JSON.stringify(out));
} else if (inproc) {
  const sessions = await Promise.all(args.map((f) => open(f, false)));
  for (const n of batches) {
    const feeds = syntheticBatch(shape, n);
    const images: Float32Array[] = [];
    for (const s of sessions) images.push((await s.run(feeds)).image.data as Float32Array);
    for (let i = 1; i < images.length; i++) {
      let m = 0;
      for (let j = 0; j < images[0].length; j++) m = Math.max(m, Math.abs(images[0][j] - images[i][j]));
      console.log(`batch ${n}: ${args[i]} vs ${args[0]} max abs diff ${m.toExponential(2)}`);
    }
    const times: number[][] = sessions.map(() => []);
    for (let r = 0; r < reps; r++) for (const [i, s] of sessions.entries()) times[i].push(...(await timeRuns(s, n, 1)));
    report(n, times);
  }
} else {
  const times = new Map<number, number[][]>(batches.map((n) => [n, args.map(() => [])]));
  for (let r = 0; r < reps; r++) {
    for (const [i, f] of args.entries()) {
      const extra = web ? ['--web'] : [];
      const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], '--child', '--batches', batches.join(','), '--runs', String(runs), '--preset', preset, ...extra, f], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const parsed = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
      for (const n of batches) times.get(n)?.[i].push(parsed[n]);
    }
  }
  for (const n of batches) report(n, times.get(n) ?? []);
}

function report(n: number, times: number[][]): void {
  const base = median(times[0]);
  for (const [i, f] of args.entries()) {
    const m = median(times[i]);
    console.log(`${web ? 'web ' : 'node'} batch ${n}: ${m.toFixed(2).padStart(8)} ms/image  (x${(m / base).toFixed(2)})  min ${Math.min(...times[i]).toFixed(2)}  ${f}`);
    if (process.env.VERBOSE) console.log(`   ${times[i].map((t) => t.toFixed(2)).join(" ")}`);
  }
}
