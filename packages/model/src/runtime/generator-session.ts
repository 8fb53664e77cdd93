import { CLIP_CONTEXT_LENGTH } from '../clip/config.ts';
import type { InferenceSession, OrtModule, Tensor } from './ort-types.ts';

export interface GeneratorShape {
  readonly clipWidth: number;
  /** Token positions per prompt: the bundle's tokenizer context length (CLIP's 77 when omitted). */
  readonly contextLength?: number;
  readonly zDim: number;
  readonly numLayers: number;
}

/** One batch for the generator graph; arrays are row-major and hold `batch` samples each. */
export interface GeneratorBatch {
  /** [N, contextLength, clipWidth] CLIP text features. */
  readonly textTokens: Float32Array;
  /** [N] EOT positions. */
  readonly eotIndex: readonly number[];
  /** [N, zDim] latents. */
  readonly z: Float32Array;
  /** [N] truncation psi per sample. */
  readonly psi: readonly number[];
  /** Leading layers to truncate; defaults to all (the reference script's default). */
  readonly truncLayers?: number;
  /** Text-conditional centre: K latents per sample, [N, K, zDim], used where useCenter is true. */
  readonly center?: { readonly count: number; readonly z: Float32Array; readonly use: readonly boolean[] };
}

/** Runs a generator graph; the feeds follow buildGenerator's input contract. */
export class GeneratorSession {
  private constructor(
    private readonly ort: OrtModule,
    readonly session: InferenceSession,
    readonly shape: GeneratorShape,
  ) {}

  static async create(ort: OrtModule, model: Uint8Array, shape: GeneratorShape, options?: InferenceSession.SessionOptions): Promise<GeneratorSession> {
    return new GeneratorSession(ort, await ort.InferenceSession.create(model, options), shape);
  }

  static wrap(ort: OrtModule, session: InferenceSession, shape: GeneratorShape): GeneratorSession {
    return new GeneratorSession(ort, session, shape);
  }

  feeds(batch: GeneratorBatch): Record<string, Tensor> {
    const { Tensor } = this.ort;
    const n = batch.eotIndex.length;
    const { clipWidth, zDim, numLayers } = this.shape;
    const positions = this.shape.contextLength ?? CLIP_CONTEXT_LENGTH;
    expectLength('textTokens', batch.textTokens, n * positions * clipWidth);
    expectLength('z', batch.z, n * zDim);
    if (batch.psi.length !== n) throw new RangeError(`psi: expected ${n} values, got ${batch.psi.length}`);
    const k = batch.center?.count ?? 1;
    const centerZ = batch.center?.z ?? new Float32Array(n * zDim);
    expectLength('center.z', centerZ, n * k * zDim);
    const use = batch.center?.use ?? new Array<boolean>(n).fill(false);
    return {
      text_tokens: new Tensor('float32', batch.textTokens, [n, positions, clipWidth]),
      eot_index: new Tensor('int64', BigInt64Array.from(batch.eotIndex, (v) => BigInt(v)), [n]),
      z: new Tensor('float32', batch.z, [n, zDim]),
      trunc_psi: new Tensor('float32', Float32Array.from(batch.psi), [n]),
      // Clamped to [0, L]: the graph truncates layers i < trunc_layers, so larger or negative counts mean the same.
      trunc_layers: new Tensor('int64', BigInt64Array.of(BigInt(Math.min(numLayers, Math.max(0, Math.trunc(batch.truncLayers ?? numLayers))))), [1]),
      center_z: new Tensor('float32', centerZ, [n, k, zDim]),
      use_center: new Tensor('bool', Uint8Array.from(use, (u) => (u ? 1 : 0)), [n]),
    };
  }

  async run(batch: GeneratorBatch, outputs: readonly string[] = ['image']): Promise<Record<string, Tensor>> {
    return this.session.run(this.feeds(batch), [...outputs]);
  }
}

function expectLength(name: string, data: ArrayLike<number>, expected: number): void {
  if (data.length !== expected) throw new RangeError(`${name}: expected ${expected} values, got ${data.length}`);
}
