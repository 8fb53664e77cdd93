import { z } from 'zod';
import { clipTextConfigSchema } from '../clip/config.ts';
import { generatorConfigSchema } from '../config/generator-config.ts';
import { canonicalJson, sha256Hex } from './sha256.ts';

export const BUNDLE_FORMAT = 'aurora-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

const fileName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name');

const graphSchema = z.object({
  graph: fileName,
  /** Weights stored beside the graph (ONNX external data), or null when embedded. */
  externalData: fileName.nullable(),
  parameters: z.number().int().nonnegative(),
});

const evalFiguresSchema = z.object({
  colour_acc: z.number(),
  shape_acc: z.number(),
  heldout_acc: z.number(),
  diversity: z.number().nullable(),
  /** Which latent seeds and psi the figures were measured on (never the seeds a checkpoint was picked with). */
  seeds: z.string(),
});

const trainingSchema = z.object({
  command: z.string(),
  commit: z.string(),
  seed: z.number().int(),
  steps: z.number().int().nonnegative(),
  images: z.number().int().nonnegative(),
  wallSeconds: z.number().nonnegative(),
  machine: z.string(),
  framework: z.string(),
  eval: evalFiguresSchema.optional(),
  notes: z.string().optional(),
});

const promptsSchema = z.object({
  vocabulary: z.record(z.string(), z.array(z.string())),
  examples: z.array(z.string()),
});

export const bundleManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -'),
  version: z.string().min(1),
  description: z.string().default(''),
  /** False for bundles with random weights: their images are noise, honestly labelled. */
  trained: z.boolean(),
  /** Side of the images the generator makes (its last ms_training_res, at most config.resolution). */
  resolution: z.number().int().positive(),
  parameters: z.number().int().nonnegative(),
  generator: graphSchema.extend({
    config: generatorConfigSchema,
    numLayers: z.number().int().positive(),
    /**
     * The same generator for GPU execution providers (webgpu, cuda): the grouped MoE, whose shapes
     * are fixed by the batch, instead of the sparse one's NonZero dispatch (CPU and WASM run that
     * faster; a GPU would run it on the host). Same weights: it reads `externalData`. Absent when
     * the model has no MoE layer, or in bundles made before it existed.
     */
    gpuGraph: fileName.optional(),
    /**
     * The same generator split after the text head (generator/stages.ts), for requests that change
     * the text codes in between (prompt interpolation): `text` maps CLIP features to the global and
     * local codes, `image` (and `imageGpu`, its grouped-MoE form) maps codes and latents to images.
     * Same weights: they read `externalData`. Absent in bundles made before it existed.
     */
    stages: z.object({ text: fileName, image: fileName, imageGpu: fileName.optional() }).optional(),
  }),
  textEncoder: graphSchema.extend({ config: clipTextConfigSchema }),
  /**
   * The serving graph (serving/serving-graph.ts): token ids, latents and psi -> uint8 NHWC images,
   * text encoder and postprocess included, for tensor servers (Triton, our runner) and the
   * pipeline. `gpuGraph` is its grouped-MoE form. No weights of its own: each initializer refers
   * to the data file in `externalData` that already holds it (the text encoder's and the
   * generator's). `partials`: sides of its partial_images_<res> outputs. Absent in bundles made
   * before it existed (`aurora upgrade` adds it).
   */
  serving: z
    .object({
      graph: fileName,
      gpuGraph: fileName.optional(),
      externalData: z.array(fileName),
      partials: z.array(z.number().int().positive()),
    })
    .optional(),
  tokenizer: z.object({
    type: z.literal('clip-bpe'),
    vocab: fileName,
    mergeCount: z.number().int().nonnegative(),
    contextLength: z.number().int().positive(),
  }),
  sampling: z.object({
    /** Latents averaged into the text-conditional centre (the reference's loop_mapping). */
    centerCount: z.number().int().positive(),
    defaultPsi: z.number().min(0).max(1),
  }),
  files: z.record(fileName, z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })),
  /** How a trained bundle was made, so it can be reproduced: the trainer's run record and measured eval. */
  training: trainingSchema.optional(),
  /** What a trained model can draw: the words it knows by kind, and prompts to try (demo, /v1/models). */
  prompts: promptsSchema.optional(),
});

export type BundleManifest = z.output<typeof bundleManifestSchema>;
export type BundleManifestInput = z.input<typeof bundleManifestSchema>;

export class BundleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BundleError';
  }
}

export function parseBundleManifest(json: unknown, where = 'manifest.json'): BundleManifest {
  const result = bundleManifestSchema.safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BundleError(`${where} is not a valid Aurora bundle manifest:\n${lines.join('\n')}`);
  }
  for (const name of referencedFiles(result.data)) {
    if (!result.data.files[name]) throw new BundleError(`${where}: ${name} is used but not listed in files`);
  }
  return result.data;
}

export function referencedFiles(m: BundleManifest): string[] {
  const stages = m.generator.stages;
  const serving = m.serving ? [m.serving.graph, m.serving.gpuGraph ?? null, ...m.serving.externalData] : [];
  return [m.generator.graph, m.generator.gpuGraph ?? null, stages?.text ?? null, stages?.image ?? null, stages?.imageGpu ?? null, m.generator.externalData, m.textEncoder.graph, m.textEncoder.externalData, m.tokenizer.vocab, ...serving].filter(
    (n): n is string => n !== null,
  );
}

/**
 * The bundle's identity: sha256 of its canonical manifest, which lists the sha256 of every
 * file. Any change to a weight, graph, vocab or setting changes it, so it keys every cache.
 */
export function manifestContentHash(m: BundleManifest): string {
  return sha256Hex(canonicalJson(m));
}
