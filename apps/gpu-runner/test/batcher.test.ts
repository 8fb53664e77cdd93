import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BatcherOptions, BatcherClosedError, DynamicBatcher, QueueFullError } from '../src/batcher.ts';

interface Item {
  readonly key: string;
  readonly n: number;
}

/** A fake model: records each batch and finishes it only when the test says so. */
function fakeModel() {
  const batches: { key: string; items: number[]; finish: (error?: Error) => void }[] = [];
  const runBatch = (key: string, items: Item[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ key, items: items.map((i) => i.n), finish: (error) => (error ? reject(error) : resolve(items.map((i) => `image of ${i.n}`))) });
    });
  return { batches, runBatch, sizes: () => batches.map((b) => b.items.length) };
}

function batcher(model: ReturnType<typeof fakeModel>, options: Partial<BatcherOptions<Item, string>> = {}) {
  return new DynamicBatcher<Item, string>({ runBatch: model.runBatch, keyOf: (i) => i.key, maxBatch: 4, maxQueueDelayMs: 10, queueLimit: 64, ...options });
}

const items = (from: number, count: number, key = 'a'): Item[] => Array.from({ length: count }, (_, i) => ({ key, n: from + i }));
/** Lets promise callbacks (batch completions, rescheduling) run. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('DynamicBatcher', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('coalesces items from many requests into full batches, one batch in flight at a time', async () => {
    const model = fakeModel();
    const b = batcher(model);
    const requests = Array.from({ length: 10 }, (_, i) => b.submit(items(i, 1)));
    await settle();
    expect(model.sizes()).toEqual([4]); // full at once; the rest waits for the running batch
    model.batches[0].finish();
    await settle();
    expect(model.sizes()).toEqual([4, 4]);
    model.batches[1].finish();
    await settle();
    expect(model.sizes()).toEqual([4, 4]); // (fake time stands still: the last two have not waited yet)
    await vi.advanceTimersByTimeAsync(10);
    expect(model.sizes()).toEqual([4, 4, 2]);
    model.batches[2].finish();
    const results = await Promise.all(requests);
    results.forEach((r, i) => {
      expect(r.map((x) => x.value)).toEqual([`image of ${i}`]);
      expect(r[0].batchSize).toBe(i < 8 ? 4 : 2);
    });
    expect(b.batchesStarted).toBe(3);
  });

  it('waits at most maxQueueDelayMs for a batch to fill', async () => {
    const model = fakeModel();
    const b = batcher(model);
    const first = b.submit(items(0, 1));
    await vi.advanceTimersByTimeAsync(6);
    const second = b.submit(items(1, 2));
    await vi.advanceTimersByTimeAsync(3);
    expect(model.sizes()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1); // 10 ms after the oldest item
    expect(model.batches.map((x) => x.items)).toEqual([[0, 1, 2]]);
    model.batches[0].finish();
    expect((await first)[0].queuedMs).toBe(10);
    expect((await second).map((r) => r.value)).toEqual(['image of 1', 'image of 2']);
  });

  it('sends the largest preferred batch size at once and prefers preferred sizes at the deadline', async () => {
    const model = fakeModel();
    const b = batcher(model, { maxBatch: 8, preferredBatchSizes: [4, 2], maxConcurrentBatches: 4 });
    void b.submit(items(0, 4));
    await settle();
    expect(model.sizes()).toEqual([4]); // 4 is the largest preferred size: no reason to wait
    void b.submit(items(4, 3));
    await vi.advanceTimersByTimeAsync(9);
    expect(model.sizes()).toEqual([4]);
    await vi.advanceTimersByTimeAsync(1);
    expect(model.sizes()).toEqual([4, 2, 1]); // 3 waiting at the deadline: a preferred 2, then the rest
    model.batches.forEach((x) => x.finish());
  });

  it('refuses a request that does not fit the queue bound, whole and at once', async () => {
    const model = fakeModel();
    const b = batcher(model, { maxBatch: 2, queueLimit: 4 });
    const running = b.submit(items(0, 2)); // dispatched: leaves the queue
    const queued = b.submit(items(2, 3));
    expect(b.depth).toBe(3);
    expect(() => b.submit(items(5, 2))).toThrow(QueueFullError);
    expect(b.depth).toBe(3); // nothing of the refused request was queued
    const fits = b.submit(items(7, 1));
    expect(b.depth).toBe(4);
    try {
      b.submit(items(8, 1));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(QueueFullError);
      expect((error as QueueFullError).retryAfterS).toBeGreaterThanOrEqual(1);
    }
    for (let i = 0; i < 3; i++) {
      await settle();
      model.batches[i].finish();
    }
    const all = await Promise.all([running, queued, fits]);
    expect(all.flat().map((r) => r.value)).toEqual([0, 1, 2, 3, 4, 7].map((n) => `image of ${n}`));
  });

  it('fails only the items of a failed batch', async () => {
    const model = fakeModel();
    const b = batcher(model, { maxBatch: 2 });
    const a = expect(b.submit(items(0, 2))).rejects.toThrow('device lost');
    const c = b.submit(items(2, 2));
    await settle();
    model.batches[0].finish(new Error('device lost'));
    await settle();
    model.batches[1].finish();
    await a;
    expect((await c).map((r) => r.value)).toEqual(['image of 2', 'image of 3']);
  });

  it('never mixes keys in a batch and runs different keys side by side', async () => {
    const model = fakeModel();
    const b = batcher(model, { maxBatch: 4 });
    void b.submit([...items(0, 2, 'tiny'), ...items(10, 2, 'v1'), ...items(2, 2, 'tiny')]);
    await settle();
    expect(model.batches.map((x) => [x.key, x.items])).toEqual([['tiny', [0, 1, 2, 3]]]);
    await vi.advanceTimersByTimeAsync(10);
    expect(model.batches.map((x) => [x.key, x.items])).toEqual([
      ['tiny', [0, 1, 2, 3]],
      ['v1', [10, 11]],
    ]);
    model.batches.forEach((x) => x.finish());
  });

  it('drains: runs what is queued without waiting for the delay, refuses new items, resolves when idle', async () => {
    const model = fakeModel();
    const b = batcher(model, { maxQueueDelayMs: 1000 });
    const queued = b.submit(items(0, 1));
    await settle();
    expect(model.sizes()).toEqual([]);
    let drained = false;
    const drain = b.drain().then(() => (drained = true));
    await settle();
    expect(model.sizes()).toEqual([1]);
    expect(() => b.submit(items(1, 1))).toThrow(BatcherClosedError);
    expect(drained).toBe(false);
    model.batches[0].finish();
    await drain;
    expect((await queued)[0].value).toBe('image of 0');
  });

  it('checks its options', () => {
    const model = fakeModel();
    expect(() => batcher(model, { maxBatch: 0 })).toThrow(/maxBatch/);
    expect(() => batcher(model, { preferredBatchSizes: [8] })).toThrow(/preferredBatchSizes\[0\]/);
  });
});
