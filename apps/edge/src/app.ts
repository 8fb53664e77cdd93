import { OpenAPIHono } from '@hono/zod-openapi';
import { registerCache } from './api/cache.ts';
import type { RouteContext } from './api/context.ts';
import { publicCors } from './api/cors.ts';
import { registerGenerations } from './api/generations.ts';
import { registerImages } from './api/images.ts';
import { registerMeta } from './api/meta.ts';
import type { AppDeps } from './deps.ts';
import { EdgeError, onError } from './errors.ts';
import { GenerationService } from './generate/service.ts';

export type { AppDeps } from './deps.ts';

/**
 * The gateway as a Hono app, the same on every runtime: the entries (node.ts, worker.ts) build
 * `deps` and serve it. Routes: POST /v1/images/generations, GET /v1/images/{id}.png,
 * GET /v1/cache, GET /v1/models, GET /healthz, GET /openapi.json, GET /docs, GET / (demo).
 */
export function createApp(deps: AppDeps): OpenAPIHono {
  const log = deps.log ?? ((message: string, error?: unknown) => console.error(message, error ?? ''));
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw EdgeError.fromZod(result.error, result.target);
    },
  });
  const service = new GenerationService(deps.models, deps.store, deps.runners, deps.routing);
  const ctx: RouteContext = { deps, service };

  app.onError(onError(log));
  app.notFound((c) => {
    throw EdgeError.notFound('not_found', `no route ${c.req.method} ${c.req.path}`);
  });
  app.use('/v1/*', publicCors());
  registerGenerations(app, ctx);
  registerImages(app, ctx);
  registerCache(app, ctx);
  registerMeta(app, ctx);
  return app;
}
