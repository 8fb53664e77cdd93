import type { MiddlewareHandler } from 'hono';

const EXPOSE = 'x-aurora-route,etag,retry-after';

/**
 * CORS for the public API: any origin, no credentials. Headers are set with c.header() before the
 * handler runs (Hono merges them into the response it builds), so no response is copied.
 */
export function publicCors(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') {
      const requested = c.req.header('access-control-request-headers');
      return c.body(null, 204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET,HEAD,POST,OPTIONS',
        ...(requested ? { 'access-control-allow-headers': requested, vary: 'Access-Control-Request-Headers' } : {}),
        'access-control-max-age': '86400',
      });
    }
    c.header('access-control-allow-origin', '*');
    c.header('access-control-expose-headers', EXPOSE);
    await next();
  };
}
