/**
 * The gateway's public API, as types derived from the zod schemas the gateway validates and
 * documents (apps/edge/src/api/schemas.ts, the same ones GET /openapi.json is generated from), so
 * the SDK cannot drift from what the gateway accepts and sends. The imports are type-only: they are
 * erased when the SDK is bundled, which therefore carries neither zod nor the gateway. The gateway
 * validates; the client checks only what it must to build a request (see client.ts).
 */
import type { z } from 'zod';
import type {
  cacheEntrySchema,
  cacheQuerySchema,
  errorSchema,
  generateBodySchema,
  generatedImageSchema,
  generateResponseSchema,
  interpolateBodySchema,
  interpolationFrameSchema,
  interpolationResponseSchema,
  modelEvalSchema,
  modelListSchema,
  modelPromptsSchema,
  modelSchema,
} from '../../../apps/edge/src/api/schemas.ts';
import type {
  batchCreateBodySchema,
  batchEventTypeSchema,
  batchImageSchema,
  batchItemSchema,
  batchPageSchema,
  batchSchema,
  batchStatusSchema,
} from '../../../apps/edge/src/api/batch-schemas.ts';

/**
 * POST /v1/images/generations body, as the gateway accepts it (defaults optional; null and absent
 * mean the same for size, seed, truncation_psi and model). `n`: 1..16 images with seeds
 * `seed, seed+1, ...`; `seed`: uint32, the gateway picks one when omitted; `truncation_psi` in
 * [0, 1]; `model`: a bundle id from GET /v1/models (default: the first). Without `stream` and
 * `partial_images`: a streamed answer is Server-Sent Events, which `generate()` does not read (the
 * `openai` SDK's `images.generate({ stream: true })` does).
 */
export type GenerateRequest = Readonly<Omit<z.input<typeof generateBodySchema>, 'stream' | 'partial_images'>>;

export type ResponseFormat = NonNullable<GenerateRequest['response_format']>;
/** `use`: serve from the cache when present; `refresh`: always generate; `only`: never generate (404 when absent). */
export type CacheMode = NonNullable<GenerateRequest['cache']>;

/**
 * One image of a generation: `id` (GET /v1/images/{id}.png serves its current bytes), `url` (this
 * version of the bytes) or `b64_json` per the request's response_format, its seed, whether it was
 * served from the cache, and its route ("cache", "wasm" in the gateway, "runner" a GPU runner).
 */
export type ImageData = Readonly<z.output<typeof generatedImageSchema>>;

/** 200 body of POST /v1/images/generations (`seed`: the first seed, the one chosen when the request gave none). */
export type GenerateResponse = Readonly<z.output<typeof generateResponseSchema>>;

/** What `generate` resolves to: the body plus the response headers that matter. */
export interface GenerateResult extends GenerateResponse {
  /** `x-aurora-route`: how the images were made ("cache", "wasm", "runner", comma-separated when mixed); null when not exposed. */
  readonly route: string | null;
  readonly rateLimit: RateLimitInfo | null;
}

/**
 * POST /v1/images/interpolations body (format "frames", the JSON answer): `from` and `to` prompts,
 * `steps` 2..33 frames (default 9), one `seed` for every frame, `truncation_psi`, `interpolate`
 * ("local", the reference's default, or "local+global"), `centre` ("none", the reference's, or
 * "text": our generations' text-conditional centre too), `model`, `response_format`.
 */
export type InterpolateRequest = Readonly<Omit<z.input<typeof interpolateBodySchema>, 'format'>>;

/** One frame of an interpolation: `index`, blend weight `t`, its image `id`, and `url` or `b64_json`. */
export type InterpolationFrame = Readonly<z.output<typeof interpolationFrameSchema>>;

/** 200 body of POST /v1/images/interpolations with format "frames". */
export type InterpolationResponse = Readonly<z.output<typeof interpolationResponseSchema>>;

/** What `interpolate` resolves to: the body plus the response headers that matter. */
export interface InterpolateResult extends InterpolationResponse {
  /** `x-aurora-route`: "cache" (every frame was cached) or "wasm" (made in the gateway); null when not exposed. */
  readonly route: string | null;
  /** True when the whole frame set came from the cache (route "cache"). */
  readonly cached: boolean;
  readonly rateLimit: RateLimitInfo | null;
}

type CacheQuery = z.output<typeof cacheQuerySchema>;

/**
 * GET /v1/cache query: the full cache key (prompt, seed, and the model, psi and size that default
 * as for a generation), with numbers as numbers; `response_format: "b64_json"` adds the PNG inline.
 */
export type LookupRequest = Readonly<Omit<CacheQuery, 'response_format'> & { response_format?: CacheQuery['response_format'] }>;

/** 200 body of GET /v1/cache: one cached image, with what made it and how often it was served. */
export type CacheEntry = Readonly<z.output<typeof cacheEntrySchema>>;

/** What a trained model can be asked for (from its bundle manifest): its vocabulary by kind, and prompts to try. */
export type ModelPrompts = Readonly<z.output<typeof modelPromptsSchema>>;

/** A trained model's measured eval figures, shares in [0, 1]. */
export type ModelEval = Readonly<z.output<typeof modelEvalSchema>>;

/** One entry of GET /v1/models; `prompts` and `eval` only for a model whose manifest has them. */
export type ModelInfo = Readonly<z.output<typeof modelSchema>>;

/** 200 body of GET /v1/models. */
export type ModelList = Readonly<z.output<typeof modelListSchema>>;

/** Every error body the gateway sends. */
export type ErrorBody = Readonly<z.output<typeof errorSchema>>;

/** The RateLimit headers, whichever draft the gateway speaks; numbers are absent when not sent. */
export interface RateLimitInfo {
  readonly limit?: number;
  readonly remaining?: number;
  /** Seconds until the window resets. */
  readonly reset?: number;
  /** The `RateLimit` (or `RateLimit-*`) header values as received. */
  readonly raw: string;
}

/**
 * POST /v1/batches body: `items` (1..10,000, and 10,000 images in all: the sum of their `n`), each
 * `{ prompt, seed?, n?, truncation_psi? }` checked as a generation's; `model`; `webhook`
 * (`{ url, events?: ("progress" | "completed")[] }`, Standard Webhooks messages signed with the
 * key's webhook secret: see verifyWebhook).
 */
export type BatchCreateRequest = Readonly<z.input<typeof batchCreateBodySchema>>;

/** A batch without its items: what POST /v1/batches answers, cancel answers, and every event and webhook carries. */
export type Batch = Readonly<z.output<typeof batchSchema>>;

/** queued -> running -> completed (failed > 0 when some items failed) | cancelled; failed when it could not run at all. */
export type BatchStatus = z.output<typeof batchStatusSchema>;

/** One image of a completed batch item: its id, seed and (absolute) versioned url. */
export type BatchImage = Readonly<z.output<typeof batchImageSchema>>;

/** One item of a batch: its prompt, first seed, n, psi, status, images (once completed) and error (once failed). */
export type BatchItem = Readonly<z.output<typeof batchItemSchema>>;

/** GET /v1/batches/{id}: the batch and one page of its items (`next_after` for the next page). */
export type BatchPage = Readonly<z.output<typeof batchPageSchema>>;

/** SSE event names of GET /v1/batches/{id}/events: progress, then one terminal event. */
export type BatchEventType = z.output<typeof batchEventTypeSchema>;

/** One event of a batch's stream: `id` its sequence number (resume after it with lastEventId). */
export interface BatchEvent {
  readonly id: number;
  readonly event: BatchEventType;
  readonly data: Batch;
}

/** What `batches.create` resolves to: the batch, and whether the gateway replayed an earlier answer for this Idempotency-Key. */
export type BatchCreateResult = Batch & {
  /** `Idempotent-Replayed: true`: this Idempotency-Key had already created the batch; nothing new was queued. */
  readonly replayed: boolean;
};

/** The `type` of a batch webhook message. */
export type BatchWebhookType = `batch.${BatchEventType}`;

/** A verified webhook message (Standard Webhooks payload): its type, when the event happened (ISO 8601), and the batch. */
export interface BatchWebhookEvent {
  readonly type: BatchWebhookType;
  readonly timestamp: string;
  readonly data: Batch;
}
