import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { hmacAuth } from './auth.ts';
import { RunnerError } from './errors.ts';
import { generateImages, parseGenerateBody, type RunnerBatcher } from './generate.ts';
import type { RunnerMetrics } from './metrics.ts';
import type { RunnerState } from './state.ts';

export interface RunnerDeps {
  readonly state: RunnerState;
  readonly batcher: RunnerBatcher;
  readonly metrics: RunnerMetrics;
  /** The gateway's shared secret; null only with RUNNER_INSECURE_NO_AUTH=1 (local development). */
  readonly secret: string | null;
  readonly maxBatch: number;
  readonly queueLimit: number;
  readonly maxBodyBytes: number;
  /** Where unexpected errors go (the server logs them); default: console.error. */
  readonly logError?: (message: string, error: unknown) => void;
}

/**
 * The runner's HTTP API. Runtime-neutral: no process, env or Node APIs here; the server entry
 * wires it to @hono/node-server and owns the lifecycle.
 *   GET  /healthz      200 while the process is alive
 *   GET  /readyz       200 + RunnerInfo once bundles are loaded and warmed up; 503 before and while draining
 *   GET  /metrics      Prometheus text
 *   GET  /v1/info      RunnerInfo (signed)
 *   POST /v1/generate  { items } -> { images (PNG base64, in item order), timings } (signed)
 */
export function createRunnerApp(deps: RunnerDeps): Hono {
  const { state, batcher, metrics } = deps;
  const logError = deps.logError ?? ((message, error) => console.error(message, error));
  const info = () => state.info({ maxBatch: deps.maxBatch, queueDepth: batcher.depth, queueLimit: deps.queueLimit });
  const app = new Hono();

  app.onError((error, c) => {
    const known = error instanceof RunnerError ? error : new RunnerError(500, 'internal', 'internal error', { cause: error });
    if (known.status >= 500 && known.code !== 'shutting_down' && known.code !== 'not_ready')
      logError(`${c.req.method} ${c.req.path}: ${known.message}`, known.cause ?? error);
    return errorResponse(c, known, metrics);
  });
  app.notFound((c) => errorResponse(c, new RunnerError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`), metrics));

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => c.json(info(), state.serving ? 200 : 503));
  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  const v1 = new Hono();
  // The rest of an oversized body is never read, so the connection cannot carry another request.
  const tooLarge = () => new RunnerError(413, 'payload_too_large', `the body is over ${deps.maxBodyBytes} bytes`, { headers: { connection: 'close' } });
  v1.use(bodyLimit({ maxSize: deps.maxBodyBytes, onError: (c) => errorResponse(c, tooLarge(), metrics) }));
  if (deps.secret !== null) v1.use(hmacAuth(deps.secret));
  v1.get('/info', (c) => c.json(info()));
  v1.post('/generate', async (c, next) => {
    const stop = metrics.requestSeconds.startTimer();
    metrics.requestsInFlight.inc();
    try {
      await next();
    } finally {
      metrics.requestsInFlight.dec();
      stop({ status: String(c.res.status) });
    }
  });
  v1.post('/generate', async (c) => {
    const startedAt = performance.now();
    if (state.draining) throw new RunnerError(503, 'shutting_down', 'the runner is shutting down', { headers: { 'retry-after': '1' } });
    if (!state.ready) throw new RunnerError(503, 'not_ready', 'bundles are still loading', { headers: { 'retry-after': '5' } });
    const items = parseGenerateBody(await c.req.text(), state, deps.maxBatch);
    return c.json(await generateImages(batcher, state, items, startedAt));
  });
  app.route('/v1', v1);
  return app;
}

function errorResponse(c: Context, error: RunnerError, metrics: RunnerMetrics): Response {
  metrics.errors.inc({ code: error.code });
  return c.json(error.toBody(), error.status, error.options.headers);
}
