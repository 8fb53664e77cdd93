import { partialImagesName } from '@aurora-edge/model';
import {
  AURORA_TENSORS,
  decodeInferRequest,
  type EncodedBody,
  encodeInferResponse,
  type InferRequest,
  OipFormatError,
  type Tensor,
  wantsBinaryOutput,
} from '@aurora-edge/protocol';
import { BatcherClosedError, type DynamicBatcher, type ItemResult, QueueFullError } from './batcher.ts';
import { RunnerError } from './errors.ts';
import { servingTensorMetadata } from './serving.ts';
import type { RunnerModel } from './state.ts';

/** One row of an inference request: one image to make. */
export interface ServingRow {
  readonly bundle: string;
  /** [contextLength] token ids, each in [0, vocabSize). */
  readonly inputIds: Int32Array;
  /** [zDim] latent. */
  readonly z: Float32Array;
  readonly psi: number;
  /** The request asked for partial images. */
  readonly partials: boolean;
}

/** A row's image and partial images (RunnerShape.partials order): HWC uint8 views into its batch's NHWC outputs. */
export interface RowImages {
  readonly image: Uint8Array;
  readonly partials: readonly Uint8Array[];
}

export type RunnerBatcher = DynamicBatcher<ServingRow, RowImages>;

export interface ParsedInfer {
  readonly request: InferRequest;
  readonly rows: ServingRow[];
  /** The outputs to answer with, in order: those asked for, else every output of the model. */
  readonly outputs: string[];
}

const INPUTS = [AURORA_TENSORS.inputIds, AURORA_TENSORS.z, AURORA_TENSORS.psi] as const;

function bad(message: string): RunnerError {
  return new RunnerError(400, 'invalid_input', message);
}

function expectTensor(inputs: Map<string, Tensor>, name: string, datatype: string, width: number): { tensor: Tensor; rows: number } {
  const tensor = inputs.get(name);
  if (!tensor) throw bad(`${name}: missing input (the model takes ${INPUTS.join(', ')})`);
  if (tensor.datatype !== datatype) throw bad(`${name}: datatype ${tensor.datatype}, the model takes ${datatype}`);
  const [rows, cols] = tensor.shape;
  if (tensor.shape.length !== 2 || cols !== width || rows < 1)
    throw bad(`${name}: shape [${tensor.shape.join(', ')}], the model takes [-1, ${width}] with at least one row`);
  return { tensor, rows };
}

/**
 * Body -> rows, every check done before anything is queued: a bad request is refused with the
 * tensor named and never reaches a batch it would fail for other requests' rows too.
 */
export function parseInfer(body: Uint8Array, headerLength: string | undefined, model: RunnerModel, maxBatch: number): ParsedInfer {
  let decoded: ReturnType<typeof decodeInferRequest>;
  try {
    decoded = decodeInferRequest(body, headerLength);
  } catch (error) {
    if (error instanceof OipFormatError) throw new RunnerError(400, 'bad_request', error.message);
    throw error;
  }
  const { request, inputs } = decoded;
  for (const name of inputs.keys()) {
    if (!(INPUTS as readonly string[]).includes(name)) throw bad(`${name}: unknown input (the model takes ${INPUTS.join(', ')})`);
  }
  const produced = servingTensorMetadata(model.manifest).outputs.map((t) => t.name);
  for (const out of request.outputs ?? []) {
    if (!produced.includes(out.name)) throw bad(`${out.name}: unknown output (the model gives ${produced.join(', ')})`);
  }
  const outputs = request.outputs ? [...new Set(request.outputs.map((o) => o.name))] : produced;
  const partials = outputs.some((name) => name !== AURORA_TENSORS.images);
  const { contextLength: L, zDim, vocabSize } = model.shape;
  const ids = expectTensor(inputs, AURORA_TENSORS.inputIds, 'INT32', L);
  const z = expectTensor(inputs, AURORA_TENSORS.z, 'FP32', zDim);
  const psi = expectTensor(inputs, AURORA_TENSORS.psi, 'FP32', 1);
  const n = ids.rows;
  if (z.rows !== n || psi.rows !== n)
    throw bad(
      `${AURORA_TENSORS.z}, ${AURORA_TENSORS.psi}: ${z.rows} and ${psi.rows} rows, ${AURORA_TENSORS.inputIds} has ${n}; every input needs one row per image`,
    );
  if (n > maxBatch) throw bad(`${AURORA_TENSORS.inputIds}: ${n} rows, this runner takes at most ${maxBatch} per request (its max_batch_size)`);
  const idData = ids.tensor.data as Int32Array;
  const at = idData.findIndex((v) => v < 0 || v >= vocabSize);
  if (at >= 0)
    throw bad(`${AURORA_TENSORS.inputIds}: [${Math.floor(at / L)}, ${at % L}] = ${idData[at]} is not a token id of this bundle (0..${vocabSize - 1})`);
  const zData = z.tensor.data as Float32Array;
  const zAt = zData.findIndex((v) => !Number.isFinite(v));
  if (zAt >= 0) throw bad(`${AURORA_TENSORS.z}: [${Math.floor(zAt / zDim)}, ${zAt % zDim}] is not a finite number`);
  const psiData = psi.tensor.data as Float32Array;
  const psiAt = psiData.findIndex((v) => !(v >= 0 && v <= 1));
  if (psiAt >= 0) throw bad(`${AURORA_TENSORS.psi}: [${psiAt}, 0] = ${psiData[psiAt]} is not in [0, 1]`);
  const rows = Array.from({ length: n }, (_, i) => ({
    bundle: model.id,
    inputIds: idData.subarray(i * L, (i + 1) * L),
    z: zData.subarray(i * zDim, (i + 1) * zDim),
    psi: psiData[i],
    partials,
  }));
  return { request, rows, outputs };
}

/** Queues the rows (all or none), waits for their images and encodes the inference response. */
export async function infer(batcher: RunnerBatcher, model: RunnerModel, { request, rows, outputs }: ParsedInfer, startedAt: number): Promise<EncodedBody> {
  let pending: Promise<ItemResult<RowImages>[]>;
  try {
    pending = batcher.submit(rows);
  } catch (error) {
    if (error instanceof QueueFullError) {
      throw new RunnerError(429, 'queue_full', `runner overloaded: ${error.message}; retry in ${error.retryAfterS} s or on another runner`, {
        headers: { 'retry-after': String(error.retryAfterS) },
      });
    }
    if (error instanceof BatcherClosedError) throw new RunnerError(503, 'shutting_down', 'the runner is shutting down', { headers: { 'retry-after': '1' } });
    throw error;
  }
  let results: ItemResult<RowImages>[];
  try {
    results = await pending;
  } catch (error) {
    throw new RunnerError(500, 'generation_failed', `generation failed: ${(error as Error).message}`, { cause: error });
  }
  const { height, width, channels, partials } = model.shape;
  /** One output tensor: every row's image of side h x w (from `pick`), stacked NHWC. */
  const stack = (name: string, h: number, w: number, pick: (r: RowImages) => Uint8Array | undefined): Tensor => {
    const size = h * w * channels;
    const data = new Uint8Array(rows.length * size);
    results.forEach(({ value }, i) => {
      const image = pick(value);
      if (image?.length !== size)
        throw new RunnerError(500, 'generation_failed', `generation failed: ${name} of row ${i} has ${image?.length ?? 0} bytes, expected ${size}`);
      data.set(image, i * size);
    });
    return { name, datatype: 'UINT8', shape: [rows.length, h, w, channels], data };
  };
  const tensors = outputs.map((name) => {
    if (name === AURORA_TENSORS.images) return stack(name, height, width, (r) => r.image);
    const k = partials.findIndex((res) => partialImagesName(res) === name);
    return stack(name, partials[k], partials[k], (r) => r.partials[k]);
  });
  const runs = new Map(results.map((r) => [r.batch, r.runMs]));
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return encodeInferResponse(
    {
      model_name: model.id,
      model_version: model.contentHash,
      ...(request.id !== undefined ? { id: request.id } : {}),
      parameters: {
        queue_ms: round(Math.max(...results.map((r) => r.queuedMs))),
        run_ms: round([...runs.values()].reduce((a, b) => a + b, 0)),
        total_ms: round(performance.now() - startedAt),
      },
    },
    tensors,
    (name) => wantsBinaryOutput(request, name),
  );
}
