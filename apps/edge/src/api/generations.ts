import { bytesToBase64 } from '@aurora-edge/protocol';
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppDeps } from '../deps.ts';
import { EdgeError } from '../errors.ts';
import { defer, type EdgeApp, imageUrl, type RouteContext } from './context.ts';
import { streamGenerations } from './generation-stream.ts';
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
      description:
        'The images, in seed order. Header x-aurora-route: cache, wasm and/or runner (comma-joined). With stream: true, text/event-stream instead: ' +
        "OpenAI's image generation events, each an `event:` line and one `data:` line of JSON: `image_generation.partial_image` " +
        '{ type, b64_json, created_at, size, quality, background, output_format: "png", partial_image_index, seed, partial_size } (up to partial_images per ' +
        'in-process image, before its completed event), `image_generation.completed` { type, b64_json, created_at, size, quality, background, ' +
        'output_format, usage, id, seed, cached, route, model } per image in seed order, and `error` { type: "error", code, message, param, error: { code, ' +
        'message, type, param, request_id } } when generation fails after the stream started. Failures before it starts are the JSON errors below. ' +
        '`: keep-alive` comments every ~10 s while waiting.',
      headers: {
        'x-aurora-route': {
          schema: { type: 'string' },
          description: 'cache | wasm | runner, comma-joined when mixed (streams: only when the images were ready before the first byte)',
        },
      },
      content: {
        'application/json': { schema: generateResponseSchema },
        'text/event-stream': {
          schema: z.string().openapi({
            example:
              'event: image_generation.completed\ndata: {"type":"image_generation.completed","b64_json":"iVBORw0...","created_at":1764873600,"size":"64x64","quality":"auto","background":"opaque","output_format":"png","usage":{"input_tokens":8,"input_tokens_details":{"text_tokens":8,"image_tokens":0},"output_tokens":0,"total_tokens":8},"id":"3f...","seed":7,"cached":false,"route":"wasm","model":"aurora-tiny"}\n\n',
          }),
        },
      },
    },
    400: error('A bad field (named in error.field); partial_images above 0 without stream: true; Idempotency-Key with stream: true'),
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

/**
 * A streamed answer is not stored for replay: Idempotency-Key with stream: true is a 400 naming the
 * header, before the key is claimed (a client retrying a stream simply asks again; the images it
 * got are cached, so the retry costs nothing for them).
 */
function refuseIdempotentStreams(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'POST' && c.req.header('idempotency-key') !== undefined) {
      const body: unknown = await c.req.text().then(
        (text) => JSON.parse(text),
        () => null,
      );
      if (body !== null && typeof body === 'object' && (body as { stream?: unknown }).stream === true) {
        throw new EdgeError(400, 'invalid_request', 'Idempotency-Key: not accepted with stream: true (streamed answers are not replayed)', {
          field: 'Idempotency-Key',
        });
      }
    }
    await next();
  };
}

export function registerGenerations(app: EdgeApp, ctx: RouteContext): void {
  const { deps, service } = ctx;
  app.use(generationsRoute.path, jsonBodyLimits(deps));
  app.use(generationsRoute.path, refuseIdempotentStreams());
  app.use(generationsRoute.path, idempotency(deps.idempotency, deps.access, deps.log));
  app.openapi(generationsRoute, async (c) => {
    const body = c.req.valid('json');
    if ((body.partial_images ?? 0) > 0 && body.stream !== true) {
      throw EdgeError.badRequest('partial_images', 'partial images come only with stream: true');
    }
    if (body.stream === true) return streamGenerations(c, ctx, body);
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
