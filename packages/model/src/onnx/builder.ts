import { type Attr, attr, type Graph } from './graph.ts';
import type { ParamInit, ParamRegistry } from './params.ts';
import type { ConstTensor } from './tensor-data.ts';

/**
 * A view of the graph scoped to one module of the reference network. `param('weight', ...)` in
 * the scope `synthesis.net.0.1` declares the state-dict key `synthesis.net.0.1.weight`, so the
 * ONNX initializer names are exactly the checkpoint's parameter names.
 */
export class Builder {
  constructor(
    readonly graph: Graph,
    readonly params: ParamRegistry,
    readonly prefix: string = '',
  ) {}

  /** The builder of a child module (`child('net').child(0)` -> `net.0`). */
  child(name: string | number): Builder {
    return new Builder(this.graph, this.params, this.prefix ? `${this.prefix}.${name}` : String(name));
  }

  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Declares a float32 parameter (or buffer) of this module and returns its tensor name. */
  param(
    name: string,
    shape: readonly number[],
    init: ParamInit,
    options: { /** full state-dict keys */ aliases?: readonly string[]; buffer?: boolean } = {},
  ): string {
    const full = this.key(name);
    // A module applied twice (the mapping network for the centre codes) shares its weights.
    const existing = this.graph.initializers.get(full);
    if (existing) {
      if (existing.dims.join() !== shape.join()) throw new Error(`parameter ${full} redeclared as [${shape}], was [${existing.dims}]`);
      return full;
    }
    const data = this.params.declare({
      name: full,
      shape,
      init,
      aliases: options.aliases,
      buffer: options.buffer,
    });
    return this.graph.addInitializer(full, { type: 'float32', dims: shape, data });
  }

  // ---- constants -----------------------------------------------------------------------------

  constTensor(base: string, tensor: ConstTensor): string {
    return this.graph.addInitializer(this.graph.unique(`${this.key(base)}/const`), tensor);
  }

  f32(values: number | readonly number[] | Float32Array, dims?: readonly number[]): string {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values);
    return this.constTensor('f', { type: 'float32', dims: dims ?? (typeof values === 'number' ? [] : [data.length]), data });
  }

  i64(values: number | readonly number[], dims?: readonly number[]): string {
    const list = typeof values === 'number' ? [values] : values;
    const data = BigInt64Array.from(list, (v) => BigInt(v));
    return this.constTensor('i', { type: 'int64', dims: dims ?? (typeof values === 'number' ? [] : [data.length]), data });
  }

  // ---- nodes -------------------------------------------------------------------------------

  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, label?: string): string {
    return this.opN(opType, inputs, 1, attrs, label)[0];
  }

  opN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, Attr> = {}, label?: string): string[] {
    const base = this.key(label ?? opType);
    const name = this.graph.unique(base);
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? name : this.graph.unique(`${name}:${i}`)));
    this.graph.nodes.push({ opType, name, inputs, outputs: outs, attrs });
    return outs;
  }

  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  matmul(a: string, b: string): string { return this.op('MatMul', [a, b]); }
  scale(x: string, s: number): string { return s === 1 ? x : this.mul(x, this.f32(s)); }
  neg(x: string): string { return this.op('Neg', [x]); }
  sqrt(x: string): string { return this.op('Sqrt', [x]); }
  sigmoid(x: string): string { return this.op('Sigmoid', [x]); }
  sin(x: string): string { return this.op('Sin', [x]); }
  relu(x: string): string { return this.op('Relu', [x]); }

  /** 1/sqrt(x), as torch.rsqrt. */
  rsqrt(x: string): string { return this.op('Reciprocal', [this.sqrt(x)]); }

  reshape(x: string, shape: readonly number[]): string { return this.op('Reshape', [x, this.i64(shape)]); }
  transpose(x: string, perm: readonly number[]): string { return this.op('Transpose', [x], { perm: attr.ints(perm) }); }
  unsqueeze(x: string, axes: readonly number[]): string { return this.op('Unsqueeze', [x, this.i64(axes)]); }
  squeeze(x: string, axes: readonly number[]): string { return this.op('Squeeze', [x, this.i64(axes)]); }
  concat(xs: readonly string[], axis: number): string { return this.op('Concat', xs, { axis: attr.int(axis) }); }
  softmax(x: string, axis: number): string { return this.op('Softmax', [x], { axis: attr.int(axis) }); }

  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): string {
    const inputs = [x, this.i64(starts), this.i64(ends), this.i64(axes)];
    if (steps) inputs.push(this.i64(steps));
    return this.op('Slice', inputs);
  }

  /** Splits `x` along `axis` into `parts` equal chunks, as torch.chunk does for even sizes. */
  chunk(x: string, parts: number, size: number, axis: number): string[] {
    if (size % parts !== 0) throw new Error(`cannot chunk ${size} into ${parts} equal parts`);
    const step = size / parts;
    return Array.from({ length: parts }, (_, i) => this.slice(x, [i * step], [(i + 1) * step], [axis]));
  }

  reduceMean(x: string, axes: readonly number[], keepdims = true): string {
    return this.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }

  reduceSum(x: string, axes: readonly number[], keepdims = true): string {
    return this.op('ReduceSum', [x, this.i64(axes)], { keepdims: attr.int(keepdims ? 1 : 0) });
  }

  square(x: string): string { return this.mul(x, x); }

  /** Dimension `axis` of `x` as a 1-element int64 tensor (for dynamic reshapes). */
  dim(x: string, axis: number): string {
    return this.op('Shape', [x], { start: attr.int(axis), end: attr.int(axis + 1) });
  }

  /** A reshape whose first dimension is copied from `like` (the dynamic batch). */
  reshapeBatch(x: string, batchFrom: string, rest: readonly number[]): string {
    const shape = this.concat([this.dim(batchFrom, 0), this.i64(rest)], 0);
    return this.op('Reshape', [x, shape]);
  }
}
