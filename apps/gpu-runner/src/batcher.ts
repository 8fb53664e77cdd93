/**
 * Dynamic batching, Triton's model: items from many requests wait in a queue per key (the bundle)
 * and leave it together, as one `runBatch` call, when
 *   - maxBatch items are waiting, or the largest preferred batch size is reached (nothing better
 *     is coming by waiting), or
 *   - the oldest item has waited maxQueueDelayMs: then the largest preferred size that fits, or
 *     everything waiting (at most maxBatch).
 * At most maxConcurrentBatches run per key (1 on CPU: two sessions on the same cores only slow
 * each other down), so under load the queue fills while a batch runs and the next one is full.
 * The queue is bounded: a request that does not fit is refused whole, at once (QueueFullError),
 * never partly queued, so a caller can retry it elsewhere without duplicating anything.
 */
export interface BatcherOptions<I, R> {
  /** Runs one batch; must return one result per item, in order. */
  readonly runBatch: (key: string, items: I[]) => Promise<R[]>;
  /** Items with different keys never share a batch (default: one key for everything). */
  readonly keyOf?: (item: I) => string;
  readonly maxBatch: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes?: readonly number[];
  /** Most items waiting (not yet in a running batch), over all keys. */
  readonly queueLimit: number;
  readonly maxConcurrentBatches?: number;
}

export interface ItemResult<R> {
  readonly value: R;
  /** From submit to the start of the item's batch. */
  readonly queuedMs: number;
  readonly runMs: number;
  /** Sequence number of the batch (1, 2, ...) and its size. */
  readonly batch: number;
  readonly batchSize: number;
}

export class QueueFullError extends Error {
  constructor(
    readonly depth: number,
    readonly limit: number,
    readonly retryAfterS: number,
  ) {
    super(`the queue holds ${depth} of at most ${limit} items`);
    this.name = 'QueueFullError';
  }
}

export class BatcherClosedError extends Error {
  constructor() {
    super('the batcher is draining and accepts no new items');
    this.name = 'BatcherClosedError';
  }
}

interface Pending<I, R> {
  readonly item: I;
  readonly enqueuedAt: number;
  readonly resolve: (r: ItemResult<R>) => void;
  readonly reject: (e: unknown) => void;
}

interface Lane<I, R> {
  readonly queue: Pending<I, R>[];
  running: number;
  timer?: ReturnType<typeof setTimeout>;
  /** The head item the pending timer is for. */
  timerFor?: Pending<I, R>;
  /** The head item whose timer fired: it has waited maxQueueDelayMs (timers may fire a hair early). */
  expired?: Pending<I, R>;
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}

export class DynamicBatcher<I, R> {
  private readonly lanes = new Map<string, Lane<I, R>>();
  private readonly preferred: number[];
  private readonly maxConcurrent: number;
  private queued = 0;
  private running = 0;
  private batches = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Moving average of batch run time, for Retry-After. */
  private avgBatchMs = 0;

  constructor(private readonly options: BatcherOptions<I, R>) {
    checkInt('maxBatch', options.maxBatch, 1);
    checkInt('queueLimit', options.queueLimit, 1);
    if (!(options.maxQueueDelayMs >= 0)) throw new RangeError(`maxQueueDelayMs must be >= 0, got ${options.maxQueueDelayMs}`);
    this.maxConcurrent = options.maxConcurrentBatches ?? 1;
    checkInt('maxConcurrentBatches', this.maxConcurrent, 1);
    this.preferred = [...new Set(options.preferredBatchSizes ?? [])].sort((a, b) => a - b);
    this.preferred.forEach((s, i) => checkInt(`preferredBatchSizes[${i}]`, s, 1, options.maxBatch));
  }

  /** Items waiting for a batch. */
  get depth(): number {
    return this.queued;
  }

  /** Batches started so far. */
  get batchesStarted(): number {
    return this.batches;
  }

  get draining(): boolean {
    return this.closed;
  }

  /**
   * Queues all of `items` or none: throws QueueFullError (or BatcherClosedError) synchronously
   * when they do not fit. Resolves with one result per item, in order; rejects with the error of
   * the first failed batch among them.
   */
  submit(items: readonly I[]): Promise<ItemResult<R>[]> {
    if (this.closed) throw new BatcherClosedError();
    if (this.queued + items.length > this.options.queueLimit) throw new QueueFullError(this.queued, this.options.queueLimit, this.retryAfterS());
    const now = performance.now();
    const keys = new Set<string>();
    const results = items.map((item) => {
      const key = this.options.keyOf?.(item) ?? '';
      keys.add(key);
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { queue: [], running: 0 }));
      const queue = lane.queue;
      return new Promise<ItemResult<R>>((resolve, reject) => queue.push({ item, enqueuedAt: now, resolve, reject }));
    });
    this.queued += items.length;
    for (const key of keys) this.schedule(key);
    // Promise.all subscribes to every item, so a second failed batch is never an unhandled rejection.
    return Promise.all(results);
  }

  /** Stops accepting items, runs everything queued without waiting for the delay, resolves when idle. */
  drain(): Promise<void> {
    this.closed = true;
    for (const key of this.lanes.keys()) this.schedule(key);
    return this.whenIdle();
  }

  whenIdle(): Promise<void> {
    if (this.queued === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private retryAfterS(): number {
    const batchesAhead = Math.ceil(this.queued / this.options.maxBatch) / this.maxConcurrent;
    return Math.max(1, Math.ceil((batchesAhead * this.avgBatchMs) / 1000));
  }

  private schedule(key: string): void {
    const lane = this.lanes.get(key)!;
    while (lane.running < this.maxConcurrent && lane.queue.length > 0) {
      const size = this.pickSize(lane);
      if (size === 0) {
        this.armTimer(key, lane);
        return;
      }
      this.dispatch(key, lane, size);
    }
    if (lane.queue.length === 0 || lane.running >= this.maxConcurrent) this.clearTimer(lane);
  }

  /** How many items to send now, or 0 to keep waiting. */
  private pickSize(lane: Lane<I, R>): number {
    const n = lane.queue.length;
    const { maxBatch, maxQueueDelayMs } = this.options;
    if (n >= maxBatch) return maxBatch;
    const fitting = this.preferred.filter((s) => s <= n).at(-1);
    if (fitting !== undefined && fitting === this.preferred.at(-1)) return fitting;
    const head = lane.queue[0];
    const expired = this.closed || lane.expired === head || performance.now() - head.enqueuedAt >= maxQueueDelayMs;
    if (!expired) return 0;
    return fitting ?? n;
  }

  private armTimer(key: string, lane: Lane<I, R>): void {
    const head = lane.queue[0];
    if (lane.timer && lane.timerFor === head) return;
    this.clearTimer(lane);
    const wait = Math.max(0, head.enqueuedAt + this.options.maxQueueDelayMs - performance.now());
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      lane.expired = head;
      this.schedule(key);
    }, Math.ceil(wait));
    lane.timerFor = head;
  }

  private clearTimer(lane: Lane<I, R>): void {
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = undefined;
    lane.timerFor = undefined;
    lane.expired = undefined;
  }

  private dispatch(key: string, lane: Lane<I, R>, size: number): void {
    const batch = lane.queue.splice(0, size);
    this.clearTimer(lane); // its head has left (or is leaving) the queue
    this.queued -= size;
    lane.running++;
    this.running++;
    const id = ++this.batches;
    const start = performance.now();
    Promise.resolve()
      .then(() =>
        this.options.runBatch(
          key,
          batch.map((p) => p.item),
        ),
      )
      .then((values) => {
        if (values.length !== batch.length) throw new Error(`runBatch returned ${values.length} results for ${batch.length} items`);
        const runMs = performance.now() - start;
        batch.forEach((p, i) => p.resolve({ value: values[i], queuedMs: start - p.enqueuedAt, runMs, batch: id, batchSize: size }));
      })
      .catch((error: unknown) => batch.forEach((p) => p.reject(error)))
      .finally(() => {
        const ms = performance.now() - start;
        this.avgBatchMs = this.avgBatchMs === 0 ? ms : 0.8 * this.avgBatchMs + 0.2 * ms;
        lane.running--;
        this.running--;
        this.schedule(key);
        if (this.queued === 0 && this.running === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
  }
}
