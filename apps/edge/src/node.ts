/**
 * The Node entry: SQLite (better-sqlite3) or Postgres (DATABASE_URL: several gateways share it),
 * onnxruntime-web in-process, one local GPU runner child process (apps/gpu-runner) plus any
 * configured in RUNNERS, served by @hono/node-server.
 *   npm start                       (repo root) -> this file
 *   PORT=8787 HOST DATABASE_PATH LOCAL_RUNNER=1 EDGE_BUNDLES, and the shared variables of config.ts;
 *   on Postgres DATABASE_URL PG_POOL_MAX FLIGHT_LEASE_MS FLIGHT_POLL_MS FLIGHT_MAX_WAIT_MS (docs/node.md);
 *   batches: a batch loop (BATCH_CONCURRENCY, BATCH_MAX_RUNNING, BATCH_POLL_MS, BATCH_LEASE_MS) and the webhook outbox sender
 * Without EDGE_BUNDLES it serves aurora-tiny (the default, built here) and then the trained bundles
 * committed under models/ (node/shipped-models.ts); EDGE_BUNDLES names exactly the bundles served.
 * It serves the <aurora-image> script from its built assets (EDGE_ASSETS_DIR, default
 * apps/edge/dist/node: node/assets.ts) and starts the runner from RUNNER_ENTRY, default the
 * installed @aurora-edge/gpu-runner's server (node/runner-process.ts).
 */
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleError, type BundleSource, verifyBundle } from '@aurora-edge/model';
import { defaultBundlePath, ensureDefaultBundle, readBundleDir } from '@aurora-edge/model/node';
import type { HttpBindings } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { createApp } from './app.ts';
import { assembleDeps } from './assemble.ts';
import { DeliveryLoop } from './batches/deliveries.ts';
import { BatchLoop } from './batches/loop.ts';
import { postgresBatchDialect } from './batches/pg.ts';
import { ConfigError, type EnvVars, intVar, parseEdgeConfig } from './config.ts';
import type { AppDeps } from './deps.ts';
import { embedDir, nodeAssetsDir } from './node/assets.ts';
import { openNodeDatabase } from './node/database.ts';
import { listen } from './node/http-server.ts';
import { startMetricsServer } from './node/metrics-server.ts';
import { REPO_ROOT, SHIPPED_MODELS_DIR } from './node/paths.ts';
import { PgFlight, readStoredImages } from './node/pg/flight.ts';
import { type LocalRunner, runnerEntry, startReadyLocalRunner } from './node/runner-process.ts';
import { RunnerSupervisor } from './node/runner-supervisor.ts';
import { shippedModels } from './node/shipped-models.ts';
import { nodeStaticFiles, ortDistDir } from './node/static.ts';
import { WasmThread } from './node/wasm-thread.ts';
import { GatewayMetrics } from './observe/gateway-metrics.ts';
import { sendWebhook } from './webhooks/node-sender.ts';

export { MIGRATIONS_DIR, REPO_ROOT } from './node/paths.ts';

export interface NodeGateway {
  readonly url: string;
  readonly port: number;
  readonly app: OpenAPIHono;
  readonly deps: AppDeps;
  readonly runner: LocalRunner | null;
  /** Where GET /metrics is served (METRICS_PORT; loopback by default), if it is. */
  readonly metricsUrl: string | null;
  /** The database it uses: `sqlite <file>` or `postgres <host/db>` (no credentials). */
  readonly database: string;
  close(): Promise<void>;
}

export interface NodeGatewayOptions {
  /** Variables as in process.env (see config.ts and this file's header). */
  readonly env?: EnvVars;
  readonly log?: (line: string) => void;
  /** Where shipped trained bundles are looked for when EDGE_BUNDLES is not set (default: models/ in the repository). */
  readonly modelsDir?: string;
}

/** Node's stand-in for Workers' ExecutionContext: waitUntil lets the work run and logs a failure. */
function nodeExecutionContext(log: (line: string) => void) {
  return {
    waitUntil: (work: Promise<unknown>) => void work.catch((error) => log(`background work failed: ${(error as Error).message}`)),
    passThroughOnException: () => undefined,
    props: {},
  };
}

/**
 * The bundles to serve, the first the default, and their folders (for the worker threads and the
 * local runner): EDGE_BUNDLES exactly when set, else aurora-tiny and the shipped trained models.
 * Every file is checked before anything is served or reported about it (its content hash keys the
 * cache and is listed in /v1/models), not only the default's: streamed, so a large bundle is not
 * read into memory to check it.
 */
async function bundleSources(env: EnvVars, modelsDir: string, log: (line: string) => void): Promise<{ sources: BundleSource[]; dirs: string[] }> {
  const named = String(env.EDGE_BUNDLES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((d) => path.resolve(REPO_ROOT, d));
  if (named.length > 0) {
    const sources = named.map((d) => readBundleDir(d));
    await Promise.all(sources.map(verifyBundle));
    return { sources, dirs: named };
  }
  const tiny = ensureDefaultBundle().source;
  const [, shipped] = await Promise.all([verifyBundle(tiny), shippedModels(modelsDir, new Set([tiny.manifest.id]), log)]);
  return { sources: [tiny, ...shipped.map((m) => m.source)], dirs: [defaultBundlePath(), ...shipped.map((m) => m.dir)] };
}

/** Starts the gateway (and its local runner); resolves once it listens and the generators are warm. */
export async function startNodeGateway(options: NodeGatewayOptions = {}): Promise<NodeGateway> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const problems: string[] = [];
  const port = intVar(env, 'PORT', 8787, 0, 65535, problems);
  // Prometheus metrics on a listener of their own (off unless METRICS_PORT is set; 0: a free port).
  const metricsPort = intVar(env, 'METRICS_PORT', -1, 0, 65535, problems);
  const metricsHost = env.METRICS_HOST ? String(env.METRICS_HOST) : '127.0.0.1';
  const metrics = metricsPort >= 0 ? new GatewayMetrics() : undefined;
  const wantRunner = String(env.LOCAL_RUNNER ?? '1') !== '0';
  // Single flight across gateways on Postgres (node/pg/flight.ts): the claim's lease, the waiters' poll, the longest wait.
  const flightOptions = {
    leaseMs: intVar(env, 'FLIGHT_LEASE_MS', 10_000, 100, 3_600_000, problems),
    pollMs: intVar(env, 'FLIGHT_POLL_MS', 1_000, 10, 60_000, problems),
    maxWaitMs: intVar(env, 'FLIGHT_MAX_WAIT_MS', 150_000, 1_000, 3_600_000, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  parseEdgeConfig(env); // fail fast on a bad variable before starting anything
  const entry = wantRunner ? runnerEntry(env) : null;
  const assetsDir = await nodeAssetsDir(env, log);

  const { sources, dirs } = await bundleSources(env, options.modelsDir ?? SHIPPED_MODELS_DIR, log);
  const database = await openNodeDatabase(env, (message, error) => log(`${message}${error ? ` ${(error as Error)?.message}` : ''}`));
  const { db, writeAtomically, dialect } = database;
  let flight: PgFlight | null = null;
  const cleanUp = async () => {
    await flight?.close();
    await database.close();
  };
  const runnerOptions = { entry: entry ?? undefined, secret: randomBytes(32).toString('hex'), bundles: dirs, log };
  const runnerStarting = entry ? startReadyLocalRunner(runnerOptions) : null;
  if (wantRunner && !entry) log('aurora-edge: @aurora-edge/gpu-runner is not installed (and RUNNER_ENTRY is not set); running without a local runner');
  // In-process generation runs in worker threads, one per model (one model copy each), so Node's
  // main thread never runs onnxruntime-web's synchronous WASM. The runner starts while the default
  // model's thread loads it.
  const threads = new Map<BundleSource, Promise<WasmThread>>();
  const threadsUp: WasmThread[] = [];
  const loadPipeline = (source: BundleSource) => {
    let thread = threads.get(source);
    if (!thread) {
      thread = WasmThread.start(dirs[sources.indexOf(source)], source.contentHash);
      thread.then((t) => threadsUp.push(t)).catch(() => threads.delete(source));
      threads.set(source, thread);
    }
    return thread;
  };
  const preloaded = loadPipeline(sources[0]);
  preloaded.catch(() => undefined);
  const closeThreads = async () => {
    await Promise.all([...threads.values()].map((t) => t.then((thread) => thread.close()).catch(() => undefined)));
  };
  const ctx = nodeExecutionContext(log);
  let runner: LocalRunner | null = null;
  let batchLoop: BatchLoop | null = null;
  let deliveryLoop: DeliveryLoop | null = null;
  let deps: AppDeps;
  let app: OpenAPIHono;
  try {
    const [, started] = await Promise.all([preloaded, runnerStarting]);
    // Supervised from here on: restarted when it dies (runner-supervisor.ts).
    const supervisor = started ? new RunnerSupervisor(started, runnerOptions, log) : null;
    runner = supervisor;
    const config = parseEdgeConfig(env, runner ? [{ url: runner.url, secret: runner.secret }] : []);
    const assembled = assembleDeps({
      runtime: 'node',
      config,
      db,
      writeAtomically,
      dialect,
      batchDialect: database.postgres ? postgresBatchDialect(database.postgres.dialect) : undefined,
      bundles: sources,
      loadPipeline,
      wasmHeapBytes: () => threadsUp.reduce((sum, t) => sum + t.heapBytes, 0),
      // The socket's peer (X-Forwarded-For only with TRUST_PROXY, in the shared code).
      clientIp: (c) => (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress,
      staticFiles: nodeStaticFiles(embedDir(assetsDir), ortDistDir(), sources),
      background: ctx.waitUntil,
      log: (message, error) => log(`${message}${error ? ` ${(error as Error)?.stack ?? String(error)}` : ''}`),
    });
    const pg = database.postgres;
    if (pg) {
      flight = await PgFlight.start(pg.pool, pg.url, readStoredImages(assembled.store, pg.pool), {
        ...flightOptions,
        retryAfterS: config.routing.retryAfterS,
        log: (message, error) => log(`${message}${error ? ` ${(error as Error)?.message}` : ''}`),
      });
    }
    // One JSON line per request, on the same log as everything else.
    deps = { ...assembled, requestLog: (entry) => log(JSON.stringify(entry)), metrics, sharedFlight: flight ?? undefined };
    app = createApp(deps);
    const pool = deps.runners;
    if (supervisor) {
      // Health follows the process: down the moment it exits, re-probed the moment it is back.
      supervisor.hooks = { onExit: (reason) => pool.reportDown(supervisor.url, reason), onReady: () => void pool.refresh(true) };
    }
    await Promise.all([deps.models.default.wasm.warm(), deps.runners.refresh(true)]);
    // Batch items of every gateway on this database, leased and run here beside the requests.
    const batches = deps.batches;
    if (batches && config.batches.maxRunning > 0) {
      batchLoop = new BatchLoop(
        {
          store: batches.store,
          generate: batches.generate,
          // Without a GPU runner one image per call: the in-process queue is first come, first served, so
          // an interactive request then waits behind at most one image per running item, not a whole item's n.
          maxImagesPerCall: config.runners.length > 0 ? 16 : 1,
          leaseMs: config.batches.leaseMs,
          defer: ctx.waitUntil,
          log: (message, error) => log(`${message}${error ? ` ${(error as Error)?.message ?? String(error)}` : ''}`),
        },
        { perOwner: config.batches.perOwner, maxRunning: config.batches.maxRunning, pollMs: config.batches.pollMs },
      );
      batches.onCreated(() => batchLoop?.poke());
      batchLoop.start();
    }
    // The webhook outbox (batches' messages), sent with the Node sender (resolved addresses checked, connection pinned).
    if (batches) {
      deliveryLoop = new DeliveryLoop({
        store: batches.store,
        send: sendWebhook,
        openSecret: config.batches.webhookSecret,
        allowPrivate: config.batches.webhookAllowPrivate,
        log: (message, error) => log(`${message}${error ? ` ${(error as Error)?.message ?? String(error)}` : ''}`),
      });
      deliveryLoop.start();
    }
  } catch (error) {
    await batchLoop?.stop(0);
    await deliveryLoop?.stop();
    await (runner ?? (await runnerStarting?.catch(() => null)))?.stop().catch(() => undefined);
    await closeThreads();
    await cleanUp();
    throw error;
  }

  let server: http.Server;
  try {
    server = await listen((req, bindings) => app.fetch(req, bindings, ctx), port, env.HOST ? String(env.HOST) : undefined);
  } catch (error) {
    await runner?.stop();
    await closeThreads();
    await cleanUp();
    throw error;
  }
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | null = null;
  try {
    metricsServer = metrics ? await startMetricsServer(metrics, metricsPort, metricsHost) : null;
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runner?.stop();
    await closeThreads();
    await cleanUp();
    throw error;
  }
  const actualPort = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actualPort}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    port: actualPort,
    app,
    deps,
    runner,
    metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : null,
    database: database.where,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await metricsServer?.close();
        // Items still running after the grace are leased again by whichever gateway looks next.
        await batchLoop?.stop();
        await deliveryLoop?.stop();
        await runner?.stop();
        await deps.store.close();
        await closeThreads();
        await cleanUp();
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const gateway = await startNodeGateway();
  const runner = gateway.runner ? `local runner ${gateway.runner.url}` : 'no local runner';
  const models = gateway.deps.models.all.map((m, i) => `${m.id} (${i === 0 ? 'default, ' : ''}${m.manifest.trained ? 'trained' : 'untrained'})`);
  console.log(`aurora-edge listening on http://localhost:${gateway.port} (${runner}; ready in ${Math.round(performance.now() - started)} ms)`);
  console.log(`aurora-edge models: ${models.join(', ')}`);
  console.log(`aurora-edge database: ${gateway.database}`);
  const stop = (signal: string) => {
    console.log(`aurora-edge: ${signal}, shutting down`);
    gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof ConfigError || error instanceof BundleError ? error.message : error);
    process.exit(1);
  });
}
