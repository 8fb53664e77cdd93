import { liveNodes } from '../onnx/encode.ts';
import type { Graph, NodeSpec } from '../onnx/graph.ts';

/**
 * Static FLOP counting over a built Graph: walks the nodes that reach an output in order,
 * inferring every tensor's shape from the graph inputs (symbolic dims bound by `dims`) and
 * propagating small int64 constants (shape arithmetic), then charges each node:
 *
 *   MatMul              2 * batch * M * K * N
 *   Conv                2 * N * O * Ho * Wo * (C / group) * kh * kw
 *   ConvTranspose       2 * N * C * H * W * (O / group) * kh * kw
 *   Gemm-like dense     (emitted as MatMul + Add here)
 *   elementwise         1 per output element (Add, Mul, Sqrt, Erf, Where, ...)
 *   Softmax             5 per element; LayerNormalization 8 per element
 *   reductions          1 per input element
 *   GridSample          (bilinear) 8 per output element
 *   data movement       0 (Reshape, Transpose, Slice, Concat, Pad, Gather*, Scatter*, Expand, ...)
 *
 * FLOPs of weight-only subgraphs (e.g. scaling a constant weight), which runtimes fold once at
 * session creation, are reported apart as `constant` and are not part of `total`.
 * Data-dependent shapes: NonZero (the MoE's token selection) is given `expertShare` of its input,
 * by default 1/E for a module holding E NonZero nodes (exact in total: every token goes to
 * exactly one expert, so the experts together see every token once).
 */
export interface FlopReport {
  /** FLOPs of one forward pass with the given dims (excluding folded constants). */
  readonly total: number;
  /** Multiply-accumulate FLOPs (MatMul/Conv/ConvTranspose), part of total. */
  readonly matmul: number;
  /** Folded at session creation (constant inputs only). */
  readonly constant: number;
  readonly byOp: ReadonlyMap<string, number>;
  /** Keyed by the node name's module prefix (up to the first op-type component). */
  readonly byModule: ReadonlyMap<string, number>;
}

type Shape = number[];

interface Value {
  shape: Shape;
  /** Known int64/float values of small tensors (shape arithmetic, constants). */
  data?: number[];
  /** Depends only on initializers (foldable). */
  constant: boolean;
}

const MOVEMENT = new Set([
  'Reshape', 'Transpose', 'Slice', 'Concat', 'Pad', 'Gather', 'GatherND', 'GatherElements', 'ScatterND', 'Expand',
  'Unsqueeze', 'Squeeze', 'Identity', 'Shape', 'Cast', 'NonZero', 'Split',
]);
const UNARY = new Set(['Sqrt', 'Reciprocal', 'Sigmoid', 'Relu', 'LeakyRelu', 'Neg', 'Abs', 'Erf', 'Sin', 'Floor', 'Ceil', 'Not', 'CumSum', 'Clip', 'Identity', 'Cast', 'Tanh', 'Exp', 'Log']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Less', 'Greater', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Max', 'Min']);

export function countFlops(graph: Graph, dims: Record<string, number>, options: { expertShare?: (node: NodeSpec) => number } = {}): FlopReport {
  const values = new Map<string, Value>();
  for (const input of graph.inputs) {
    values.set(input.name, {
      shape: input.dims.map((d) => {
        if (typeof d === 'number') return d;
        const v = dims[d];
        if (v === undefined) throw new RangeError(`countFlops: no value for symbolic dim "${d}" of input ${input.name}`);
        return v;
      }),
      constant: false,
    });
  }
  for (const [name, t] of graph.initializers) {
    const small = t.data.length <= 64 && t.data.length === numel(t.dims) ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
    values.set(name, { shape: [...t.dims], data: small, constant: true });
  }
  const byOp = new Map<string, number>();
  const byModule = new Map<string, number>();
  let total = 0;
  let matmul = 0;
  let constant = 0;
  const { nodes } = liveNodes(graph);
  // Default NonZero share: a module with E NonZero nodes routes each token to one of E experts.
  const moduleOf = (n: NodeSpec) => n.name.slice(0, n.name.lastIndexOf('.'));
  const nonZeroPerModule = new Map<string, number>();
  for (const n of nodes) if (n.opType === 'NonZero') nonZeroPerModule.set(moduleOf(n), (nonZeroPerModule.get(moduleOf(n)) ?? 0) + 1);
  const share = options.expertShare ?? ((n: NodeSpec) => 1 / (nonZeroPerModule.get(moduleOf(n)) ?? 1));
  for (const node of nodes) {
    const ins = node.inputs.map((n) => {
      if (n === '') return undefined;
      const v = values.get(n);
      if (!v) throw new Error(`countFlops: ${node.name} reads unknown tensor ${n}`);
      return v;
    });
    const { outputs, flops, mac } = infer(node, ins, share);
    const isConstant = ins.every((v) => v === undefined || v.constant);
    node.outputs.forEach((name, i) => values.set(name, { ...outputs[i], constant: isConstant }));
    if (!flops) continue;
    if (isConstant) {
      constant += flops;
      continue;
    }
    total += flops;
    if (mac) matmul += flops;
    byOp.set(node.opType, (byOp.get(node.opType) ?? 0) + flops);
    const module = node.name.split('.').filter((part) => !/^[A-Z]/.test(part)).join('.').replace(/\/.*$/, '');
    byModule.set(module, (byModule.get(module) ?? 0) + flops);
  }
  return { total, matmul, constant, byOp, byModule };
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function broadcast(shapes: readonly Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function attrInt(node: NodeSpec, name: string, def: number): number {
  const a = node.attrs[name];
  return a && a.kind === 'int' ? a.value : def;
}

function attrInts(node: NodeSpec, name: string): readonly number[] | undefined {
  const a = node.attrs[name];
  return a && a.kind === 'ints' ? a.value : undefined;
}

function elementwiseData(op: string, a: number[], b: number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  if (a.length !== n && a.length !== 1) return undefined;
  if (b.length !== n && b.length !== 1) return undefined;
  const f: Record<string, (x: number, y: number) => number> = {
    Add: (x, y) => x + y,
    Sub: (x, y) => x - y,
    Mul: (x, y) => x * y,
    Div: (x, y) => Math.trunc(x / y),
  };
  const fn = f[op];
  if (!fn) return undefined;
  return Array.from({ length: n }, (_, i) => fn(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
}

interface Inferred {
  outputs: Omit<Value, 'constant'>[];
  flops: number;
  mac?: boolean;
}

function infer(node: NodeSpec, ins: (Value | undefined)[], expertShare: (node: NodeSpec) => number): Inferred {
  const op = node.opType;
  const x = ins[0] as Value;
  const one = (shape: Shape, flops = 0, data?: number[]): Inferred => ({ outputs: [{ shape, data }], flops });
  if (UNARY.has(op)) {
    const data = op === 'Cast' || op === 'Identity' ? x.data : undefined;
    return one([...x.shape], MOVEMENT.has(op) ? 0 : numel(x.shape), data);
  }
  if (BINARY.has(op)) {
    const shape = broadcast([x.shape, (ins[1] as Value).shape]);
    const data = x.data && ins[1]?.data ? elementwiseData(op, x.data, ins[1].data) : undefined;
    return one(shape, numel(shape), data);
  }
  switch (op) {
    case 'Where': {
      const shape = broadcast(ins.map((v) => (v as Value).shape));
      return one(shape, numel(shape));
    }
    case 'MatMul': {
      const a = x.shape.length === 1 ? [1, x.shape[0]] : x.shape;
      const bRaw = (ins[1] as Value).shape;
      const b = bRaw.length === 1 ? [bRaw[0], 1] : bRaw;
      const batch = broadcast([a.slice(0, -2), b.slice(0, -2)]);
      const [M, K] = a.slice(-2);
      const N = b[b.length - 1];
      const shape = [...batch, M, N];
      if (x.shape.length === 1) shape.splice(-2, 1);
      if (bRaw.length === 1) shape.pop();
      return { outputs: [{ shape }], flops: 2 * numel(batch) * M * K * N, mac: true };
    }
    case 'Conv': {
      const w = (ins[1] as Value).shape;
      const [n, c] = x.shape;
      const k = attrInts(node, 'kernel_shape') ?? w.slice(2);
      const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
      const strides = attrInts(node, 'strides') ?? [1, 1];
      const group = attrInt(node, 'group', 1);
      const ho = Math.floor((x.shape[2] + pads[0] + pads[2] - k[0]) / strides[0]) + 1;
      const wo = Math.floor((x.shape[3] + pads[1] + pads[3] - k[1]) / strides[1]) + 1;
      const flops = 2 * n * w[0] * ho * wo * (c / group) * k[0] * k[1] + (ins[2] ? n * w[0] * ho * wo : 0);
      return { outputs: [{ shape: [n, w[0], ho, wo] }], flops, mac: true };
    }
    case 'ConvTranspose': {
      const w = (ins[1] as Value).shape;
      const [n, c, h, wd] = x.shape;
      const k = attrInts(node, 'kernel_shape') ?? w.slice(2);
      const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
      const strides = attrInts(node, 'strides') ?? [1, 1];
      const group = attrInt(node, 'group', 1);
      const o = w[1] * group;
      const ho = strides[0] * (h - 1) + k[0] - pads[0] - pads[2];
      const wo = strides[1] * (wd - 1) + k[1] - pads[1] - pads[3];
      return { outputs: [{ shape: [n, o, ho, wo] }], flops: 2 * n * c * h * wd * w[1] * k[0] * k[1], mac: true };
    }
    case 'GridSample': {
      const g = (ins[1] as Value).shape;
      const shape = [x.shape[0], x.shape[1], g[1], g[2]];
      return one(shape, 8 * numel(shape));
    }
    case 'Softmax':
      return one([...x.shape], 5 * numel(x.shape));
    case 'LayerNormalization':
      return one([...x.shape], 8 * numel(x.shape));
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ArgMax': {
      const rank = x.shape.length;
      const axesData = op === 'ReduceSum' ? ins[1]?.data : undefined;
      const axesAttr = attrInts(node, 'axes');
      const single = op === 'ArgMax' ? [attrInt(node, 'axis', 0)] : undefined;
      const axes = (single ?? axesAttr ?? axesData ?? x.shape.map((_, i) => i)).map((a) => axis(a, rank));
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      return one(shape, numel(x.shape));
    }
    case 'Reshape': {
      const target = ins[1]?.data;
      if (!target) throw new Error(`countFlops: ${node.name}: reshape target is not a known constant`);
      const shape = target.map((d, i) => (d === 0 ? x.shape[i] : d));
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const out = shape.map((d) => (d === -1 ? numel(x.shape) / known : d));
      return one(out, 0, x.data);
    }
    case 'Transpose': {
      const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return one(perm.map((p) => x.shape[p]));
    }
    case 'Unsqueeze': {
      const axes = ins[1]?.data ?? [];
      const rank = x.shape.length + axes.length;
      const norm = axes.map((a) => axis(a, rank));
      const out: Shape = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]);
      return one(out, 0, x.data);
    }
    case 'Squeeze': {
      const axes = (ins[1]?.data ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axis(a, x.shape.length));
      return one(x.shape.filter((_, i) => !axes.includes(i)), 0, x.data);
    }
    case 'Concat': {
      const parts = ins as Value[];
      const a = axis(attrInt(node, 'axis', 0), x.shape.length);
      const shape = [...x.shape];
      shape[a] = parts.reduce((s, v) => s + v.shape[a], 0);
      const data = parts.every((v) => v.data) && x.shape.length === 1 ? parts.flatMap((v) => v.data ?? []) : undefined;
      return one(shape, 0, data);
    }
    case 'Slice': {
      const starts = ins[1]?.data ?? [];
      const ends = ins[2]?.data ?? [];
      const axes = ins[3]?.data ?? starts.map((_, i) => i);
      const steps = ins[4]?.data ?? starts.map(() => 1);
      const shape = [...x.shape];
      let data = x.data;
      axes.forEach((ax, i) => {
        const a = axis(ax, shape.length);
        const size = x.shape[a];
        const step = steps[i];
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        let s = starts[i] < 0 ? starts[i] + size : starts[i];
        let e = ends[i] < 0 ? ends[i] + size : ends[i];
        if (step > 0) {
          s = clamp(s, 0, size);
          e = clamp(e, 0, size);
          shape[a] = Math.max(0, Math.ceil((e - s) / step));
        } else {
          s = clamp(s, -1, size - 1);
          e = clamp(e, -1, size - 1);
          shape[a] = Math.max(0, Math.ceil((s - e) / -step));
        }
        if (data && x.shape.length === 1) data = Array.from({ length: shape[a] }, (_, j) => (data as number[])[s + j * step]);
      });
      return one(shape, 0, data);
    }
    case 'Shape': {
      const rank = x.shape.length;
      const start = axis(attrInt(node, 'start', 0), rank);
      const end = node.attrs.end ? axis(attrInt(node, 'end', rank), rank) : rank;
      const data = x.shape.slice(start, end);
      return one([data.length], 0, data);
    }
    case 'Expand': {
      const target = ins[1]?.data;
      if (!target) throw new Error(`countFlops: ${node.name}: expand shape is not a known constant`);
      return one(broadcast([x.shape, target]));
    }
    case 'Pad': {
      const pads = ins[1]?.data;
      if (!pads) throw new Error(`countFlops: ${node.name}: pads are not a known constant`);
      const r = x.shape.length;
      return one(x.shape.map((d, i) => d + pads[i] + pads[i + r]));
    }
    case 'Gather': {
      const idx = ins[1] as Value;
      const a = axis(attrInt(node, 'axis', 0), x.shape.length);
      const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
      const data = x.data && idx.data && x.shape.length === 1 ? idx.data.map((i) => (x.data as number[])[i < 0 ? i + x.shape[0] : i]) : undefined;
      return one(shape, 0, data);
    }
    case 'GatherElements':
      return one([...(ins[1] as Value).shape]);
    case 'GatherND': {
      const idx = (ins[1] as Value).shape;
      const bd = attrInt(node, 'batch_dims', 0);
      const last = idx[idx.length - 1];
      return one([...idx.slice(0, -1), ...x.shape.slice(bd + last)]);
    }
    case 'ScatterND':
      return one([...x.shape]);
    case 'NonZero': {
      const count = Math.round(numel(x.shape) * expertShare(node));
      return one([x.shape.length, count]);
    }
    case 'Split': {
      const a = axis(attrInt(node, 'axis', 0), x.shape.length);
      const sizes = ins[1]?.data ?? node.outputs.map(() => x.shape[a] / node.outputs.length);
      return { outputs: sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === a ? s : d)) })), flops: 0 };
    }
    default:
      throw new Error(`countFlops: no rule for ${op} (${node.name})`);
  }
}
