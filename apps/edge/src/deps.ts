import type { IdempotencyStore } from './api/idempotency.ts';
import type { AccessControl } from './auth/access.ts';
import type { BatchRuntime } from './batches/runtime.ts';
import type { RecentImages } from './cache/recent.ts';
import type { ImageStore } from './cache/store.ts';
import type { ModelRegistry } from './generate/models.ts';
import type { RoutingConfig } from './generate/service.ts';
import type { SharedFlight } from './generate/shared-flight.ts';
import type { GatewayMetrics } from './observe/gateway-metrics.ts';
import type { RequestLogEntry } from './observe/request-log.ts';
import type { DemoModel } from './pages/demo.ts';
import type { RunnerPool } from './runners/pool.ts';

/** Everything the app needs, supplied by a runtime entry (node.ts, worker.ts) or a test. */
export interface AppDeps {
  readonly models: ModelRegistry;
  readonly store: ImageStore;
  readonly runners: RunnerPool;
  readonly routing: RoutingConfig;
  /** Largest request body accepted, bytes (413 above). */
  readonly maxBodyBytes: number;
  /** Base for image URLs in responses; default: the request's own origin. */
  readonly publicUrl?: string;
  /** The in-process wasm heap in bytes (0 before the first load). */
  readonly wasmHeapBytes: () => number;
  /** A label for /healthz ("node", "workerd"); handlers never branch on it. */
  readonly runtime: string;
  /** The demo page at /. */
  readonly demoPage: (models: readonly DemoModel[]) => string;
  /** API keys, origin allowlists, auth mode and rate limits. */
  readonly access: AccessControl;
  /** Idempotency-Key claims and stored first responses (POST generations and interpolations). */
  readonly idempotency: IdempotencyStore;
  /** Batch jobs (/v1/batches): store, settings, the hook the processing loop uses (none: the routes are off). */
  readonly batches?: BatchRuntime;
  /** Recent cache entries for GET /v1/gallery (null: the gallery is off). */
  readonly gallery: RecentImages | null;
  /** The runtime's static files: `embed/<name>`, `ort/<name>`, `bundles/<id>/<name>`. */
  readonly staticFiles: StaticReader;
  readonly log?: (message: string, error?: unknown) => void;
  /** Where the one structured line per request goes (none: not logged). */
  readonly requestLog?: (entry: RequestLogEntry) => void;
  /** Prometheus metrics to keep (the Node gateway serves them on a loopback listener). */
  readonly metrics?: GatewayMetrics;
  /**
   * Single flight across isolates, after the in-process one (Workers with the FLIGHTS Durable
   * Object binding); none: this process is the only one generating (generate/shared-flight.ts).
   */
  readonly sharedFlight?: SharedFlight;
  /** false turns the in-process single flight off, so every request meets at `sharedFlight` (tests). */
  readonly coalesceInProcess?: boolean;
}

/** A static file: its bytes or a stream, with its size and a validator when the runtime knows them. */
export interface StaticFile {
  readonly body: ReadableStream<Uint8Array> | Uint8Array;
  readonly size?: number;
  readonly etag?: string;
}

/** Reads one of the gateway's static files; null when there is none. Each runtime entry provides one. */
export type StaticReader = (path: string) => Promise<StaticFile | null>;
