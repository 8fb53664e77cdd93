import { AuroraApiError } from '@aurora-edge/client';
import { describe, expect, it } from 'vitest';
import { AttributeError, EmbedError, errorDetail } from '../src/errors.ts';

describe('aurora-error details', () => {
  const api = 'https://images.example.com';

  it('keep the gateway status, code, field and Retry-After', () => {
    const e = new AuroraApiError(429, 'rate_limited', 'too many requests', { retryAfter: 12 });
    expect(errorDetail(e, api)).toEqual({ status: 429, code: 'rate_limited', message: 'too many requests', field: undefined, retryAfter: 12 });
  });

  it('say that an unreadable response may be CORS, without inventing a status', () => {
    const detail = errorDetail(new AuroraApiError(0, 'network_error', 'Failed to fetch'), api);
    expect(detail.status).toBeUndefined();
    expect(detail.code).toBe('network_error');
    expect(detail.message).toContain(`${api}: network error, or blocked by CORS`);
  });

  it('name the attribute at fault, and report anything else as internal', () => {
    expect(errorDetail(new AttributeError('seed', 'must be an integer'), api)).toEqual({
      code: 'invalid_attribute',
      message: 'seed: must be an integer',
      field: 'seed',
    });
    expect(errorDetail(new EmbedError('image_load_failed', 'no image'), api)).toMatchObject({ code: 'image_load_failed' });
    expect(errorDetail(new TypeError('boom'), api)).toEqual({ code: 'internal_error', message: 'boom' });
  });
});
