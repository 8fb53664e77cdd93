import type { AuroraPipeline, BundleSource } from '@aurora-edge/model';
import { type BlobStore, inlineBlobs } from './cache/blobs.ts';
import type { CacheDb } from './cache/db.ts';
import { ImageStore } from './cache/store.ts';
import type { EdgeConfig } from './config.ts';
import type { AppDeps } from './deps.ts';
import { ModelEntry, ModelRegistry } from './generate/models.ts';
import { demoPage } from './pages/demo.ts';
import { RunnerPool } from './runners/pool.ts';

/** What a runtime entry provides; the rest of the deps are built the same way everywhere. */
export interface RuntimeParts {
  readonly runtime: string;
  readonly config: EdgeConfig;
  readonly db: CacheDb;
  readonly blobs?: BlobStore;
  readonly bundles: readonly BundleSource[];
  /** Loads a bundle into onnxruntime-web (this runtime's build of it). */
  readonly loadPipeline: (source: BundleSource) => Promise<AuroraPipeline>;
  readonly wasmHeapBytes: () => number;
  readonly fetch?: typeof fetch;
  readonly log?: (message: string, error?: unknown) => void;
}

export function assembleDeps(parts: RuntimeParts): AppDeps {
  const { config } = parts;
  return {
    runtime: parts.runtime,
    models: new ModelRegistry(parts.bundles.map((b) => new ModelEntry(b, parts.loadPipeline))),
    store: new ImageStore(parts.db, parts.blobs ?? inlineBlobs),
    runners: new RunnerPool(config.runners, { fetch: parts.fetch, healthTtlMs: config.runnerHealthTtlMs, callTimeoutMs: config.runnerTimeoutMs }),
    routing: config.routing,
    maxBodyBytes: config.maxBodyBytes,
    publicUrl: config.publicUrl,
    wasmHeapBytes: parts.wasmHeapBytes,
    demoPage,
    log: parts.log,
  };
}
