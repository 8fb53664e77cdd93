/**
 * The gateway's public API (issue 5), as plain types: the client adds no runtime schema library
 * so that the embed script stays small. The gateway validates; the client checks only what it
 * must to build a request (see client.ts).
 */

export type ResponseFormat = 'url' | 'b64_json';
/** `use`: serve from the cache when present; `refresh`: always generate; `only`: never generate (404 when absent). */
export type CacheMode = 'use' | 'refresh' | 'only';

/** POST /v1/images/generations body. */
export interface GenerateRequest {
  readonly prompt: string;
  /** Images to make, 1..16; seeds are `seed, seed+1, ...`. Default 1. */
  readonly n?: number;
  readonly response_format?: ResponseFormat;
  /** "<w>x<h>"; the models make 64x64. */
  readonly size?: string;
  /** uint32; the gateway picks one when omitted. */
  readonly seed?: number;
  /** Truncation psi in [0, 1]; the model's default when omitted. */
  readonly truncation_psi?: number;
  /** Bundle id, e.g. "aurora-tiny"; the gateway's default model when omitted. */
  readonly model?: string;
  readonly cache?: CacheMode;
}

/** One image of a response: `url` or `b64_json`, per the request's response_format. */
export interface ImageData {
  /** The image id (its cache key): GET /v1/images/{id}.png serves it. */
  readonly id?: string;
  readonly url?: string;
  readonly b64_json?: string;
  readonly seed: number;
  readonly cached: boolean;
  /** Where it came from: "cache", "wasm" (in the gateway) or "runner" (a GPU runner). */
  readonly route?: string;
}

/** 200 body of POST /v1/images/generations. */
export interface GenerateResponse {
  /** Unix seconds. */
  readonly created: number;
  /** The bundle id that made the images. */
  readonly model?: string;
  /** The first seed: the one the gateway chose when the request gave none, so the call can be repeated. */
  readonly seed?: number;
  readonly truncation_psi?: number;
  readonly size?: string;
  readonly data: ImageData[];
}

/** What `generate` resolves to: the body, with `url`s made absolute, plus response headers that matter. */
export interface GenerateResult extends GenerateResponse {
  /** `x-aurora-route`: how the images were made ("cache", "wasm", "runner", comma-separated when mixed); null when not exposed. */
  readonly route: string | null;
  readonly rateLimit: RateLimitInfo | null;
}

/** GET /v1/cache query: the full cache key. */
export interface LookupRequest {
  readonly prompt: string;
  readonly seed: number;
  readonly model?: string;
  readonly psi?: number;
  /** The model's size, e.g. "64x64" (checked by the gateway like a generation's). */
  readonly size?: string;
  /** b64_json: the PNG inline in the answer as well as its url. */
  readonly response_format?: ResponseFormat;
}

/** What a trained model can be asked for (GET /v1/models, from its bundle manifest). */
export interface ModelPrompts {
  /** The words it was trained on, by kind (colours, shapes, sizes, positions, backgrounds). */
  readonly vocabulary: Readonly<Record<string, readonly string[]>>;
  /** Prompts to try. */
  readonly examples: readonly string[];
}

/** A trained model's measured eval figures, shares in [0, 1]. */
export interface ModelEval {
  readonly colour_acc: number;
  readonly shape_acc: number;
  /** Colour and shape both right on colour-shape pairs never seen in training. */
  readonly heldout_acc: number;
  readonly diversity: number | null;
  /** The latent seeds and psi measured on. */
  readonly seeds: string;
}

/**
 * One entry of GET /v1/models. Only `id` is relied upon (other OpenAI-style servers send little
 * more); the fields an Aurora gateway sends are typed, `prompts` and `eval` only for a model whose
 * manifest has them.
 */
export interface ModelInfo {
  readonly id: string;
  readonly version?: string;
  readonly description?: string;
  /** False for random weights: the images are patterns, not pictures of the prompt. */
  readonly trained?: boolean;
  readonly content_hash?: string;
  /** The one size the model makes, e.g. "64x64". */
  readonly size?: string;
  readonly default_psi?: number;
  readonly parameters?: number;
  readonly prompts?: ModelPrompts;
  readonly eval?: ModelEval;
  readonly [field: string]: unknown;
}

/** Every error body the gateway sends. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

/** The RateLimit headers, whichever draft the gateway speaks; numbers are absent when not sent. */
export interface RateLimitInfo {
  readonly limit?: number;
  readonly remaining?: number;
  /** Seconds until the window resets. */
  readonly reset?: number;
  /** The `RateLimit` (or `RateLimit-*`) header values as received. */
  readonly raw: string;
}
