/**
 * Single flight across gateways on Postgres (node/pg/flight.ts), two PgFlight instances standing
 * for two gateways on one database: one generation per key, a failed generation answers every
 * waiter with the same clean error and the next request generates again, a dead owner's claim is
 * taken over after its lease, and a claim that never finishes ends in a 503, never a hang.
 */
import { sha256Hex } from '@aurora-edge/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { inlineBlobs } from '../src/cache/blobs.ts';
import { ImageStore } from '../src/cache/store.ts';
import { EdgeError } from '../src/errors.ts';
import type { SharedImage } from '../src/generate/shared-flight.ts';
import { MIGRATIONS_PG_DIR } from '../src/node/paths.ts';
import { createPgDb, type PgDatabase } from '../src/node/pg/db.ts';
import { PgFlight, type PgFlightOptions, readStoredImages } from '../src/node/pg/flight.ts';

describe.skipIf(!postgresAvailable)('single flight across gateways on Postgres', () => {
  let server: TestPostgres;
  let url: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await server?.stop();
  });

  /** A gateway's share of the work: its database, store and flight; `made` counts its generations. */
  async function gateway(options: PgFlightOptions = {}) {
    const database: PgDatabase = await createPgDb(url, MIGRATIONS_PG_DIR);
    const store = new ImageStore(database, inlineBlobs);
    const flight = await PgFlight.start(database.pool, database.url, readStoredImages(store, database.pool), { pollMs: 100, ...options });
    closers.push(async () => {
      await flight.close();
      await database.close();
    });
    const made: string[] = [];
    /** Generates (after `ms`) and stores the keys, as the generation service's produce does. */
    const producer =
      (ms: number, fail?: Error) =>
      async (keys: string[]): Promise<SharedImage[]> => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (fail) throw fail;
        made.push(...keys);
        const images = keys.map((key) => {
          const png = new TextEncoder().encode(`png of ${key}`);
          return { key, png, etag: sha256Hex(png) };
        });
        await store.save(
          images.map(({ key, png, etag }) => ({
            key,
            png,
            etag,
            model: 'aurora-tiny',
            contentHash: 'c0ffee',
            prompt: key,
            seed: 1,
            psi: 0.7,
            size: '64x64',
            route: 'runner',
            generateMs: ms,
            runMs: null,
            createdAt: Date.now(),
          })),
        );
        return images.map(({ png, etag }) => ({ png, etag, route: 'runner' as const }));
      };
    return { database, store, flight, made, producer };
  }

  it('identical work on two gateways runs once; the waiter gets the same bytes', async () => {
    const [one, two] = await Promise.all([gateway(), gateway()]);
    const keys = ['same-1', 'same-2'];
    const [x, y] = await Promise.all([one.flight.share(keys, one.producer(300)), two.flight.share(keys, two.producer(300))]);
    expect(one.made.length + two.made.length).toBe(2);
    for (const key of keys) {
      expect(Buffer.from(y.get(key)!.png).equals(Buffer.from(x.get(key)!.png))).toBe(true);
      expect(y.get(key)!.route).toBe('runner');
    }
    const { rows } = await one.database.pool.query('SELECT count(*)::int AS n FROM generation_claims');
    expect(rows[0].n).toBe(0);
  });

  it("a failed generation answers the other gateway's waiter with a clean 503, and the next request generates again", async () => {
    const [one, two] = await Promise.all([gateway(), gateway()]);
    const owner = one.flight.share(['fails'], one.producer(300, new Error('runner exploded')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    // Its rejection is caught at once: it may come while the owner's is still being awaited.
    const waiter = two.flight.share(['fails'], two.producer(0)).catch((e: unknown) => e);
    await expect(owner).rejects.toThrow('runner exploded');
    const error = await waiter;
    expect(error).toBeInstanceOf(EdgeError);
    expect((error as EdgeError).status).toBe(503);
    expect((error as EdgeError).code).toBe('generation_failed');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(two.made).toEqual([]);
    const retried = await two.flight.share(['fails'], two.producer(10));
    expect(retried.get('fails')!.png.length).toBeGreaterThan(0);
    expect(two.made).toEqual(['fails']);
  });

  it("a dead gateway's claim blocks its key only until the lease runs out", async () => {
    const one = await gateway({ leaseMs: 1_000 });
    // A claim whose owner is gone: it was never released and nobody extends it.
    await one.database.pool.query(
      `INSERT INTO generation_claims (key, owner, expires_at) VALUES ('orphan', 'dead/1/x', (extract(epoch from clock_timestamp()) * 1000)::bigint + 800)`,
    );
    const started = Date.now();
    const got = await one.flight.share(['orphan'], one.producer(10));
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(got.get('orphan')).toBeDefined();
    expect(one.made).toEqual(['orphan']);
  });

  it('a live claim that never finishes ends the wait in a 503 after FLIGHT_MAX_WAIT_MS, not a hang', async () => {
    const [one, two] = await Promise.all([gateway({ leaseMs: 300 }), gateway({ maxWaitMs: 1_000 })]);
    let release!: () => void;
    const stuck = one.flight.share(['stuck'], async (keys) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return one.producer(0)(keys);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const error = await two.flight.share(['stuck'], two.producer(0)).catch((e: unknown) => e);
    // The owner's heartbeat kept its 300 ms lease alive all along: the waiter never took it over.
    expect((error as EdgeError).code).toBe('busy');
    expect((error as EdgeError).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(two.made).toEqual([]);
    release();
    await stuck;
  });
});
