import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { GatewayMetrics } from './gateway-metrics.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** The route of each image a generation request answered with (cache, wasm, runner), for the log and metrics. */
    imageRoutes: readonly ('cache' | 'wasm' | 'runner')[];
  }
}

/** One line per request, written as JSON. */
export interface RequestLogEntry {
  /** ISO time the answer was ready. */
  readonly t: string;
  /** The request id (x-request-id). */
  readonly id: string;
  readonly method: string;
  /** The matched route pattern ("/v1/images/:file{...}"), or "(unmatched)": bounded, unlike the path. */
  readonly route: string;
  readonly status: number;
  /** Milliseconds from the request entering the app to its answer. */
  readonly ms: number;
  /** Generation requests: hit (all images from the cache), miss (none) or partial. */
  readonly cache?: 'hit' | 'miss' | 'partial';
  /** Generation requests: images by where they came from. */
  readonly images?: { readonly cache: number; readonly wasm: number; readonly runner: number };
}

function routeOf(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return routes.at(-1)?.path ?? '(unmatched)';
}

function imagesOf(c: Context): Pick<RequestLogEntry, 'cache' | 'images'> {
  const routes = c.get('imageRoutes');
  if (!routes) return {};
  const images = { cache: 0, wasm: 0, runner: 0 };
  for (const r of routes) images[r]++;
  const cache = images.cache === routes.length ? 'hit' : images.cache === 0 ? 'miss' : 'partial';
  return { cache, images };
}

/**
 * Observes every request: one structured log line (`write`, as JSON) with id, route, status,
 * latency and, for generations, the cache outcome; and the metrics, when there are any.
 */
export function observeRequests(write: ((entry: RequestLogEntry) => void) | undefined, metrics: GatewayMetrics | undefined): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    metrics?.started();
    try {
      await next();
    } finally {
      const entry: RequestLogEntry = {
        t: new Date().toISOString(),
        id: c.get('requestId'),
        method: c.req.method,
        route: routeOf(c),
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 1000) / 1000,
        ...imagesOf(c),
      };
      metrics?.finished(entry);
      write?.(entry);
    }
  };
}
