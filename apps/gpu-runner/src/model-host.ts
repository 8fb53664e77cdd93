import { Worker } from 'node:worker_threads';
import { readBundleDir } from '@aurora-edge/model/node';
import type { ExecutionProvider, ProviderOptions } from './execution-provider.ts';
import { type ServingBatch, type ServingOutput, servingShape } from './serving.ts';
import type { RunnerModel } from './state.ts';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

export interface HostOptions extends ProviderOptions {
  /** Resolved by the main thread (resolveRunnerProvider): every worker loads on it. */
  readonly executionProvider: ExecutionProvider;
  /** Warm-up batch size: the runner's maxBatch. */
  readonly warmUpBatch: number;
  /** Model workers (session copies) per bundle: batches of one bundle that may run at once. */
  readonly workersPerBundle: number;
  /** A worker died: its in-flight batch has failed; the runner cannot serve that bundle any more. */
  readonly onWorkerDeath: (bundle: string, error: Error) => void;
}

class WorkerHandle {
  private readonly pending = new Map<number, { resolve: (output: ServingOutput) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  busy = 0;

  constructor(
    readonly worker: Worker,
    onDeath: (error: Error) => void,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'result') return;
      const p = this.pending.get(message.id);
      this.pending.delete(message.id);
      if ('error' in message) p?.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
      else p?.resolve(message.output);
    });
    let dead = false;
    const die = (error: Error) => {
      if (dead) return;
      dead = true;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      onDeath(error);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`model worker exited with code ${code}`)));
  }

  /** Runs a batch; its buffers are transferred to the worker (the caller must not use them again). */
  run(batch: ServingBatch): Promise<ServingOutput> {
    const id = this.nextId++;
    this.busy++;
    return new Promise<ServingOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const buffers = new Set([batch.inputIds.buffer, batch.z.buffer, batch.psi.buffer] as ArrayBuffer[]);
      this.worker.postMessage({ type: 'run', id, batch } satisfies ToWorker, [...buffers]);
    }).finally(() => this.busy--);
  }
}

/** Waits for a new worker's first message: ready (after load and warm-up) or failed. */
function whenReady(worker: Worker): Promise<Extract<FromWorker, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type === 'ready') resolve(message);
      if (message.type === 'failed') reject(new Error(message.message));
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`model worker exited with code ${code} while loading`)));
  });
}

/**
 * The bundles' sessions, in worker threads (see model-worker.ts), and what the HTTP thread needs
 * of them: bundle facts (model metadata, input checks) and `run` for the batcher.
 */
export class ModelHost {
  private constructor(
    readonly models: RunnerModel[],
    readonly executionProvider: ExecutionProvider,
    private readonly pools: Map<string, WorkerHandle[]>,
    /** Set when the host terminates its workers itself: their exits are no deaths. */
    private readonly lifecycle: { closing: boolean },
  ) {}

  /** Loads the bundles one after another (a large one takes most of the memory while loading). */
  static async start(bundleDirs: readonly string[], options: HostOptions): Promise<ModelHost> {
    const models: RunnerModel[] = [];
    const pools = new Map<string, WorkerHandle[]>();
    const lifecycle = { closing: false };
    try {
      for (const dir of bundleDirs) {
        const source = readBundleDir(dir);
        const m = source.manifest;
        // Before any worker starts: a bundle without a serving graph stops the runner, naming the fix.
        const shape = servingShape(m, dir);
        if (pools.has(m.id)) throw new Error(`two bundles have the id "${m.id}" (${dir}); bundle ids must be unique on a runner`);
        const pool: WorkerHandle[] = [];
        pools.set(m.id, pool);
        for (let i = 0; i < options.workersPerBundle; i++) {
          const config: WorkerConfig = {
            bundleDir: dir,
            executionProvider: options.executionProvider,
            cudaDeviceId: options.cudaDeviceId,
            intraOpThreads: options.intraOpThreads,
            warmUpBatch: options.warmUpBatch,
          };
          const worker = new Worker(new URL('./model-worker-entry.mjs', import.meta.url), { workerData: config });
          await whenReady(worker).catch(async (error: Error) => {
            await worker.terminate();
            throw new Error(`bundle ${m.id} (${dir}): ${error.message}`, { cause: error });
          });
          pool.push(new WorkerHandle(worker, (error) => lifecycle.closing || options.onWorkerDeath(m.id, error)));
        }
        models.push({ id: m.id, version: m.version, contentHash: source.contentHash, trained: m.trained, manifest: m, shape });
      }
    } catch (error) {
      lifecycle.closing = true;
      await Promise.all([...pools.values()].flat().map((h) => h.worker.terminate()));
      throw error;
    }
    return new ModelHost(models, options.executionProvider, pools, lifecycle);
  }

  /** Runs one batch on the bundle's least busy worker. */
  run(bundle: string, batch: ServingBatch): Promise<ServingOutput> {
    const pool = this.pools.get(bundle);
    if (!pool) return Promise.reject(new Error(`bundle ${bundle} is not loaded`));
    const worker = pool.reduce((a, b) => (b.busy < a.busy ? b : a));
    return worker.run(batch);
  }

  async close(): Promise<void> {
    this.lifecycle.closing = true;
    await Promise.all([...this.pools.values()].flat().map((h) => h.worker.terminate()));
  }
}
