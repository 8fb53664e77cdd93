import type { BundleSource } from '@aurora-edge/model';
import type { Context } from 'hono';
import { IdempotencyStore } from './api/idempotency.ts';
import { AccessControl } from './auth/access.ts';
import { KeyStore } from './auth/keys.ts';
import { type BatchDialect, sqliteBatchDialect } from './batches/dialect.ts';
import { BatchRuntime } from './batches/runtime.ts';
import { BatchStore } from './batches/store.ts';
import { RateLimiter } from './auth/rate-limit.ts';
import { type BlobStore, inlineBlobs } from './cache/blobs.ts';
import type { CacheDb, WriteAtomically } from './cache/db.ts';
import { type Dialect, sqliteDialect } from './cache/dialect.ts';
import { type Background, CacheEviction } from './cache/eviction.ts';
import { RecentImages } from './cache/recent.ts';
import { ImageStore } from './cache/store.ts';
import type { EdgeConfig } from './config.ts';
import type { AppDeps, StaticReader } from './deps.ts';
import { ModelEntry, ModelRegistry } from './generate/models.ts';
import type { WasmPipeline } from './generate/wasm.ts';
import { demoPage } from './pages/demo.ts';
import { RunnerPool } from './runners/pool.ts';

/** What a runtime entry provides; the rest of the deps are built the same way everywhere. */
export interface RuntimeParts {
  readonly runtime: string;
  readonly config: EdgeConfig;
  readonly db: CacheDb;
  /** The database adapter's atomic multi-statement write (its createDb gives it with `db`). */
  readonly writeAtomically: WriteAtomically;
  /** The database's dialect (its createDb gives it with `db`); default SQLite. */
  readonly dialect?: Dialect;
  /** The batch tables' dialect (Postgres: batches/dialect.ts pgBatchDialect); default SQLite's, over `dialect`. */
  readonly batchDialect?: BatchDialect;
  readonly blobs?: BlobStore;
  readonly bundles: readonly BundleSource[];
  /** Loads a bundle into onnxruntime-web (this runtime's build of it). */
  readonly loadPipeline: (source: BundleSource) => Promise<WasmPipeline>;
  readonly wasmHeapBytes: () => number;
  readonly fetch?: typeof fetch;
  /** The client address this runtime trusts for a request (Node: the socket peer; Workers: CF-Connecting-IP). */
  readonly clientIp?: (c: Context) => string | undefined;
  /** Static files (embed script, onnxruntime-web, bundles); none by default. */
  readonly staticFiles?: StaticReader;
  /**
   * Runs work after the response without a request's context (cache eviction after a save):
   * Workers pass cloudflare:workers' waitUntil; default: the promise runs, a failure is logged.
   */
  readonly background?: Background;
  readonly log?: (message: string, error?: unknown) => void;
}

export function assembleDeps(parts: RuntimeParts): AppDeps {
  const { config } = parts;
  const blobs = parts.blobs ?? inlineBlobs;
  const log = parts.log;
  const { db, dialect } = parts;
  const eviction = new CacheEviction(db, blobs, config.cache, { log, dialect });
  return {
    runtime: parts.runtime,
    models: new ModelRegistry(parts.bundles.map((b) => new ModelEntry(b, parts.loadPipeline))),
    store: new ImageStore({ db, writeAtomically: parts.writeAtomically, dialect }, blobs, { eviction, background: parts.background, log }),
    runners: new RunnerPool(config.runners, {
      fetch: parts.fetch,
      healthTtlMs: config.runnerHealthTtlMs,
      callTimeoutMs: config.runnerTimeoutMs,
      log,
      bundles: parts.bundles.map((b) => ({ id: b.manifest.id, contentHash: b.contentHash, manifest: b.manifest })),
    }),
    routing: config.routing,
    maxBodyBytes: config.maxBodyBytes,
    publicUrl: config.publicUrl,
    wasmHeapBytes: parts.wasmHeapBytes,
    demoPage,
    access: new AccessControl(config.auth, new KeyStore(db, dialect), new RateLimiter(db, undefined, dialect), parts.clientIp, config.publicUrl),
    idempotency: new IdempotencyStore(db, dialect),
    batches: new BatchRuntime(
      new BatchStore({ db, writeAtomically: parts.writeAtomically }, parts.batchDialect ?? sqliteBatchDialect(dialect ?? sqliteDialect)),
      config.batches,
    ),
    gallery: config.auth.gallery ? new RecentImages(db, dialect) : null,
    staticFiles: parts.staticFiles ?? (async () => null),
    log: parts.log,
  };
}
