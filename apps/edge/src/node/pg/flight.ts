import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import pg from 'pg';
import type { ImageStore } from '../../cache/store.ts';
import { EdgeError } from '../../errors.ts';
import type { Route } from '../../generate/service.ts';
import type { SharedFlight, SharedImage } from '../../generate/shared-flight.ts';

/** The LISTEN/NOTIFY channel: payloads `done:<key>,<key>...` or `failed:<key>,...`. */
const CHANNEL = 'aurora_flight';

/** Unix ms on the database's clock, so that gateways on machines whose clocks differ agree on leases. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export interface PgFlightOptions {
  /** How long a claim stands without its owner's heartbeat (default 10 s): a dead gateway blocks a key at most this long. */
  readonly leaseMs?: number;
  /** How often a waiter looks again without a notification (default 1 s): the fallback, and how soon an expired lease is seen. */
  readonly pollMs?: number;
  /** Longest a request waits for another gateway's generation before a 503 (default 150 s). */
  readonly maxWaitMs?: number;
  /** Retry-After seconds on such a 503. */
  readonly retryAfterS?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

/** What a waiter reads once the owner is done: the stored image (store.lookup with bytes) and its route. */
export type ReadImages = (keys: readonly string[]) => Promise<Map<string, SharedImage>>;

/** Events about keys seen since a watch began. */
interface Watch {
  readonly done: Set<string>;
  readonly failed: Set<string>;
  /** Resolves at the next event for a watched key (at once if one came since the last wait), or after `ms`. */
  wait(ms: number): Promise<void>;
  stop(): void;
}

/**
 * Single flight across Node gateways on one Postgres (the second layer after the in-process one,
 * generate/shared-flight.ts). For each missing key a gateway tries to claim it: one statement
 * that inserts a `generation_claims` row, or takes over one whose lease has run out. The keys it
 * claims it generates (after reading the cache once more: an owner that just finished has stored
 * them) while a heartbeat extends the lease; it then deletes its claims and NOTIFYs. The keys
 * others hold it waits for: woken by the notification (LISTEN on a connection of its own) or, as a
 * fallback, every `pollMs`, it reads the cache, and claims again whatever is neither stored nor
 * claimed (its owner failed, or died and its lease ran out). A failure NOTIFYs `failed`: every
 * waiter answers with the same clean error, and the next request starts afresh. No wait is longer
 * than `maxWaitMs`.
 */
export class PgFlight implements SharedFlight {
  /** This gateway in claims: host, pid (tests find the process to kill by it) and a random part. */
  readonly owner = `${os.hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly watches = new Set<{ keys: Set<string>; onEvent: (key: string, kind: string) => void }>();
  private listener: pg.Client | null = null;
  private closed = false;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxWaitMs: number;
  private readonly log: (message: string, error?: unknown) => void;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly read: ReadImages,
    private readonly options: PgFlightOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 10_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.maxWaitMs = options.maxWaitMs ?? 150_000;
    this.log = options.log ?? (() => undefined);
  }

  /** Starts listening for other gateways' notifications; `read` reads stored images (the gateway's ImageStore). */
  static async start(pool: pg.Pool, url: string, read: ReadImages, options: PgFlightOptions = {}): Promise<PgFlight> {
    const flight = new PgFlight(pool, url, read, options);
    await flight.listen();
    return flight;
  }

  async share(keys: readonly string[], produce: (mine: string[]) => Promise<SharedImage[]>): Promise<Map<string, SharedImage>> {
    const result = new Map<string, SharedImage>();
    const deadline = Date.now() + this.maxWaitMs;
    let pending = [...keys];
    // Watching before the first claim: a notification between the claim and the wait is not lost.
    const watch = this.watch(pending);
    try {
      for (;;) {
        const mine = await this.claim(pending);
        if (mine.length > 0) await this.produceClaimed(mine, produce, result, watch);
        pending = pending.filter((k) => !result.has(k));
        if (pending.length === 0) return result;
        await watch.wait(Math.min(this.pollMs, Math.max(0, deadline - Date.now())));
        // Read only what another gateway announced done: with cache "refresh" the stored row is the
        // very one this request is replacing. Keys without news are claimed again above (taken over
        // when their lease ran out, generated again if a notification was lost: one more generation, never a hang).
        const announced = pending.filter((k) => watch.done.has(k));
        if (announced.length > 0) for (const [key, image] of await this.read(announced)) result.set(key, image);
        pending = pending.filter((k) => !result.has(k));
        if (pending.length === 0) return result;
        if (pending.some((k) => watch.failed.has(k))) {
          throw new EdgeError(503, 'generation_failed', 'another gateway failed to generate this image; retry', {
            headers: { 'retry-after': String(this.options.retryAfterS ?? 5) },
          });
        }
        if (Date.now() >= deadline) {
          throw new EdgeError(503, 'busy', `another gateway has been generating this image for over ${Math.round(this.maxWaitMs / 1000)} s; retry later`, {
            headers: { 'retry-after': String(this.options.retryAfterS ?? 5) },
          });
        }
      }
    } finally {
      watch.stop();
    }
  }

  /** Stops listening; claims in progress finish (call after the HTTP server has closed). */
  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  /** Generates the claimed keys not stored meanwhile, under a heartbeat; releases the claims and tells the waiters. */
  private async produceClaimed(
    mine: string[],
    produce: (mine: string[]) => Promise<SharedImage[]>,
    result: Map<string, SharedImage>,
    watch: Watch,
  ): Promise<void> {
    // The previous owner stores before it releases: a key announced done since this request began
    // waiting is stored already (not just any stored row: a refresh replaces that one).
    const announced = mine.filter((k) => watch.done.has(k));
    const stored = announced.length > 0 ? await this.read(announced) : new Map<string, SharedImage>();
    for (const [key, image] of stored) result.set(key, image);
    const toMake = mine.filter((k) => !stored.has(k));
    if (stored.size > 0) await this.release([...stored.keys()], 'done');
    if (toMake.length === 0) return;
    const heartbeat = setInterval(
      () => void this.extend(toMake).catch((error) => this.log('single flight: a lease heartbeat failed', error)),
      this.leaseMs / 3,
    );
    heartbeat.unref();
    let made: SharedImage[];
    try {
      made = await produce(toMake);
    } catch (error) {
      clearInterval(heartbeat);
      await this.release(toMake, 'failed').catch((e) => this.log('single flight: releasing failed claims failed (they expire with their lease)', e));
      throw error;
    }
    clearInterval(heartbeat);
    toMake.forEach((key, i) => result.set(key, made[i]));
    await this.release(toMake, 'done').catch((error) => this.log('single flight: releasing claims failed (they expire with their lease)', error));
  }

  /** Claims the keys that are unclaimed or whose lease ran out; returns those now this gateway's. Sorted: overlapping claims lock rows in one order. */
  private async claim(keys: readonly string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ key: string }>(
      `INSERT INTO generation_claims (key, owner, expires_at)
       SELECT k, $2, ${NOW_MS} + $3::bigint FROM unnest($1::text[]) AS k ORDER BY k
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE generation_claims.expires_at < ${NOW_MS}
       RETURNING key`,
      [[...keys].sort(), this.owner, this.leaseMs],
    );
    return rows.map((r) => r.key);
  }

  private async extend(keys: readonly string[]): Promise<void> {
    await this.pool.query(`UPDATE generation_claims SET expires_at = ${NOW_MS} + $3::bigint WHERE key = ANY($1::text[]) AND owner = $2`, [
      keys,
      this.owner,
      this.leaseMs,
    ]);
  }

  /** Deletes this gateway's claims on `keys` and notifies every gateway, in one statement. */
  private async release(keys: readonly string[], kind: 'done' | 'failed'): Promise<void> {
    await this.pool.query(
      `WITH released AS (DELETE FROM generation_claims WHERE key = ANY($1::text[]) AND owner = $2 RETURNING key)
       SELECT pg_notify($3, $4) FROM (SELECT count(*) FROM released) AS n`,
      [keys, this.owner, CHANNEL, `${kind}:${keys.join(',')}`],
    );
    // This gateway's own waiters (none with the in-process single flight; kept for completeness).
    for (const key of keys) this.dispatch(key, kind);
  }

  private watch(keys: readonly string[]): Watch {
    const done = new Set<string>();
    const failed = new Set<string>();
    let fired = false;
    let wake: (() => void) | null = null;
    const entry = {
      keys: new Set(keys),
      onEvent: (key: string, kind: string) => {
        if (kind === 'failed') failed.add(key);
        else if (kind === 'done') done.add(key);
        fired = true;
        wake?.();
      },
    };
    this.watches.add(entry);
    return {
      done,
      failed,
      wait: (ms) =>
        new Promise<void>((resolve) => {
          if (fired) {
            fired = false;
            resolve();
            return;
          }
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            wake = null;
            fired = false;
            resolve();
          }
          wake = done;
        }),
      stop: () => {
        this.watches.delete(entry);
      },
    };
  }

  private dispatch(key: string, kind: string): void {
    for (const watch of this.watches) if (watch.keys.has(key)) watch.onEvent(key, kind);
  }

  /** LISTENs on a connection of its own; reconnects every second while it is down (waiters poll meanwhile). */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      const payload = message.payload ?? '';
      const at = payload.indexOf(':');
      const kind = payload.slice(0, at);
      for (const key of payload.slice(at + 1).split(',')) if (key) this.dispatch(key, kind);
    });
    const dropped = (error: unknown) => {
      if (this.closed || this.listener !== client) return;
      this.listener = null;
      this.log('single flight: the LISTEN connection dropped; polling until it is back', error);
      this.reconnect();
    };
    client.on('error', dropped);
    client.on('end', () => dropped(new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) await client.end().catch(() => undefined);
    else this.listener = client;
  }

  private reconnect(): void {
    if (this.closed) return;
    setTimeout(
      () =>
        void this.listen().catch((error) => {
          this.log('single flight: LISTEN reconnect failed; trying again', error);
          this.reconnect();
        }),
      1_000,
    ).unref();
  }
}

/**
 * Reads stored images for waiters: bytes and ETag through the gateway's ImageStore (inline bytes or
 * the blob store), the route from the row.
 */
export function readStoredImages(store: ImageStore, pool: pg.Pool): ReadImages {
  return async (keys) => {
    const found = await store.lookup(keys, true);
    const out = new Map<string, SharedImage>();
    if (found.size === 0) return out;
    const { rows } = await pool.query<{ key: string; route: string }>('SELECT key, route FROM images WHERE key = ANY($1::text[])', [[...found.keys()]]);
    const routes = new Map(rows.map((r) => [r.key, r.route]));
    for (const [key, image] of found) {
      if (image.png) out.set(key, { png: image.png, etag: image.etag, route: asRoute(routes.get(key) ?? 'wasm') });
    }
    return out;
  };
}

/** The route a waiter reports for an image another gateway generated: the stored row's. */
export function asRoute(route: string): Route {
  return route === 'runner' ? 'runner' : 'wasm';
}
