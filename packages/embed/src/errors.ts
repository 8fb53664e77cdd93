import { AuroraApiError } from '@aurora-edge/client';
import type { AuroraErrorDetail } from './events.ts';

/** A failure of the element itself (no HTTP status): a bad attribute, an image that would not load. */
export class EmbedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'EmbedError';
  }
}

/** A bad attribute value, shown as an error naming the attribute. */
export class AttributeError extends EmbedError {
  constructor(
    readonly attribute: string,
    message: string,
  ) {
    super('invalid_attribute', `${attribute}: ${message}`, attribute);
    this.name = 'AttributeError';
  }
}

/** Whatever went wrong, as the detail of `aurora-error` (and the text of the visible error state). */
export function errorDetail(error: unknown, api: string): AuroraErrorDetail {
  if (error instanceof AuroraApiError) {
    if (error.status === 0) {
      return { code: error.code, message: `Could not reach the image API at ${api}: network error, or blocked by CORS (is this site allowed for the key?).` };
    }
    return { status: error.status, code: error.code, message: error.message, field: error.field, retryAfter: error.retryAfter };
  }
  if (error instanceof EmbedError) return { code: error.code, message: error.message, field: error.field };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) };
}
