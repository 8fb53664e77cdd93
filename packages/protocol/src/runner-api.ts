import { z } from 'zod';

/** Most images one runner call may carry; the runner may configure a lower maxBatch. */
export const RUNNER_MAX_ITEMS = 64;

export const runnerItemSchema = z.object({
  prompt: z.string().max(4096),
  seed: z.number().int().min(0).max(0xffffffff),
  psi: z.number().min(0).max(1),
  /** Bundle id, e.g. "aurora-tiny". */
  bundle: z.string().min(1).max(200),
});

/** POST /v1/generate body. */
export const runnerGenerateRequestSchema = z.object({
  items: z.array(runnerItemSchema).min(1).max(RUNNER_MAX_ITEMS),
});

export const runnerImageSchema = z.object({
  prompt: z.string(),
  seed: z.number().int(),
  psi: z.number(),
  bundle: z.string(),
  /** The bundle's manifest content hash: the gateway checks it equals its own before caching. */
  contentHash: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  /** The PNG, base64 (JSON keeps the protocol debuggable with curl; images are ~6-12 KB). */
  pngBase64: z.string(),
});

/** 200 response of POST /v1/generate: one image per item, in item order. */
export const runnerGenerateResponseSchema = z.object({
  images: z.array(runnerImageSchema),
  /** Time this request's items waited in the queue, ran in their batch(es), and spent in total. */
  timings: z.object({ queueMs: z.number(), runMs: z.number(), totalMs: z.number() }),
});

/** GET /v1/info and the body of GET /readyz when ready. */
export const runnerInfoSchema = z.object({
  ready: z.boolean(),
  bundles: z.array(z.object({ id: z.string(), version: z.string(), contentHash: z.string(), trained: z.boolean() })),
  executionProvider: z.string(),
  /** The WebGPU adapter the runner got (webgpu only); cpuEmulated: lavapipe or SwiftShader, a test adapter. */
  adapter: z.object({ description: z.string(), cpuEmulated: z.boolean() }).nullable().optional(),
  maxBatch: z.number().int(),
  queueDepth: z.number().int(),
  queueLimit: z.number().int(),
});

/** Every error body, of runner and gateway alike. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    /** OpenAI-compatible duplicates the gateway adds: the error class and the field (or null). */
    type: z.string().optional(),
    param: z.string().nullable().optional(),
  }),
});

export type RunnerItem = z.infer<typeof runnerItemSchema>;
export type RunnerGenerateRequest = z.infer<typeof runnerGenerateRequestSchema>;
export type RunnerImage = z.infer<typeof runnerImageSchema>;
export type RunnerGenerateResponse = z.infer<typeof runnerGenerateResponseSchema>;
export type RunnerInfo = z.infer<typeof runnerInfoSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
