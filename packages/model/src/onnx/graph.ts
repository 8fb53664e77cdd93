import { type ConstTensor, type ElementType, numel } from './tensor-data.ts';

/** A node attribute, tagged with its ONNX kind so integers and floats never get confused. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

export interface NodeSpec {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** A graph input or output; string dims are symbolic (e.g. 'batch'). */
export interface ValueInfo {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly (number | string)[];
}

/**
 * The mutable graph under construction: nodes in topological order (the order they are
 * added), initializers, and the public inputs and outputs. Names are unique by construction.
 */
export class Graph {
  readonly nodes: NodeSpec[] = [];
  readonly initializers = new Map<string, ConstTensor>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly taken = new Set<string>();

  /**
   * When true, modules publish named intermediate tensors (router choices, per-block features)
   * as extra graph outputs, which the conformance checker compares with the reference.
   */
  constructor(readonly name: string, readonly exposeIntermediates = false) {}

  /** Publishes an intermediate tensor when intermediates are exposed; otherwise does nothing. */
  tap(value: string, name: string, type: ElementType, dims: readonly (number | string)[]): void {
    if (this.exposeIntermediates) this.addOutput(value, name, type, dims);
  }

  /** A fresh tensor name based on `base`, suffixed only when `base` is already used. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }

  addInput(name: string, type: ElementType, dims: readonly (number | string)[]): string {
    if (this.taken.has(name)) throw new Error(`graph input name ${name} already used`);
    this.taken.add(name);
    this.inputs.push({ name, type, dims });
    return name;
  }

  addInitializer(name: string, tensor: ConstTensor): string {
    if (this.initializers.has(name)) return name;
    if (numel(tensor.dims) !== tensor.data.length && tensor.data.length !== 0) {
      throw new Error(`initializer ${name}: dims [${tensor.dims}] do not match ${tensor.data.length} values`);
    }
    this.taken.add(name);
    this.initializers.set(name, tensor);
    return name;
  }

  /** Publishes `value` under `name` (an Identity keeps internal names free to change). */
  addOutput(value: string, name: string, type: ElementType, dims: readonly (number | string)[]): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`duplicate graph output ${name}`);
    if (value !== name) this.taken.add(name);
    // A value already named as the output needs no Identity (GPU providers lack one for int64).
    if (value !== name) this.nodes.push({ opType: 'Identity', name: `output/${name}`, inputs: [value], outputs: [name], attrs: {} });
    this.outputs.push({ name, type, dims });
  }
}
