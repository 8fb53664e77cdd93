/**
 * Development tool: per-op-type and per-module time of a generator graph in onnxruntime-node,
 * from ORT's own profiler. `tsx bench/profile.ts [model.onnx] [batch]` (default: aurora-tiny).
 */
import * as fs from 'node:fs';
import ortNode from 'onnxruntime-node';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import { buildPresetModel, syntheticBatch } from './common.ts';

const ort = ortNode;
const [file, batchArg, runsArg] = process.argv.slice(2);
const batch = Number(batchArg ?? 1);
const runs = Number(runsArg ?? 10);
const built = buildPresetModel('aurora-tiny');
const model = file && file !== '-' ? new Uint8Array(fs.readFileSync(file)) : built.model;
const session = await GeneratorSession.create(ort, model, built.shape, { intraOpNumThreads: Number(process.env.THREADS ?? 0), enableProfiling: true, profileFilePrefix: `/tmp/aurora-prof-${process.pid}` });
const feeds = syntheticBatch(built.shape, batch);
for (let i = 0; i < 3; i++) await session.run(feeds);
const t0 = performance.now();
for (let i = 0; i < runs; i++) await session.run(feeds);
const ms = (performance.now() - t0) / runs;
const before = new Set(fs.readdirSync('/tmp'));
await (session.session as unknown as { endProfiling(): unknown }).endProfiling();
const created = fs.readdirSync('/tmp').filter((f) => f.startsWith('aurora-prof') && !before.has(f));
const profFile = `/tmp/${created.length ? created[0] : fs.readdirSync('/tmp').filter((f) => f.startsWith('aurora-prof')).sort().at(-1)}`;
const events = JSON.parse(fs.readFileSync(profFile, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
fs.unlinkSync(profFile);
const byOp = new Map<string, number>();
const byModule = new Map<string, number>();
const byNode = new Map<string, number>();
let total = 0;
let count = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args?.op_name ?? '?';
  const node = e.name.slice(0, -'_kernel_time'.length);
  const mod = node.split('/')[0].replace(/\.(Slice|Unsqueeze|Concat|Pad|Reshape|MatMul|Conv|Mul|Add|Sub|Transpose|GridSample|Softmax|Sqrt|Relu|[A-Z][A-Za-z]*)(_\d+)?$/, '').replace(/\.\d+$/, (m) => m);
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  byModule.set(mod, (byModule.get(mod) ?? 0) + e.dur);
  byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
  total += e.dur;
  count++;
}
const totalRuns = runs + 3;
const top = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / totalRuns / 1000).toFixed(3).padStart(8)} ms  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`batch ${batch}: ${ms.toFixed(2)} ms/run (${(ms / batch).toFixed(2)} ms/image, profiled), kernels ${(total / totalRuns / 1000).toFixed(2)} ms/run, ${count / totalRuns} kernel calls/run`);
console.log('--- by op type\n' + top(byOp, 25));
console.log('--- by module\n' + top(byModule, 30));
console.log('--- by node\n' + top(byNode, Number(process.env.TOPN ?? 30)));
if (process.env.FILTER) {
  const f = new Map([...byNode].filter(([k]) => k.includes(process.env.FILTER ?? '')));
  const ops = new Map<string, number>();
  for (const [k, v] of f) {
    const op = k.slice(k.lastIndexOf('.') + 1).replace(/_\d+/, '');
    ops.set(op, (ops.get(op) ?? 0) + v);
  }
  console.log(`--- nodes matching ${process.env.FILTER}, by op\n` + top(ops, 40));
  if (process.env.NODES) console.log(`--- nodes matching ${process.env.FILTER}\n` + top(f, 200));
}
