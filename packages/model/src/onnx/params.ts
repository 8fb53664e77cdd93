/** How a parameter is initialised when no checkpoint supplies it (mirrors the reference init). */
export type ParamInit =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'constant'; value: number }
  | { kind: 'values'; values: Float32Array }
  /** Values derived from seeded N(0,1) draws (e.g. the Fourier layer's frequencies). */
  | { kind: 'generate'; generate: (normal: () => number) => Float32Array };

export interface ParamSpec {
  /** Full state-dict name, e.g. `synthesis.net.0.1.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
  /** Extra state-dict keys holding the same tensor (torch registers some modules twice). */
  readonly aliases?: readonly string[];
  /** Buffers are state-dict entries that are not trainable parameters (w_avg, filters, ...). */
  readonly buffer?: boolean;
}

/** Supplies the float32 values of each declared parameter. */
export interface ParamProvider {
  provide(spec: ParamSpec): Float32Array;
  /** Called once the whole model is declared: a checkpoint provider reports what did not match. */
  finish?(declared: readonly ParamSpec[]): void;
}

/** Records every declared parameter, so shapes and counts can be listed without any weights. */
export class ParamRegistry {
  readonly specs: ParamSpec[] = [];
  private readonly byName = new Map<string, ParamSpec>();

  constructor(private readonly provider: ParamProvider) {}

  declare(spec: ParamSpec): Float32Array {
    if (this.byName.has(spec.name)) throw new Error(`parameter ${spec.name} declared twice`);
    this.byName.set(spec.name, spec);
    this.specs.push(spec);
    return this.provider.provide(spec);
  }

  finish(): void {
    this.provider.finish?.(this.specs);
  }

  /** State-dict keys (aliases included) with their shapes, in declaration order. */
  stateDictShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const s of this.specs) {
      out.set(s.name, [...s.shape]);
      for (const a of s.aliases ?? []) out.set(a, [...s.shape]);
    }
    return out;
  }

  /** Trainable parameter count (buffers and aliases excluded), as torch's `parameters()` counts. */
  parameterCount(): number {
    let n = 0;
    for (const s of this.specs) if (!s.buffer) n += s.shape.reduce((a, b) => a * b, 1);
    return n;
  }
}
