import type { MiddlewareHandler } from 'hono';

/** What the embed and the SDK read from responses. */
const EXPOSE = 'x-aurora-route,x-request-id,etag,retry-after,ratelimit,ratelimit-policy,ratelimit-limit,ratelimit-remaining,ratelimit-reset';

/**
 * CORS for the public API: `*`, no credentials. Preflights pass for any origin (they carry no key);
 * the real request is where an API key's origin allowlist is enforced (403 origin_not_allowed, see
 * auth/access.ts), and its answer, errors included, stays readable so a page can show why.
 * Headers are set with c.header() before the handler runs (Hono merges them into the response it
 * builds, the onError one included), so no response is copied.
 */
export function publicCors(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') {
      const requested = c.req.header('access-control-request-headers');
      return c.body(null, 204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET,HEAD,POST,OPTIONS',
        'access-control-allow-headers': requested ?? 'authorization,content-type',
        vary: 'Access-Control-Request-Headers',
        'access-control-max-age': '86400',
      });
    }
    c.header('access-control-allow-origin', '*');
    c.header('access-control-expose-headers', EXPOSE);
    await next();
  };
}
