/**
 * Test helpers that speak the Open Inference Protocol to the runner as any client would: prompts
 * tokenized with the bundle's tokenizer, latents from sampleLatents, psi, and the images read
 * back from the response's `images` tensor (JSON or binary).
 */
import { AuroraPipeline, type BundleSource, loadBundleTokenizer, promptTokenIds, sampleLatents } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { loadOrtNode, readBundleDir } from '@aurora-edge/model/node';
import {
  AURORA_TENSORS,
  decodeInferResponse,
  encodeInferRequest,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type InferResponse,
  type Tensor,
} from '@aurora-edge/protocol';
import { expect } from 'vitest';
import { parityStats, withinParity } from '../../../../packages/model/test/support/parity.ts';

export { parityStats, withinParity };

/** One image to ask for. */
export interface InferRow {
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
}

export interface InferOptions {
  readonly binaryInputs?: boolean;
  /** Default true: request-level binary_data_output. */
  readonly binaryOutputs?: boolean;
  readonly id?: string;
}

/** aurora-tiny's tensor shapes (the built-in bundle is deterministic, so every copy has them). */
const tiny = buildTinyBundle().manifest;
export const TINY = {
  contextLength: tiny.tokenizer.contextLength,
  zDim: tiny.generator.config.z_dim,
  resolution: tiny.resolution,
  channels: tiny.generator.config.image_channels,
  vocabSize: tiny.textEncoder.config.vocabSize,
  partials: tiny.serving?.partials ?? [],
};

let tokenizer: ReturnType<typeof loadBundleTokenizer> | null = null;
let tokenizerDir = '';

/** The rows as the three input tensors (token ids from the bundle at `dir`, or the first one asked for). */
export async function inferTensors(rows: readonly InferRow[], dir?: string): Promise<Tensor[]> {
  if (!tokenizer || (dir && dir !== tokenizerDir)) {
    if (!dir) throw new Error('inferTensors: pass the bundle folder once');
    tokenizerDir = dir;
    tokenizer = loadBundleTokenizer(readBundleDir(dir));
  }
  const tok = await tokenizer;
  const { contextLength: L, zDim } = TINY;
  const ids = new Int32Array(rows.length * L);
  rows.forEach((r, i) => ids.set(promptTokenIds(tok, r.prompt, L), i * L));
  return [
    { name: AURORA_TENSORS.inputIds, datatype: 'INT32', shape: [rows.length, L], data: ids },
    {
      name: AURORA_TENSORS.z,
      datatype: 'FP32',
      shape: [rows.length, zDim],
      data: sampleLatents(
        rows.map((r) => r.seed),
        zDim,
      ),
    },
    { name: AURORA_TENSORS.psi, datatype: 'FP32', shape: [rows.length, 1], data: Float32Array.from(rows, (r) => r.psi) },
  ];
}

/** Sets the bundle the helpers tokenize with (call once per test file, before inferRequestBody). */
export async function useBundle(dir: string): Promise<void> {
  await inferTensors([], dir);
}

export async function inferRequestBody(rows: readonly InferRow[], options: InferOptions = {}): Promise<{ body: Uint8Array; headers: Record<string, string> }> {
  return encodeInferRequest(await inferTensors(rows), {
    binaryInputs: options.binaryInputs ?? false,
    binaryOutputs: options.binaryOutputs ?? true,
    id: options.id,
  });
}

/** A 200 infer response -> its header and one HWC image per row. */
export async function decodeImages(res: Response): Promise<{ response: InferResponse; pixels: Uint8Array[] }> {
  expect(res.status).toBe(200);
  const body = new Uint8Array(await res.arrayBuffer());
  const { response, outputs } = decodeInferResponse(body, res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
  const images = outputs.get(AURORA_TENSORS.images)!;
  const [n, h, w, c] = images.shape;
  expect([h, w, c, images.datatype]).toEqual([TINY.resolution, TINY.resolution, TINY.channels, 'UINT8']);
  const size = h * w * c;
  const data = images.data as Uint8Array;
  return { response, pixels: Array.from({ length: n }, (_, i) => data.subarray(i * size, (i + 1) * size)) };
}

/** Solo runs in this process (onnxruntime-node, batch 1, AuroraPipeline): what each runner image must match. */
export async function referencePipeline(bundleDir: string): Promise<(row: InferRow) => Promise<Uint8Array>> {
  const source: BundleSource = readBundleDir(bundleDir);
  const pipeline = await AuroraPipeline.load(await loadOrtNode(), source, { preferPaths: true });
  const cache = new Map<string, Uint8Array>();
  return async ({ prompt, seed, psi }) => {
    const key = JSON.stringify([prompt, seed, psi]);
    if (!cache.has(key)) cache.set(key, (await pipeline.generate([{ prompt, seed, psi }]))[0].pixels);
    return cache.get(key)!;
  };
}

/** Partial images of solo rows from the bundle's serving graph in this process (ServingSession, batch 1). */
export async function referencePartials(bundleDir: string): Promise<(row: InferRow, res: number) => Promise<Uint8Array>> {
  const pipeline = await AuroraPipeline.load(await loadOrtNode(), readBundleDir(bundleDir), { preferPaths: true });
  const serving = pipeline.serving;
  if (!serving) throw new Error(`${bundleDir} has no serving graph`);
  return async (r, res) => {
    const [ids, z, psi] = await inferTensors([r]);
    const out = await serving.run({ batch: 1, inputIds: ids.data as Int32Array, z: z.data as Float32Array, psi: psi.data as Float32Array, partials: true });
    const partial = out.partials?.find((p) => p.res === res);
    if (!partial) throw new Error(`no partial of side ${res}`);
    return partial.images;
  };
}

/** Every image matches a solo run of its row within the parity bound (batches may move a few bytes by 1). */
export async function expectImagesMatch(rows: readonly InferRow[], pixels: Uint8Array[], reference: (row: InferRow) => Promise<Uint8Array>): Promise<void> {
  expect(pixels.length).toBe(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const stats = parityStats(pixels[i], await reference(rows[i]));
    expect(withinParity(stats), `${rows[i].prompt} seed ${rows[i].seed}: ${JSON.stringify(stats)}`).toBe(true);
  }
}
