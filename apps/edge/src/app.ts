import { OpenAPIHono } from '@hono/zod-openapi';
import { registerBatches } from './api/batches.ts';
import { registerCache } from './api/cache.ts';
import type { RouteContext } from './api/context.ts';
import { publicCors } from './api/cors.ts';
import { registerGallery } from './api/gallery.ts';
import { registerGenerations } from './api/generations.ts';
import { registerImages } from './api/images.ts';
import { registerInterpolations } from './api/interpolations.ts';
import { registerMeta } from './api/meta.ts';
import { methodNotAllowed } from './api/methods.ts';
import { requestId } from './api/request-id.ts';
import { registerStatic } from './api/static.ts';
import type { AppDeps } from './deps.ts';
import { EdgeError, onError } from './errors.ts';
import { InterpolationService } from './generate/interpolation.ts';
import { GenerationService } from './generate/service.ts';
import { observeRequests } from './observe/request-log.ts';

export type { AppDeps } from './deps.ts';

/**
 * The gateway as a Hono app, the same on every runtime: the entries (node.ts, worker.ts) build
 * `deps` and serve it. Routes: POST /v1/images/generations, POST /v1/images/interpolations,
 * GET /v1/images/{id}.png, /v1/batches (POST; GET, events, cancel of one),
 * GET /v1/cache, GET /v1/models, GET /v1/gallery, GET /healthz, GET /openapi.json, GET /docs,
 * GET / (demo), and what embedding pages load: /embed.js, /ort/*, /bundles/<id>/*.
 */
export function createApp(deps: AppDeps): OpenAPIHono {
  const log = deps.log ?? ((message: string, error?: unknown) => console.error(message, error ?? ''));
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw EdgeError.fromZod(result.error, result.target);
    },
  });
  const metrics = deps.metrics;
  const service = new GenerationService(deps.models, deps.store, deps.runners, deps.routing, {
    onGenerated: metrics ? (route, count) => metrics.generated.inc({ route }, count) : undefined,
    shared: deps.sharedFlight,
    coalesceInProcess: deps.coalesceInProcess,
  });
  metrics?.bind({
    wasmQueues: () => deps.models.all.map((m) => ({ model: m.id, depth: m.wasm.depth })),
    generationsInFlight: () => service.inFlight + interpolations.inFlight,
  });
  const interpolations = new InterpolationService(deps.models, deps.store, deps.routing, {
    onGenerated: metrics ? (route, count) => metrics.generated.inc({ route }, count) : undefined,
  });
  const ctx: RouteContext = { deps, service, interpolations };

  app.use('*', requestId());
  app.use('*', observeRequests(deps.requestLog, metrics));
  app.onError(onError(log));
  app.notFound((c) => {
    throw EdgeError.notFound('not_found', `no route ${c.req.method} ${c.req.path}`);
  });
  app.use('/v1/*', publicCors());
  app.use('*', methodNotAllowed(app));
  // Keys, origin allowlists and auth mode, before any body or query is read; images stay public.
  app.use('/v1/images/generations', deps.access.guard('generate'));
  app.use('/v1/images/interpolations', deps.access.guard('generate'));
  for (const path of ['/v1/cache', '/v1/models', '/v1/models/*', '/v1/gallery']) app.use(path, deps.access.guard('lookup'));
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (ak_...) from `aurora keys create`',
  });
  registerGenerations(app, ctx);
  registerInterpolations(app, ctx);
  registerBatches(app, ctx);
  registerImages(app, ctx);
  registerCache(app, ctx);
  registerGallery(app, ctx);
  registerMeta(app, ctx);
  registerStatic(app, ctx);
  return app;
}
