import type { BundleSource } from '../bundle/bundle.ts';
import { BundleError } from '../bundle/manifest.ts';
import { createGraphSession, type SessionLoadOptions } from '../pipeline/sessions.ts';
import {
  partialImagesName,
  SERVING_IMAGES,
  SERVING_INPUT_IDS,
  SERVING_PSI,
  SERVING_Z,
  type ServingShape,
  servingShape,
  type ServingTensors,
  servingTensorsFor,
} from '../serving/tensors.ts';
import type { InferenceSession, OrtModule } from './ort-types.ts';

/** One batch for the serving graph: row-major arrays holding `batch` rows each. */
export interface ServingBatch {
  /** [batch, contextLength] token ids from the bundle's tokenizer. */
  readonly inputIds: Int32Array;
  /** [batch, z_dim] latents (sampleLatents). */
  readonly z: Float32Array;
  /** [batch] truncation psi, one per row (the graph's [batch, 1]). */
  readonly psi: Float32Array;
  readonly batch: number;
  /** Also return the partial images (the lower-resolution images the output is built from). */
  readonly partials?: boolean;
}

export type NhwcDims = readonly [n: number, h: number, w: number, c: number];

export interface ServingImages {
  /** [n, h, w, c] uint8, row-major: image i is bytes [i*h*w*c, (i+1)*h*w*c). */
  readonly images: Uint8Array;
  readonly dims: NhwcDims;
  /** With `partials`: each partial image tensor, smallest first. */
  readonly partials?: readonly { readonly res: number; readonly images: Uint8Array; readonly dims: NhwcDims }[];
}

/**
 * Runs a bundle's serving graph (manifest `serving`): token ids, latents and psi in, uint8 NHWC
 * images out. The low-level form of AuroraPipeline for servers that batch tensors themselves (the
 * GPU runner); its tensors are `servingTensors(manifest)`.
 */
export class ServingSession {
  private constructor(
    private readonly ort: OrtModule,
    readonly session: InferenceSession,
    readonly shape: ServingShape,
  ) {}

  /** Loads serving.onnx, or serving-gpu.onnx (grouped MoE) with `generatorGraph: 'gpu'` where the bundle has it. */
  static async load(ort: OrtModule, source: BundleSource, options: SessionLoadOptions = {}): Promise<ServingSession> {
    const m = source.manifest;
    const shape = servingShape(m);
    if (!m.serving || !shape) throw new BundleError(`bundle ${m.id} has no serving graph (made before it existed): run aurora upgrade on it`);
    const graph = options.generatorGraph === 'gpu' && m.serving.gpuGraph ? m.serving.gpuGraph : m.serving.graph;
    const session = await createGraphSession(ort, source, { graph, externalData: m.serving.externalData }, options);
    return new ServingSession(ort, session, shape);
  }

  static wrap(ort: OrtModule, session: InferenceSession, shape: ServingShape): ServingSession {
    return new ServingSession(ort, session, shape);
  }

  get tensors(): ServingTensors {
    return servingTensorsFor(this.shape);
  }

  async run(batch: ServingBatch): Promise<ServingImages> {
    const { Tensor } = this.ort;
    const n = batch.batch;
    const { contextLength, zDim } = this.shape;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`batch must be a positive integer, got ${n}`);
    expectLength(SERVING_INPUT_IDS, batch.inputIds, n * contextLength);
    expectLength(SERVING_Z, batch.z, n * zDim);
    expectLength(SERVING_PSI, batch.psi, n);
    const names = [SERVING_IMAGES, ...(batch.partials ? this.shape.partials.map(partialImagesName) : [])];
    const out = await this.session.run(
      {
        [SERVING_INPUT_IDS]: new Tensor('int32', batch.inputIds, [n, contextLength]),
        [SERVING_Z]: new Tensor('float32', batch.z, [n, zDim]),
        [SERVING_PSI]: new Tensor('float32', batch.psi, [n, 1]),
      },
      names,
    );
    const take = (name: string) => ({ images: out[name].data as Uint8Array, dims: out[name].dims as unknown as NhwcDims });
    const images = take(SERVING_IMAGES);
    if (!batch.partials) return images;
    return { ...images, partials: this.shape.partials.map((res) => ({ res, ...take(partialImagesName(res)) })) };
  }
}

function expectLength(name: string, data: ArrayLike<number>, expected: number): void {
  if (data.length !== expected) throw new RangeError(`${name}: expected ${expected} values, got ${data.length}`);
}
