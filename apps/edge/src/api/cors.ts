import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * CORS for the public API: `*`, no credentials. Preflights pass for any origin (they carry no key)
 * and allow the headers they ask for; the real request is where an API key's origin allowlist is
 * enforced (403 origin_not_allowed, see auth/access.ts), and its answer, errors included, stays
 * readable so a page can show why. Exposed: what the embed and the SDK read from responses.
 */
export function publicCors(): MiddlewareHandler {
  return cors({
    origin: '*',
    allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    exposeHeaders: [
      'x-aurora-route',
      'x-request-id',
      'etag',
      'retry-after',
      'ratelimit',
      'ratelimit-policy',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'idempotent-replayed',
    ],
    maxAge: 86400,
  });
}
