/**
 * Coalesces identical in-flight work: while a key's promise is pending, every caller asking for
 * that key gets the same promise, so concurrent identical requests cause one generation. The key
 * is forgotten once the promise settles (a failure is not remembered: the next caller retries).
 */
export class SingleFlight<T> {
  private readonly pending = new Map<string, Promise<T>>();

  get size(): number {
    return this.pending.size;
  }

  get(key: string): Promise<T> | undefined {
    return this.pending.get(key);
  }

  /**
   * Starts `run` for the keys not already in flight, registering one promise per such key, and
   * returns the promise for every requested key. `run` receives the new keys and returns their
   * values in the same order.
   */
  join(keys: readonly string[], run: (fresh: string[]) => Promise<T[]>): Map<string, Promise<T>> {
    const fresh: string[] = [];
    for (const key of keys) if (!this.pending.has(key) && !fresh.includes(key)) fresh.push(key);
    if (fresh.length > 0) {
      const batch = (async () => run(fresh))();
      fresh.forEach((key, i) => {
        const value = batch.then((values) => values[i]);
        // The map entry must not outlive the work, whether it succeeds or fails.
        const done = () => {
          if (this.pending.get(key) === value) this.pending.delete(key);
        };
        value.then(done, done);
        this.pending.set(key, value);
      });
    }
    return new Map(keys.map((key) => [key, this.pending.get(key)!]));
  }
}
