import { bytesToBase64 } from '@aurora-edge/protocol';
import { createRoute, z } from '@hono/zod-openapi';
import type { StoredPart } from '../generate/interpolation.ts';
import { defer, type EdgeApp, imageUrl, type RouteContext } from './context.ts';
import { jsonBodyLimits } from './generations.ts';
import { imageFileName } from './image-version.ts';
import { idempotency, idempotencyHeaders } from './idempotency.ts';
import { errorResponse, OPTIONAL_KEY } from './responses.ts';
import { interpolateBodySchema, interpolationResponseSchema } from './schemas.ts';

const error = errorResponse;

export const interpolationsRoute = createRoute({
  method: 'post',
  path: '/v1/images/interpolations',
  summary: 'One prompt turning into another: frames and an animated PNG (the reference run_interpolate.py)',
  description:
    'One latent z (the seed); the text codes of `from` and `to` blended linearly over `steps` frames, run as one batch. Every frame and the animation ' +
    'is cached under its own key and served by GET /v1/images/{id}.png, so a repeated request is a cache hit (x-aurora-route: cache). Frames are made ' +
    'in-process (WASM), never on GPU runners. Auth and rate limits as for generations: a frame set that has to be made is ONE charged request (one token), ' +
    'one answered from the cache is free. format "apng" answers with the animated PNG itself.',
  security: OPTIONAL_KEY,
  request: { headers: idempotencyHeaders, body: { required: true, content: { 'application/json': { schema: interpolateBodySchema } } } },
  responses: {
    200: {
      description:
        'format "frames": the frames in order and the animation (JSON); format "apng": the animated PNG (120 ms a frame, looping forever). Header x-aurora-route: cache or wasm.',
      headers: { 'x-aurora-route': { schema: { type: 'string' }, description: 'cache (every part was cached) or wasm (made in-process)' } },
      content: {
        'application/json': { schema: interpolationResponseSchema },
        'image/png': { schema: z.string().openapi({ format: 'binary' }) },
      },
    },
    400: error('A bad field (named in error.field), or a model without interpolation stages (field model)'),
    401: error('api_key_required (keys mode), invalid_api_key or api_key_revoked'),
    403: error("origin_not_allowed: the Origin is not on the API key's allowlist"),
    409: error('idempotency_key_in_use: a request with this Idempotency-Key is still running'),
    413: error('Body over the size limit'),
    415: error('Body is not JSON, or is compressed (Content-Encoding other than identity)'),
    422: error('idempotency_key_reused: this Idempotency-Key was used with another request body (or route)'),
    429: error("rate_limited: the key's (or this IP's) bucket is empty; Retry-After and RateLimit headers say when it refills"),
    503: error('busy: the in-process queue is full (Retry-After); or database_busy'),
  },
});

export function registerInterpolations(app: EdgeApp, { deps, interpolations }: RouteContext): void {
  app.use(interpolationsRoute.path, jsonBodyLimits(deps));
  app.use(interpolationsRoute.path, idempotency(deps.idempotency, deps.access, deps.log));
  app.openapi(interpolationsRoute, async (c) => {
    const body = c.req.valid('json');
    const apng = body.format === 'apng';
    const b64 = !apng && body.response_format === 'b64_json';
    const result = await interpolations.interpolate({
      from: body.from,
      to: body.to,
      steps: body.steps,
      seed: body.seed,
      psi: body.truncation_psi,
      interpolate: body.interpolate,
      centre: body.centre,
      model: body.model,
      withPng: b64,
      withAnimation: apng,
      defer: defer(c),
      admit() {
        return deps.access.admit(c);
      },
    });
    c.header('x-aurora-route', result.route);
    c.set(
      'imageRoutes',
      result.frames.map(() => result.route),
    );
    const { animation } = result;
    if (apng) {
      const png = animation.png!;
      // Where these bytes live as an image (the versioned URL of the animation).
      c.header('content-location', `/v1/images/${imageFileName(animation.id, animation.etag)}`);
      return c.body(png as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'image/png',
        'content-length': String(png.byteLength),
        etag: `"${animation.etag}"`,
      });
    }
    const link = (part: StoredPart) => (b64 ? { b64_json: bytesToBase64(part.png!) } : { url: imageUrl(c, deps, part.id, part.etag) });
    return c.json(
      {
        created: Math.floor(Date.now() / 1000),
        model: result.model.id,
        from: body.from,
        to: body.to,
        steps: result.steps,
        seed: result.seed,
        truncation_psi: result.psi,
        interpolate: result.interpolate,
        centre: result.centre,
        data: result.frames.map((f) => ({ index: f.index, t: f.t, id: f.id, ...link(f) })),
        animation: { id: animation.id, ...link(animation) },
      },
      200,
    );
  });
}
