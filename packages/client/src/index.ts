/** @aurora-edge/client: a small typed SDK for the Aurora Edge image API (browsers, Workers, Node). */
export { AuroraClient, type AuroraClientOptions, type CallOptions } from './client.ts';
export { type BatchCreateOptions, type BatchEventsOptions, type BatchGetOptions, Batches } from './batches.ts';
export { AuroraApiError, type AuroraApiErrorOptions } from './errors.ts';
export { parseRateLimit, parseRetryAfter } from './headers.ts';
export { parseSse, type SseMessage, type SseState } from './sse.ts';
export type {
  Batch,
  BatchCreateRequest,
  BatchCreateResult,
  BatchEvent,
  BatchEventType,
  BatchImage,
  BatchItem,
  BatchPage,
  BatchStatus,
  BatchWebhookEvent,
  BatchWebhookType,
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
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookBody,
  type WebhookHeaderSource,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from './webhooks.ts';
