import { bytesToBase64 } from '@aurora-edge/protocol';
import { createRoute } from '@hono/zod-openapi';
import { cacheKey } from '../cache/key.ts';
import { EdgeError } from '../errors.ts';
import { type EdgeApp, imageFields, type RouteContext } from './context.ts';
import { errorResponse, LOOKUP_AUTH_RESPONSES, LOOKUP_KEY_NOTE, OPTIONAL_KEY } from './responses.ts';
import { cacheEntrySchema, cacheQuerySchema } from './schemas.ts';

export const cacheRoute = createRoute({
  method: 'get',
  path: '/v1/cache',
  summary: 'Look one image up in the cache; never generates',
  description: LOOKUP_KEY_NOTE,
  security: OPTIONAL_KEY,
  request: { query: cacheQuerySchema },
  responses: {
    200: { description: 'The cached image', content: { 'application/json': { schema: cacheEntrySchema } } },
    400: errorResponse('A bad query parameter'),
    ...LOOKUP_AUTH_RESPONSES,
    404: errorResponse('not_cached'),
  },
});

export function registerCache(app: EdgeApp, { deps }: RouteContext): void {
  app.openapi(cacheRoute, async (c) => {
    const q = c.req.valid('query');
    const model = deps.models.resolve(q.model);
    const { size, psi, prompt } = model.cacheKeyFields(q);
    const key = cacheKey({ contentHash: model.contentHash, prompt, seed: q.seed, psi, size });
    const meta = await deps.store.meta(key);
    if (!meta) throw EdgeError.notFound('not_cached', `no cached image for this prompt, seed ${q.seed}, psi ${psi} and model ${model.id}`);
    const png = q.response_format === 'b64_json' ? (await deps.store.image(key))?.png : undefined;
    c.header('x-aurora-route', 'cache');
    return c.json(
      {
        ...imageFields(c, deps, meta),
        ...(png ? { b64_json: bytesToBase64(png) } : {}),
        hit_count: meta.hitCount,
        generate_ms: meta.generateMs,
        bytes: meta.byteLength,
      },
      200,
    );
  });
}
