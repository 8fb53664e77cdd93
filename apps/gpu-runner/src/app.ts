import { type ServingTensor, servingTensors } from '@aurora-edge/model';
import {
  AURORA_PLATFORM,
  CONTENT_HASH_PARAMETER,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type ModelConfig,
  type ModelMetadata,
  type ServerMetadata,
} from '@aurora-edge/protocol';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { hmacAuth } from './auth.ts';
import { RunnerError } from './errors.ts';
import { infer, parseInfer, type RunnerBatcher } from './infer.ts';
import type { RunnerMetrics } from './metrics.ts';
import { servingTensorMetadata } from './serving.ts';
import type { RunnerModel, RunnerState } from './state.ts';

export interface RunnerDeps {
  readonly state: RunnerState;
  readonly batcher: RunnerBatcher;
  readonly metrics: RunnerMetrics;
  /** The HMAC secret shared with the gateway; null: model routes are open (authenticate at a proxy, as Triton deployments do). */
  readonly secret: string | null;
  readonly maxBatch: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly maxBodyBytes: number;
  /** Where unexpected errors go (the server logs them); default: console.error. */
  readonly logError?: (message: string, error: unknown) => void;
}

/** What GET /v2 reports: our name and version, and the extensions we implement. */
export const SERVER_METADATA: ServerMetadata = { name: 'aurora-gpu-runner', version: '0.2.0', extensions: ['binary_tensor_data', 'model_configuration'] };

/**
 * The runner's HTTP API: the Open Inference Protocol v2 (KServe v2, as NVIDIA Triton serves it),
 * one model per loaded bundle, named by its id and versioned by its content hash. Runtime-neutral:
 * no process, env or Node APIs here; the server entry wires it to @hono/node-server and owns the
 * lifecycle.
 *   GET  /v2/health/live                       200 while the process lives (also while bundles load)
 *   GET  /v2/health/ready                      200 once every bundle is loaded and warmed up; 503 before and while draining
 *   GET  /v2                                   server metadata
 *   GET  /v2/models/{m}[/versions/{v}]         model metadata (signed when a secret is set, as every /v2/models route)
 *   GET  /v2/models/{m}[/versions/{v}]/ready   model readiness
 *   GET  /v2/models/{m}/config                 the model configuration (Triton's extension, JSON): max_batch_size, the content hash
 *   POST /v2/models/{m}[/versions/{v}]/infer   input_ids, z, psi -> images (JSON or binary tensors, both ways)
 *   GET  /metrics                              Prometheus text
 */
export function createRunnerApp(deps: RunnerDeps): Hono {
  const { state, batcher, metrics } = deps;
  const logError = deps.logError ?? ((message, error) => console.error(message, error));
  const app = new Hono();

  app.onError((error, c) => {
    const known = error instanceof RunnerError ? error : new RunnerError(500, 'internal', 'internal error', { cause: error });
    if (known.status >= 500 && known.code !== 'shutting_down' && known.code !== 'not_ready')
      logError(`${c.req.method} ${c.req.path}: ${known.message}`, known.cause ?? error);
    return errorResponse(c, known, metrics);
  });
  app.notFound((c) => errorResponse(c, new RunnerError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`), metrics));

  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => c.json({ ready: state.serving }, state.serving ? 200 : 503));
  app.get('/v2', (c) => c.json(SERVER_METADATA));
  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  const models = new Hono();
  // The rest of an oversized body is never read, so the connection cannot carry another request.
  const tooLarge = () => new RunnerError(413, 'payload_too_large', `the body is over ${deps.maxBodyBytes} bytes`, { headers: { connection: 'close' } });
  models.use(bodyLimit({ maxSize: deps.maxBodyBytes, onError: (c) => errorResponse(c, tooLarge(), metrics) }));
  if (deps.secret !== null) models.use(hmacAuth(deps.secret));

  /** The model a path names; a version other than the loaded content hash is unknown (404). */
  const modelOf = (c: Context): RunnerModel => {
    const name = c.req.param('model') ?? '';
    const version = c.req.param('version');
    const model = state.models.get(name);
    if (!model) {
      const loaded = [...state.models.keys()].join(', ') || 'none yet';
      throw new RunnerError(404, 'unknown_model', `unknown model "${name}" (loaded: ${loaded})`);
    }
    if (version !== undefined && version !== model.contentHash)
      throw new RunnerError(404, 'unknown_version', `model "${name}" has no version "${version}" (this runner serves ${model.contentHash})`);
    return model;
  };
  const metadata = (model: RunnerModel): ModelMetadata => ({
    name: model.id,
    versions: [model.contentHash],
    platform: AURORA_PLATFORM,
    ...servingTensorMetadata(model.manifest),
  });
  const ready = (c: Context) => {
    const model = modelOf(c);
    return c.json({ name: model.id, ready: state.serving }, state.serving ? 200 : 503);
  };
  const config = (model: RunnerModel): ModelConfig => {
    const { inputs, outputs } = servingTensors(model.manifest);
    // Triton's dims leave out the batch dimension when max_batch_size > 0.
    const dims = (t: ServingTensor) => ({ name: t.name, data_type: t.tritonType, dims: t.shape.slice(1) });
    return {
      name: model.id,
      platform: AURORA_PLATFORM,
      max_batch_size: deps.maxBatch,
      input: inputs.map(dims),
      output: outputs.map(dims),
      dynamic_batching: {
        preferred_batch_size: [...(deps.preferredBatchSizes ?? [])],
        max_queue_delay_microseconds: Math.round(deps.maxQueueDelayMs * 1000),
      },
      parameters: { [CONTENT_HASH_PARAMETER]: { string_value: model.contentHash } },
    };
  };
  const inferPaths = ['/:model/infer', '/:model/versions/:version/infer'];
  // Timed around the handler, so the status recorded is the one onError chose for a failure.
  models.on('POST', inferPaths, async (c, next) => {
    const stop = metrics.requestSeconds.startTimer();
    metrics.requestsInFlight.inc();
    try {
      await next();
    } finally {
      metrics.requestsInFlight.dec();
      stop({ status: String(c.res.status) });
    }
  });
  models.on('POST', inferPaths, async (c) => {
    const startedAt = performance.now();
    const model = modelOf(c);
    if (state.draining) throw new RunnerError(503, 'shutting_down', 'the runner is shutting down', { headers: { 'retry-after': '1' } });
    if (!state.ready) throw new RunnerError(503, 'not_ready', 'bundles are still loading', { headers: { 'retry-after': '5' } });
    const body = new Uint8Array(await c.req.arrayBuffer());
    const parsed = parseInfer(body, c.req.header(INFERENCE_HEADER_CONTENT_LENGTH), model, deps.maxBatch);
    const encoded = await infer(batcher, model, parsed, startedAt);
    return c.body(encoded.body, 200, encoded.headers);
  });

  models.get('/:model', (c) => c.json(metadata(modelOf(c))));
  models.get('/:model/versions/:version', (c) => c.json(metadata(modelOf(c))));
  models.get('/:model/ready', ready);
  models.get('/:model/versions/:version/ready', ready);
  models.get('/:model/config', (c) => c.json(config(modelOf(c))));
  app.route('/v2/models', models);
  return app;
}

function errorResponse(c: Context, error: RunnerError, metrics: RunnerMetrics): Response {
  metrics.errors.inc({ code: error.code });
  return c.json(error.toBody(), error.status, error.options.headers);
}
