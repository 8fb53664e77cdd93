import { type BatchProcessDeps, DEFAULT_LEASE_MS, runLeasedItem } from './process.ts';

export interface BatchLoopOptions {
  /** Items of one owner running at once, across every gateway on the database (BATCH_CONCURRENCY). */
  readonly perOwner: number;
  /** Items this process runs at once, all owners together (BATCH_MAX_RUNNING). */
  readonly maxRunning: number;
  /** How often the database is asked for work when idle (BATCH_POLL_MS). */
  readonly pollMs: number;
}

/**
 * A gateway's batch worker: leases items from the database (any gateway's batches: a crashed
 * process's items come back when their lease runs out) and runs them, at most `maxRunning` at a
 * time and `perOwner` per owner, so a batch runs beside interactive requests instead of ahead of
 * them. Runtime-free timers only; the Node entry starts and stops it.
 */
export class BatchLoop {
  private readonly running = new Set<Promise<unknown>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ticking = false;
  private stopped = true;

  constructor(
    private readonly deps: BatchProcessDeps,
    private readonly options: BatchLoopOptions,
  ) {}

  /** Items running in this process now. */
  get active(): number {
    return this.running.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops leasing; waits up to `graceMs` for the items running here (unfinished ones are retried after their lease). */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running.size === 0) return;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => (timeout = setTimeout(resolve, graceMs)))]);
    clearTimeout(timeout);
  }

  /** Asks for work now (a batch was just created), instead of at the next poll. */
  poke(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    const log = this.deps.log ?? (() => undefined);
    try {
      while (!this.stopped && this.running.size < this.options.maxRunning) {
        const item = await this.deps.store.leaseNext({ leaseMs: this.deps.leaseMs ?? DEFAULT_LEASE_MS, perOwner: this.options.perOwner });
        if (!item) break;
        const run: Promise<unknown> = runLeasedItem(this.deps, item)
          .catch((error) => log(`batch ${item.batchId} item ${item.index} failed unexpectedly`, error))
          .finally(() => {
            this.running.delete(run);
            this.poke();
          });
        this.running.add(run);
      }
    } catch (error) {
      log('batches: leasing an item failed', error);
    } finally {
      this.ticking = false;
      this.schedule(this.options.pollMs);
    }
  }
}
