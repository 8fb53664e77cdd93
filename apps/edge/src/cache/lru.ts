/**
 * A bounded least-recently-used map for memoising pure, deterministic work on the request path
 * (prompt normalisation, token-length checks, cache keys): a hit skips the work, and the bound
 * keeps memory flat however many distinct inputs clients send. Never put anything in it that
 * depends on the database, auth or time: an entry is served until it is evicted.
 *
 * A Map iterates in insertion order, so re-inserting on every hit keeps the least recently used
 * entry first, and that is the one evicted. `undefined` is not a storable value (it reads as a miss).
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();
  /** The most recently used key: a hit on it (the common case, one hot entry) needs no reordering. */
  private newest: K | undefined;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Lru capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value for `key` (now the most recently used), or undefined. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined && key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, value);
      this.newest = key;
    }
    return value;
  }

  /** Stores `value` as the most recently used entry, evicting the least recently used one when full. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.newest = key;
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** The memoised `compute(key)`: computed on a miss (a throw stores nothing), reused on a hit. */
  getOrCompute(key: K, compute: (key: K) => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = compute(key);
    this.set(key, value);
    return value;
  }

  /** Keys from least to most recently used (for tests). */
  keys(): K[] {
    return [...this.entries.keys()];
  }
}
