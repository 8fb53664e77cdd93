import type { RateLimitInfo } from './types.ts';

export interface AuroraApiErrorOptions {
  readonly field?: string;
  /** Seconds to wait before retrying (from Retry-After), on 429 and 503. */
  readonly retryAfter?: number;
  readonly rateLimit?: RateLimitInfo | null;
  readonly url?: string;
  readonly cause?: unknown;
}

/**
 * The client's one error class. `status` is the HTTP status, or 0 when no response could be read
 * (network failure, or a cross-origin response the browser withheld: CORS); `code` is the
 * gateway's machine code (`invalid_api_key`, `origin_not_allowed`, `rate_limited`, ...), or
 * `network_error` / `http_<status>` when the body was not the gateway's JSON.
 */
export class AuroraApiError extends Error {
  readonly field?: string;
  readonly retryAfter?: number;
  readonly rateLimit: RateLimitInfo | null;
  readonly url?: string;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: AuroraApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AuroraApiError';
    this.field = options.field;
    this.retryAfter = options.retryAfter;
    this.rateLimit = options.rateLimit ?? null;
    this.url = options.url;
  }

  /** 401 or 403: the key is missing, wrong, or not allowed from this origin. */
  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }

  get isRateLimited(): boolean {
    return this.status === 429;
  }
}
