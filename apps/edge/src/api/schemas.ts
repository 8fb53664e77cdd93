import { MAX_INTERPOLATION_STEPS, MAX_SEED } from '@aurora-edge/model';
import { z } from '@hono/zod-openapi';

/** Longest prompt accepted, in characters; the tokenizer's 77-token limit is checked as well. */
export const MAX_PROMPT_CHARS = 1000;
export const MAX_N = 16;
/** Most partial images a streamed generation asks for per image (OpenAI's bound too). */
export const MAX_PARTIAL_IMAGES = 3;

const prompt = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`)
  .refine((s) => s.trim().length > 0, 'must not be blank');
const seed = z.number().int().min(0).max(MAX_SEED);
const psi = z.number().min(0).max(1);
const model = z.string().min(1).max(200);
const size = z.string().regex(/^\d+x\d+$/, 'must look like "64x64"');
const responseFormat = z.enum(['url', 'b64_json']);

/** null and absent mean the same for optional fields (OpenAI clients send both). */
const opt = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

export const generateBodySchema = z
  .object({
    prompt: prompt.openapi({ example: 'a red apple on a wooden table' }),
    n: z
      .number()
      .int()
      .min(1)
      .max(MAX_N)
      .default(1)
      .openapi({ description: `Images to make, 1..${MAX_N}; they use seeds seed, seed+1, ..., seed+n-1.` }),
    response_format: responseFormat.default('url').openapi({ description: 'url: links to GET /v1/images/{id}.png; b64_json: the PNG inline.' }),
    size: opt(size).openapi({ description: 'The model resolution, e.g. "64x64" (the only size a model makes).', example: '64x64' }),
    seed: opt(seed).openapi({
      description: `First seed (uint32). Omitted: a random one, returned in the response so the result can be reproduced; seed + n - 1 must not exceed ${MAX_SEED}.`,
    }),
    truncation_psi: opt(psi).openapi({ description: "Truncation toward the prompt's centre, [0, 1]; default the model's sampling.defaultPsi." }),
    model: opt(model).openapi({ description: 'Bundle id (GET /v1/models); default the first model.', example: 'aurora-tiny' }),
    cache: z
      .enum(['use', 'refresh', 'only'])
      .default('use')
      .openapi({ description: 'use: serve cached images, generate the rest; refresh: regenerate and replace; only: never generate (404 unless all cached).' }),
    stream: opt(z.boolean()).openapi({
      description:
        'true: the answer is text/event-stream, as OpenAI streams image generations (image_generation.partial_image and image_generation.completed events, b64_json always; response_format is ignored). Not with Idempotency-Key (400).',
    }),
    partial_images: opt(z.number().int().min(0).max(MAX_PARTIAL_IMAGES)).openapi({
      description: `With stream: true, up to this many (0..${MAX_PARTIAL_IMAGES}, default 0) partial images per image before it completes, from the generator's lower-resolution outputs (in-process generations only; fewer or none otherwise). Above 0 without stream: 400.`,
    }),
  })
  .openapi('GenerateRequest');

/** Frames of an interpolation when the request names none (the reference's inter_step default). */
export const DEFAULT_INTERPOLATION_STEPS = 9;

export const interpolateBodySchema = z
  .object({
    from: prompt.openapi({
      description: 'The source prompt (frame 0), as a generation prompt: 1..1000 characters, at most 77 CLIP tokens.',
      example: 'a red apple',
    }),
    to: prompt.openapi({ description: 'The destination prompt (the last frame).', example: 'a green pear' }),
    steps: z
      .number()
      .int()
      .min(2)
      .max(MAX_INTERPOLATION_STEPS)
      .default(DEFAULT_INTERPOLATION_STEPS)
      .openapi({ description: `Frames, 2..${MAX_INTERPOLATION_STEPS} (frame 0 = from, the last = to, blend weights linspace(0, 1, steps)).` }),
    seed: opt(seed).openapi({ description: 'The one latent z every frame uses (uint32). Omitted: a random one, returned in the response.' }),
    truncation_psi: opt(psi).openapi({ description: "Truncation psi, [0, 1]; default the model's sampling.defaultPsi." }),
    interpolate: z.enum(['local', 'local+global']).default('local').openapi({
      description:
        "local (the reference run_interpolate.py's default): blend the text head's local codes, the mapping always sees the source's global code; local+global: blend the global code too (the reference's --inter_g).",
    }),
    centre: z.enum(['none', 'text']).default('none').openapi({
      description:
        "none (the reference's): truncate toward w_avg only; text: then also toward the text-conditional centre our generations use (the mean code of the model's sampling.centerCount latents mapped with the frame's global code).",
    }),
    model: opt(model).openapi({
      description: 'Bundle id (GET /v1/models); default the first model. It must have interpolation stages.',
      example: 'aurora-tiny',
    }),
    response_format: responseFormat
      .default('url')
      .openapi({ description: 'url: links to GET /v1/images/{id}.png; b64_json: the PNGs inline (format "frames" only).' }),
    format: z
      .enum(['frames', 'apng'])
      .default('frames')
      .openapi({ description: 'frames: the JSON answer (every frame and the animation); apng: the body is the animated PNG itself (image/png).' }),
  })
  .openapi('InterpolateRequest');

export const interpolationFrameSchema = z
  .object({
    index: z.number().int().openapi({ description: 'Frame number, 0..steps-1.' }),
    t: z.number().openapi({ description: 'Blend weight toward `to`, [0, 1] (float32 of linspace(0, 1, steps)).' }),
    id: z.string().openapi({ description: "The frame's cache key, also its image id in /v1/images/{id}.png." }),
    url: z.string().optional().openapi({ description: 'This version of the frame, /v1/images/{id}.{version}.png (immutable).' }),
    b64_json: z.string().optional(),
  })
  .openapi('InterpolationFrame');

export const interpolationAnimationSchema = z
  .object({
    id: z.string().openapi({ description: "The animation's cache key, also its image id in /v1/images/{id}.png." }),
    url: z.string().optional().openapi({ description: 'The animated PNG (APNG: every frame, 120 ms each, looping forever), /v1/images/{id}.{version}.png.' }),
    b64_json: z.string().optional(),
  })
  .openapi('InterpolationAnimation');

export const interpolationResponseSchema = z
  .object({
    created: z.number().int().openapi({ description: 'Unix seconds.' }),
    model: z.string(),
    from: z.string().openapi({ description: 'The source prompt as sent.' }),
    to: z.string().openapi({ description: 'The destination prompt as sent.' }),
    steps: z.number().int(),
    seed: z.number().int().openapi({ description: 'The seed used (the one chosen when the request gave none).' }),
    truncation_psi: z.number(),
    interpolate: z.enum(['local', 'local+global']),
    centre: z.enum(['none', 'text']),
    data: z.array(interpolationFrameSchema).openapi({ description: 'The frames in order, from (index 0) to to (index steps-1).' }),
    animation: interpolationAnimationSchema,
  })
  .openapi('InterpolationResponse');

const routeSchema = z.enum(['cache', 'wasm', 'runner']);

export const generatedImageSchema = z
  .object({
    id: z.string().openapi({ description: 'The cache key, also the image id in /v1/images/{id}.png (its current bytes).' }),
    url: z
      .string()
      .optional()
      .openapi({ description: 'This version of the image, /v1/images/{id}.{version}.png: immutable, 404 once other bytes replace it.' }),
    b64_json: z.string().optional(),
    seed: z.number().int(),
    cached: z.boolean().openapi({ description: 'True when served from the cache without generating.' }),
    route: routeSchema,
  })
  .openapi('GeneratedImage');

export const generateResponseSchema = z
  .object({
    created: z.number().int().openapi({ description: 'Unix seconds.' }),
    model: z.string(),
    seed: z.number().int().openapi({ description: 'The first seed (the one chosen when the request gave none).' }),
    truncation_psi: z.number(),
    size: z.string(),
    data: z.array(generatedImageSchema),
  })
  .openapi('GenerateResponse');

const queryInt = z
  .string()
  .regex(/^\d{1,10}$/, 'must be an integer')
  .transform(Number)
  .pipe(seed);
const queryPsi = z
  .string()
  .regex(/^(0|1)(\.\d+)?$|^\.\d+$/, 'must be a number in [0, 1]')
  .transform(Number)
  .pipe(psi);

export const cacheQuerySchema = z.object({
  prompt,
  seed: queryInt,
  model: model.optional(),
  psi: queryPsi.optional(),
  size: size.optional(),
  response_format: responseFormat.default('url'),
});

export const cacheEntrySchema = z
  .object({
    id: z.string(),
    url: z.string(),
    b64_json: z.string().optional(),
    model: z.string(),
    prompt: z.string().openapi({ description: 'The normalised prompt the key was made from.' }),
    seed: z.number().int(),
    truncation_psi: z.number(),
    size: z.string(),
    route: routeSchema.openapi({ description: 'Where the image was generated.' }),
    created: z.number().int(),
    hit_count: z.number().int(),
    generate_ms: z.number(),
    bytes: z.number().int(),
  })
  .openapi('CacheEntry');

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'Stable machine code, e.g. invalid_request, rate_limited, no_runner.' }),
      message: z.string(),
      field: z.string().optional().openapi({ description: 'The request field at fault, when one is.' }),
      type: z.string().openapi({ description: 'OpenAI-style class: invalid_request_error, authentication_error, rate_limit_error or server_error.' }),
      param: z.string().nullable().openapi({ description: 'OpenAI-style copy of field (null when none).' }),
      request_id: z.string().optional().openapi({
        description: "This request's id, also its x-request-id header: the server log's line for it holds the details (5xx messages name no internal address).",
      }),
    }),
  })
  .openapi('Error');

export const modelPromptsSchema = z
  .object({
    vocabulary: z
      .record(z.string(), z.array(z.string()))
      .openapi({ description: 'The words the model was trained on, by kind (colours, shapes, sizes, positions, backgrounds).' }),
    examples: z.array(z.string()).openapi({ description: 'Prompts to try, as the model was built to draw them.' }),
  })
  .openapi('ModelPrompts', { description: 'What a trained model can be asked for (from its manifest).' });

export const modelEvalSchema = z
  .object({
    colour_acc: z.number().openapi({ description: 'Share of images whose shape has the colour asked for, [0, 1].' }),
    shape_acc: z.number().openapi({ description: 'Share of images with the shape asked for, [0, 1] (1/3 is chance).' }),
    heldout_acc: z.number().openapi({ description: 'Colour and shape both right, on colour-shape pairs never seen in training, [0, 1].' }),
    diversity: z.number().nullable().openapi({ description: 'Mean pixel distance between seeds of one prompt; null when not measured.' }),
    seeds: z.string().openapi({ description: 'The latent seeds and psi measured on (never those the checkpoint was picked with).' }),
  })
  .openapi('ModelEval', { description: "The training run's measured eval figures (from the manifest's training record)." });

export const modelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    version: z.string(),
    description: z.string(),
    trained: z.boolean().openapi({ description: 'False for random weights: the images are patterns, not pictures of the prompt.' }),
    content_hash: z.string(),
    size: z.string(),
    default_psi: z.number(),
    parameters: z.number().int(),
    prompts: modelPromptsSchema.optional(),
    eval: modelEvalSchema.optional(),
  })
  .openapi('Model');

export const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) }).openapi('ModelList');

export const healthSchema = z
  .object({
    ok: z.boolean(),
    runtime: z.string(),
    models: z.array(z.object({ id: z.string(), wasm_loaded: z.boolean(), wasm_queue: z.number().int() })),
    wasm_heap_bytes: z.number().int(),
    in_flight: z.number().int(),
    runners: z.array(z.object({ healthy: z.boolean(), in_flight: z.number().int(), queue_depth: z.number().int().nullable(), bundles: z.array(z.string()) })),
    cache: z
      .object({
        max_bytes: z.number().int(),
        max_entries: z.number().int(),
        estimated_bytes: z.number().int().nullable(),
        estimated_entries: z.number().int().nullable(),
      })
      .openapi({ description: "The cache bound (0: none) and this process's latest estimate of the usage (null before its first save)." }),
  })
  .openapi('Health');
