import { bytesToBase64 } from '@aurora-edge/protocol';
import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppDeps } from '../deps.ts';
import { EdgeError } from '../errors.ts';
import { defer, type EdgeApp, imageUrl, type RouteContext } from './context.ts';
import { idempotency, idempotencyHeaders } from './idempotency.ts';
import { errorResponse, OPTIONAL_KEY } from './responses.ts';
import { generateBodySchema, generateResponseSchema } from './schemas.ts';

const error = errorResponse;

export const generationsRoute = createRoute({
  method: 'post',
  path: '/v1/images/generations',
  summary: 'Generate images from a prompt (OpenAI images API compatible where it makes sense)',
  description:
    'Needs an API key (Authorization: Bearer) when the gateway runs with AUTH_MODE=keys. A request that has to generate anything spends one token of the ' +
    "key's bucket (its rpm), or of the caller IP's bucket without a key; one answered wholly from the cache is free. RateLimit headers come with charged requests.",
  security: OPTIONAL_KEY,
  request: { headers: idempotencyHeaders, body: { required: true, content: { 'application/json': { schema: generateBodySchema } } } },
  responses: {
    200: {
      description: 'The images, in seed order. Header x-aurora-route: cache, wasm and/or runner (comma-joined).',
      headers: { 'x-aurora-route': { schema: { type: 'string' }, description: 'cache | wasm | runner, comma-joined when mixed' } },
      content: { 'application/json': { schema: generateResponseSchema } },
    },
    400: error('A bad field (named in error.field)'),
    401: error('api_key_required (keys mode), invalid_api_key or api_key_revoked'),
    403: error("origin_not_allowed: the Origin is not on the API key's allowlist"),
    404: error('cache: "only" and not every image is cached'),
    409: error('idempotency_key_in_use: a request with this Idempotency-Key is still running'),
    413: error('Body over the size limit'),
    415: error('Body is not JSON, or is compressed (Content-Encoding other than identity)'),
    422: error('idempotency_key_reused: this Idempotency-Key was used with another request body (or route)'),
    429: error("rate_limited: the key's (or this IP's) bucket is empty; Retry-After and RateLimit headers say when it refills"),
    503: error('The batch needs a GPU runner and none is available (Retry-After)'),
  },
});

/**
 * The body checks of a JSON POST route, before its body is read: no compression (415), at most
 * deps.maxBodyBytes (413). With a Content-Length the header decides, without touching the body
 * (cheaper on Node); a chunked body is counted as it streams in.
 */
export function jsonBodyLimits(deps: AppDeps): MiddlewareHandler {
  const tooLarge = () => {
    throw new EdgeError(413, 'payload_too_large', `request body is over ${deps.maxBodyBytes} bytes`, { field: 'body' });
  };
  const streamed = bodyLimit({ maxSize: deps.maxBodyBytes, onError: tooLarge });
  return async (c, next) => {
    // A compressed body would be read as JSON text and fail as invalid_json: say what is wrong.
    const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      throw new EdgeError(415, 'unsupported_content_encoding', `send the body uncompressed (Content-Encoding "${encoding}" is not accepted)`, {
        field: 'body',
        headers: { 'accept-encoding': 'identity' },
      });
    }
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamed(c, next);
    if (Number(length) > deps.maxBodyBytes) tooLarge();
    await next();
  };
}

export function registerGenerations(app: EdgeApp, { deps, service }: RouteContext): void {
  app.use(generationsRoute.path, jsonBodyLimits(deps));
  app.use(generationsRoute.path, idempotency(deps.idempotency, deps.access, deps.log));
  app.openapi(generationsRoute, async (c) => {
    const body = c.req.valid('json');
    const b64 = body.response_format === 'b64_json';
    const result = await service.generate({
      prompt: body.prompt,
      n: body.n,
      seed: body.seed,
      psi: body.truncation_psi,
      model: body.model,
      size: body.size,
      cache: body.cache,
      withPng: b64,
      defer: defer(c),
      // A method, not an arrow property: under tsx (esbuild keepNames) a named arrow is wrapped in
      // __name(), one Object.defineProperty per request.
      admit() {
        return deps.access.admit(c);
      },
    });
    c.header('x-aurora-route', result.routes.join(','));
    c.set(
      'imageRoutes',
      result.images.map((img) => img.route),
    );
    return c.json(
      {
        created: Math.floor(Date.now() / 1000),
        model: result.model.id,
        seed: result.seed,
        truncation_psi: result.psi,
        size: result.model.size,
        data: result.images.map((img) => ({
          id: img.id,
          ...(b64 ? { b64_json: bytesToBase64(img.png!) } : { url: imageUrl(c, deps, img.id, img.etag) }),
          seed: img.seed,
          cached: img.cached,
          route: img.route,
        })),
      },
      200,
    );
  });
}
