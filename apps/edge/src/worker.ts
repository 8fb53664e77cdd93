/**
 * The Workers entry (wrangler.toml `main`): D1 for the cache, onnxruntime-web with the wasm
 * imported as a module, the aurora-tiny bundle from static assets, GPU runners from vars, PNGs in
 * D1 rows or (with an IMAGES binding) in R2.
 * The app is built once per isolate, on the first request or queue delivery.
 *
 * Batches (docs/workers.md, "Batches on Workers"): with a BATCH_QUEUE binding (a Cloudflare Queues
 * producer) a new batch's items are sent to the queue before the 202; `queue` consumes them (and
 * the dead letter queue's), `scheduled` (the cron trigger) re-enqueues items left untouched and
 * sends due webhooks.
 */

// @ts-expect-error: the project has no Workers types; this module exists only inside workerd.
import { waitUntil } from 'cloudflare:workers';
import { type BundleSource, urlBundle } from '@aurora-edge/model';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ExecutionContext } from 'hono';
import { createApp } from './app.ts';
import { assembleDeps } from './assemble.ts';
import { sqliteBatchDialect } from './batches/dialect.ts';
import { BatchRuntime } from './batches/runtime.ts';
import { inlineBlobs, type R2Like, r2Blobs } from './cache/blobs.ts';
import { sqliteDialect } from './cache/dialect.ts';
import { type EdgeConfig, parseEdgeConfig } from './config.ts';
import type { AppDeps } from './deps.ts';
import { consumeBatchMessages, consumeDeadLetters, IsolateSlots } from './worker/batch-consumer.ts';
import { type QueueBatch, type QueueProducer, QueuedBatchStore } from './worker/batch-queue.ts';
import { BatchQueueQueries, DEFAULT_REQUEUE_AFTER_MS, sweepStaleItems } from './worker/batch-sweep.ts';
import { drainWebhooks, workerDeliveryDeps } from './worker/batch-webhooks.ts';
import { createDb } from './worker/db.ts';
import { DurableFlight, type FlightNamespace } from './worker/flights.ts';
import { loadPipeline, wasmWatch } from './worker/ort.ts';
import { assetStaticFiles } from './worker/static.ts';

interface Fetcher {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

export interface WorkerEnv {
  /** D1 database with /migrations applied. */
  readonly DB: unknown;
  /** Static assets: the bundle folder at /<BUNDLE_ID>/, the embed script at /embed/, onnxruntime-web at /ort/ (scripts/build-worker-assets.ts). */
  readonly ASSETS?: Fetcher;
  /** Optional R2 bucket for PNGs (else they live in D1 rows). */
  readonly IMAGES?: R2Like;
  readonly BUNDLE_ID?: string;
  /** The GenerationFlights Durable Object namespace: single flight across isolates (absent: per isolate only). */
  readonly FLIGHTS?: FlightNamespace;
  /** The aurora-batches Queue's producer: batch items run through it (absent: batches are created and never run). */
  readonly BATCH_QUEUE?: QueueProducer;
  readonly [name: string]: unknown;
}

async function bundleSource(env: WorkerEnv): Promise<BundleSource> {
  const id = env.BUNDLE_ID || 'aurora-tiny';
  if (!env.ASSETS) throw new Error('bind ASSETS: static assets holding the bundle folder');
  const assets = env.ASSETS;
  return urlBundle(`https://assets.invalid/${id}/`, (input, init) => assets.fetch(String(input), init));
}

/**
 * Work after the response from code that has no ExecutionContext at hand (cache eviction after a
 * save): cloudflare:workers' waitUntil attaches it to the request being served.
 */
function background(work: Promise<unknown>): void {
  (waitUntil as (promise: Promise<unknown>) => void)(work.catch((error) => console.error('aurora-edge: background work failed', error)));
}

/** What an isolate builds once: the app, its deps (the batch runtime, bound to the app's generation path) and what the batch handlers add. */
interface Built {
  readonly app: OpenAPIHono;
  readonly deps: AppDeps;
  readonly config: EdgeConfig;
  readonly queries: BatchQueueQueries;
  /** Batch items running in this isolate: BATCH_MAX_RUNNING in all, BATCH_CONCURRENCY per owner. */
  readonly slots: IsolateSlots;
  /** When this isolate last swept (ms): the consumer sweeps too, at most once per interval. */
  lastSweep: number;
}

const log = (message: string, error?: unknown) => console.error(message, error ?? '');

async function buildApp(env: WorkerEnv): Promise<Built> {
  const config = parseEdgeConfig(env);
  const database = createDb(env.DB);
  const assembled = assembleDeps({
    runtime: 'workerd',
    config,
    ...database,
    blobs: env.IMAGES ? r2Blobs(env.IMAGES) : inlineBlobs,
    bundles: [await bundleSource(env)],
    loadPipeline,
    wasmHeapBytes: wasmWatch.heapBytes,
    // Cloudflare sets CF-Connecting-IP to the visitor's address (wrangler dev sets it too).
    clientIp: (c) => c.req.header('cf-connecting-ip'),
    staticFiles: assetStaticFiles(env.ASSETS),
    background,
  });
  // With a queue, a batch's items are sent to it when the batch is created (worker/batch-queue.ts).
  // BATCH_ENQUEUE_ON_CREATE=false (tests only) leaves them out, as a failed send would, so that the
  // sweep's recovery can be shown.
  const queue = env.BATCH_ENQUEUE_ON_CREATE === 'false' ? null : batchQueue(env);
  const batches = queue
    ? new BatchRuntime(
        new QueuedBatchStore({ db: database.db, writeAtomically: database.writeAtomically }, sqliteBatchDialect(sqliteDialect), queue, log),
        config.batches,
      )
    : assembled.batches;
  const sharedFlight = env.FLIGHTS
    ? new DurableFlight(env.FLIGHTS, {
        shards: flightShards(env),
        retryAfterS: config.routing.retryAfterS,
        log,
      })
    : undefined;
  // A test switch: without the per-isolate layer, every request meets the others at the objects.
  const coalesceInProcess = env.SINGLE_FLIGHT_IN_ISOLATE !== 'false';
  // One JSON line per request: Workers Logs and `wrangler tail` collect console output.
  const deps: AppDeps = { ...assembled, batches, sharedFlight, coalesceInProcess, requestLog: (entry) => console.log(JSON.stringify(entry)) };
  return {
    app: createApp(deps),
    deps,
    config,
    queries: new BatchQueueQueries(database.db),
    slots: new IsolateSlots(Math.max(1, config.batches.maxRunning), config.batches.perOwner),
    lastSweep: Date.now(),
  };
}

/** The BATCH_QUEUE binding, if bound. */
function batchQueue(env: WorkerEnv): QueueProducer | null {
  const queue = env.BATCH_QUEUE;
  return queue && typeof queue.sendBatch === 'function' ? queue : null;
}

/** BATCH_REQUEUE_AFTER_MS: the sweep re-enqueues open items untouched this long (default 15 min; a bad value: the default, logged). */
function requeueAfterMs(env: WorkerEnv): number {
  const raw = env.BATCH_REQUEUE_AFTER_MS;
  if (raw === undefined || raw === '') return DEFAULT_REQUEUE_AFTER_MS;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1_000) return n;
  log(`BATCH_REQUEUE_AFTER_MS must be an integer of at least 1000 (ms), not ${String(raw)}: using ${DEFAULT_REQUEUE_AFTER_MS}`);
  return DEFAULT_REQUEUE_AFTER_MS;
}

/** FLIGHT_SHARDS: how many GenerationFlights objects the keys are spread over (default 16). */
function flightShards(env: WorkerEnv): number {
  const n = Number(env.FLIGHT_SHARDS ?? 16);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error(`FLIGHT_SHARDS must be an integer from 1 to 4096, not ${String(env.FLIGHT_SHARDS)}`);
  return n;
}

let built: Promise<Built> | null = null;

/** The isolate's app and deps, built on first use (a failed build is tried again by the next event). */
function ready(env: WorkerEnv): Promise<Built> {
  built ??= buildApp(env).catch((error) => {
    built = null;
    throw error;
  });
  return built;
}

/** Sends due webhooks (batches/deliveries.ts) with the fetch sender; never rejects. */
function deliverWebhooks({ deps, config }: Built): Promise<unknown> {
  if (!deps.batches) return Promise.resolve();
  return drainWebhooks(workerDeliveryDeps(deps.batches.store, config.batches, log)).catch((error) => log('batches: sending webhooks failed', error));
}

/** Re-enqueues items left untouched (worker/batch-sweep.ts); never rejects. */
async function sweep(app: Built, env: WorkerEnv): Promise<void> {
  const queue = batchQueue(env);
  if (!queue) return;
  app.lastSweep = Date.now();
  const after = requeueAfterMs(env);
  try {
    const n = await sweepStaleItems(app.queries, queue, { requeueAfterMs: after });
    if (n > 0) console.log(`batches: re-enqueued ${n} items nobody had touched for ${after} ms`);
  } catch (error) {
    log('batches: the sweep failed', error);
  }
}

/** The consumer and batch requests sweep as well as the cron trigger, at most once a minute per isolate (or per BATCH_REQUEUE_AFTER_MS when shorter). */
const sweepDue = (app: Built, env: WorkerEnv) => Date.now() - app.lastSweep >= Math.min(60_000, requeueAfterMs(env));

/** A batch POST (create, cancel) that may have written webhook messages: they go out after the response. */
const BATCH_POST = /^\/v1\/batches(\/[^/]+\/cancel)?\/?$/;

/** The dead letter queue's name: the consumer of aurora-batches-dlq fails what lands there. */
const isDeadLetterQueue = (name: string) => name.endsWith('-dlq');

// The Durable Object class must be exported by the Worker's main module (wrangler.toml [[durable_objects.bindings]]).
export { GenerationFlights } from './worker/flight-object.ts';

interface ScheduledEvent {
  readonly cron: string;
  readonly scheduledTime: number;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let app: Built;
    try {
      app = await ready(env);
    } catch (error) {
      const message = `the gateway could not start: ${(error as Error).message}`;
      return Response.json({ error: { code: 'startup_failed', message, type: 'server_error', param: null } }, { status: 503, headers: { 'retry-after': '5' } });
    }
    const response = await app.app.fetch(request, env, ctx);
    const { pathname } = new URL(request.url);
    if (request.method === 'POST' && response.ok && BATCH_POST.test(pathname)) ctx.waitUntil(deliverWebhooks(app));
    // Someone is watching batches: sweep too (local dev fires no cron), at most once an interval per isolate.
    if (pathname.startsWith('/v1/batches') && sweepDue(app, env)) ctx.waitUntil(sweep(app, env));
    return response;
  },

  /** Batch items (aurora-batches) and dead-lettered ones (aurora-batches-dlq): worker/batch-consumer.ts. */
  async queue(batch: QueueBatch, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const app = await ready(env);
    const runtime = app.deps.batches;
    if (!runtime) throw new Error('batches are not available: no batch runtime');
    const { config } = app;
    if (isDeadLetterQueue(batch.queue)) {
      await consumeDeadLetters(batch, { store: runtime.store, queries: app.queries, log });
    } else {
      await consumeBatchMessages(
        batch,
        {
          store: runtime.store,
          generate: runtime.generate,
          queries: app.queries,
          queue: batchQueue(env) ?? undefined,
          perOwner: config.batches.perOwner,
          // BATCH_MAX_RUNNING 0 means "this gateway runs none" on Node; a Worker has no other runner of items.
          maxRunning: Math.max(1, config.batches.maxRunning),
          // Without a GPU runner, calls the in-process fallback can take; with one, whole items (as on Node).
          maxImagesPerCall: config.runners.length > 0 ? 16 : Math.max(1, config.routing.wasmFallbackMaxBatch),
          leaseMs: config.batches.leaseMs,
          defer: (work) => ctx.waitUntil(work.catch((error) => log('batches: deferred work failed', error))),
          log,
        },
        app.slots,
      );
    }
    // The progress and completion messages these items wrote; items that lost their message.
    ctx.waitUntil(deliverWebhooks(app));
    if (sweepDue(app, env)) ctx.waitUntil(sweep(app, env));
  },

  /** The cron trigger (wrangler.toml [triggers]): re-enqueue items left untouched, send due webhooks (and their retries). */
  async scheduled(_event: ScheduledEvent, env: WorkerEnv): Promise<void> {
    const app = await ready(env);
    await Promise.all([sweep(app, env), deliverWebhooks(app)]);
  },
};
