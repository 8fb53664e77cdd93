import { createRoute, z } from '@hono/zod-openapi';
import { EdgeError } from '../errors.ts';
import type { ModelEntry } from '../generate/models.ts';
import { docsPage } from '../pages/docs.ts';
import type { EdgeApp, RouteContext } from './context.ts';
import { registerFavicon } from './favicon.ts';
import { errorResponse, LOOKUP_AUTH_RESPONSES, LOOKUP_KEY_NOTE, OPTIONAL_KEY } from './responses.ts';
import { healthSchema, modelListSchema, modelSchema } from './schemas.ts';

const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  summary: 'The models (bundles) this gateway serves',
  description: LOOKUP_KEY_NOTE,
  security: OPTIONAL_KEY,
  responses: {
    200: { description: 'Models; the first is the default', content: { 'application/json': { schema: modelListSchema } } },
    ...LOOKUP_AUTH_RESPONSES,
  },
});

const modelRoute = createRoute({
  method: 'get',
  path: '/v1/models/{id}',
  summary: 'One model (bundle) by id, as in the list (OpenAI SDKs: models.retrieve)',
  description: LOOKUP_KEY_NOTE,
  security: OPTIONAL_KEY,
  request: { params: z.object({ id: z.string().min(1).max(200).openapi({ example: 'aurora-tiny' }) }) },
  responses: {
    200: { description: 'The model', content: { 'application/json': { schema: modelSchema } } },
    ...LOOKUP_AUTH_RESPONSES,
    404: errorResponse('model_not_found: no model with this id'),
  },
});

/** A model as GET /v1/models lists it; `prompts` and `eval` only when its manifest has them. */
function modelOf(m: ModelEntry): z.output<typeof modelSchema> {
  const { prompts, training } = m.manifest;
  return {
    id: m.id,
    object: 'model' as const,
    version: m.manifest.version,
    description: m.manifest.description,
    trained: m.manifest.trained,
    content_hash: m.contentHash,
    size: m.size,
    default_psi: m.manifest.sampling.defaultPsi,
    parameters: m.manifest.parameters,
    ...(prompts ? { prompts } : {}),
    ...(training?.eval ? { eval: training.eval } : {}),
  };
}

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness, in-process generator state, wasm heap and runner health',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: healthSchema } } } },
});

/**
 * The pages load nothing from elsewhere: the policy makes the browser hold them to it.
 * 'wasm-unsafe-eval' lets the demo's "Run on: this browser" compile onnxruntime-web's WebAssembly.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
};

/** The cache bound (0: none) and this process's latest estimate of the usage (null before the first save). */
function cacheHealth(deps: RouteContext['deps']) {
  const eviction = deps.store.eviction;
  const usage = eviction?.estimate ?? null;
  return {
    max_bytes: eviction?.bound.maxBytes ?? 0,
    max_entries: eviction?.bound.maxEntries ?? 0,
    estimated_bytes: usage?.bytes ?? null,
    estimated_entries: usage?.entries ?? null,
  };
}

export function registerMeta(app: EdgeApp, { deps, service }: RouteContext): void {
  app.openapi(modelsRoute, (c) => c.json({ object: 'list' as const, data: deps.models.all.map(modelOf) }, 200));
  app.openapi(modelRoute, (c) => {
    const { id } = c.req.valid('param');
    const model = deps.models.all.find((m) => m.id === id);
    if (!model) throw new EdgeError(404, 'model_not_found', `no model "${id}"; available: ${deps.models.all.map((m) => m.id).join(', ')}`, { field: 'id' });
    return c.json(modelOf(model), 200);
  });

  app.openapi(healthRoute, (c) =>
    c.json(
      {
        ok: true,
        runtime: deps.runtime,
        models: deps.models.all.map((m) => ({ id: m.id, wasm_loaded: m.wasm.loaded, wasm_queue: m.wasm.depth })),
        wasm_heap_bytes: deps.wasmHeapBytes(),
        in_flight: service.inFlight,
        runners: deps.runners.status().map((r) => ({ healthy: r.healthy, in_flight: r.inFlight, queue_depth: r.queueDepth, bundles: r.bundles })),
        cache: cacheHealth(deps),
      },
      200,
    ),
  );

  const docConfig = {
    openapi: '3.1.0',
    info: {
      title: 'Aurora Edge',
      version: '1.0.0',
      description: 'Text-to-image generation (Aurora GAN) at the edge: prompt cache, in-process WASM for small batches, GPU runners for large ones.',
    },
  };
  app.doc31('/openapi.json', docConfig);
  // Rendered here from the same document (nothing loads from a CDN); built on first request, once every route is registered.
  let docs: string | null = null;
  app.get('/docs', (c) => c.html((docs ??= docsPage(app.getOpenAPI31Document(docConfig))), 200, PAGE_HEADERS));
  // The demo page shows the models as GET /v1/models lists them (its selector, each one's note,
  // words and example prompts), rendered here so keys mode needs no key for it; built once.
  let demo: string | null = null;
  app.get('/', (c) => c.html((demo ??= deps.demoPage(deps.models.all.map(modelOf))), 200, PAGE_HEADERS));
  registerFavicon(app);
}
