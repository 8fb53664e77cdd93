import type { ImageStore } from './cache/store.ts';
import type { ModelRegistry } from './generate/models.ts';
import type { RoutingConfig } from './generate/service.ts';
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
  readonly demoPage: () => string;
  readonly log?: (message: string, error?: unknown) => void;
}
