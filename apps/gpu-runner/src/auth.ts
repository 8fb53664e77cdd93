import { NONCE_HEADER, ReplayGuard, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from '@aurora-edge/protocol';
import type { MiddlewareHandler } from 'hono';
import { RunnerError } from './errors.ts';

/**
 * Gateway -> runner authentication: the request must carry an HMAC of its timestamp, method, path
 * (with query) and raw body under the shared secret (see @aurora-edge/protocol signing). The body
 * is read here as bytes; Hono caches it, so the handler reads the same bytes again for free.
 * A signature is accepted once: the same signed request sent again within its 60 s window (a
 * captured request, replayed) is a 401.
 */
export function hmacAuth(secret: string, now: () => number = Date.now, replay = new ReplayGuard()): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const headers = { timestamp: c.req.header(TIMESTAMP_HEADER), nonce: c.req.header(NONCE_HEADER), signature: c.req.header(SIGNATURE_HEADER) };
    const result = await verifyRequest(secret, c.req.method, url.pathname + url.search, body, headers, now(), replay);
    if (!result.ok) throw new RunnerError(401, 'unauthorized', `request signature rejected: ${result.reason}`);
    await next();
  };
}
