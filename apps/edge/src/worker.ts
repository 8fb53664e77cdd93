/**
 * The Workers entry (wrangler.toml `main`): D1 for the cache, onnxruntime-web with the wasm
 * imported as a module, the aurora-tiny bundle from static assets, GPU runners from vars, PNGs in
 * D1 rows or (with an IMAGES binding) in R2.
 * The app is built once per isolate, on the first request.
 */

// @ts-expect-error: the project has no Workers types; this module exists only inside workerd.
import { waitUntil } from 'cloudflare:workers';
import { type BundleSource, urlBundle } from '@aurora-edge/model';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ExecutionContext } from 'hono';
import { createApp } from './app.ts';
import { assembleDeps } from './assemble.ts';
import { inlineBlobs, type R2Like, r2Blobs } from './cache/blobs.ts';
import { parseEdgeConfig } from './config.ts';
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

async function buildApp(env: WorkerEnv): Promise<OpenAPIHono> {
  const config = parseEdgeConfig(env);
  const deps = assembleDeps({
    runtime: 'workerd',
    config,
    ...createDb(env.DB),
    blobs: env.IMAGES ? r2Blobs(env.IMAGES) : inlineBlobs,
    bundles: [await bundleSource(env)],
    loadPipeline,
    wasmHeapBytes: wasmWatch.heapBytes,
    // Cloudflare sets CF-Connecting-IP to the visitor's address (wrangler dev sets it too).
    clientIp: (c) => c.req.header('cf-connecting-ip'),
    staticFiles: assetStaticFiles(env.ASSETS),
    background,
  });
  const sharedFlight = env.FLIGHTS
    ? new DurableFlight(env.FLIGHTS, {
        shards: flightShards(env),
        retryAfterS: config.routing.retryAfterS,
        log: (message, error) => console.error(message, error ?? ''),
      })
    : undefined;
  // A test switch: without the per-isolate layer, every request meets the others at the objects.
  const coalesceInProcess = env.SINGLE_FLIGHT_IN_ISOLATE !== 'false';
  // One JSON line per request: Workers Logs and `wrangler tail` collect console output.
  return createApp({ ...deps, sharedFlight, coalesceInProcess, requestLog: (entry) => console.log(JSON.stringify(entry)) });
}

/** FLIGHT_SHARDS: how many GenerationFlights objects the keys are spread over (default 16). */
function flightShards(env: WorkerEnv): number {
  const n = Number(env.FLIGHT_SHARDS ?? 16);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new Error(`FLIGHT_SHARDS must be an integer from 1 to 4096, not ${String(env.FLIGHT_SHARDS)}`);
  return n;
}

let app: Promise<OpenAPIHono> | null = null;

// The Durable Object class must be exported by the Worker's main module (wrangler.toml [[durable_objects.bindings]]).
export { GenerationFlights } from './worker/flight-object.ts';

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    app ??= buildApp(env).catch((error) => {
      app = null;
      throw error;
    });
    let ready: OpenAPIHono;
    try {
      ready = await app;
    } catch (error) {
      const message = `the gateway could not start: ${(error as Error).message}`;
      return Response.json({ error: { code: 'startup_failed', message, type: 'server_error', param: null } }, { status: 503, headers: { 'retry-after': '5' } });
    }
    return ready.fetch(request, env, ctx);
  },
};
