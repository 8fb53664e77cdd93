/** @aurora-edge/client: a small typed SDK for the Aurora Edge image API (browsers, Workers, Node). */
export { AuroraClient, type AuroraClientOptions, type CallOptions } from './client.ts';
export { AuroraApiError, type AuroraApiErrorOptions } from './errors.ts';
export { parseRateLimit, parseRetryAfter } from './headers.ts';
export type {
  CacheEntry,
  CacheMode,
  ErrorBody,
  GenerateRequest,
  GenerateResponse,
  GenerateResult,
  ImageData,
  InterpolateRequest,
  InterpolateResult,
  InterpolationFrame,
  InterpolationResponse,
  LookupRequest,
  ModelEval,
  ModelInfo,
  ModelList,
  ModelPrompts,
  RateLimitInfo,
  ResponseFormat,
} from './types.ts';
