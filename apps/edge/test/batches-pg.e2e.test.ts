/**
 * The batch store on Postgres (node/pg/db.ts over a throwaway server, test/support/postgres.ts):
 * the same BatchStore as on SQLite with the Postgres batch dialect. Creation, leases taken by
 * several stores at once never overlapping (FOR UPDATE SKIP LOCKED), the per-owner bound, lease
 * takeover, completion counted once, events and webhook rows built in SQL equal to the API's Batch,
 * cancel. And the whole gateway app on Postgres: create, process, page, events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { batchSchema } from '../src/api/batch-schemas.ts';
import { toBatch } from '../src/api/batches.ts';
import { postgresBatchDialect } from '../src/batches/pg.ts';
import { BatchStore, newBatchId } from '../src/batches/store.ts';
import { MIGRATIONS_PG_DIR } from '../src/node/paths.ts';
import { createPgDb, type PgDatabase } from '../src/node/pg/db.ts';

describe.skipIf(!postgresAvailable)('the batch store on Postgres', () => {
  let server: TestPostgres;
  let database: PgDatabase;
  let now = 1_800_000_000_000;
  const stores: BatchStore[] = [];
  const storeOn = (d: PgDatabase) => {
    const s = new BatchStore(d, postgresBatchDialect(d.dialect), () => now);
    stores.push(s);
    return s;
  };
  const extra: PgDatabase[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    database = await createPgDb(await server.createDatabase(), MIGRATIONS_PG_DIR);
  });
  afterAll(async () => {
    for (const d of extra) await d.close();
    await database?.close();
    await server?.stop();
  });

  const items = (count: number, n = 1) => Array.from({ length: count }, (_, i) => ({ prompt: `p ${i}`, seed: 4_294_967_000 + i, n, psi: 0.7 }));

  it('creates a batch and its items (10,000 in chunks), completed at once when every item is cached', async () => {
    const store = storeOn(database);
    const id = newBatchId();
    const row = await store.create({ id, owner: 'ip:1', model: 'aurora-tiny', items: items(10_000), webhook: null });
    expect(row).toMatchObject({ status: 'queued', total: 10_000, openItems: 10_000 });
    expect(await store.get(id, 'ip:1')).toMatchObject({ id, total: 10_000, createdAt: now });
    expect(await store.get(id, 'ip:2')).toBeNull();
    const page = await store.items(id, 9_997, 10);
    expect(page.map((i) => [i.index, i.seed])).toEqual([
      [9_998, 4_294_967_000 + 9_998],
      [9_999, 4_294_967_000 + 9_999],
    ]);
    const cachedId = newBatchId();
    const cached = await store.create({
      id: cachedId,
      owner: 'ip:1',
      model: 'aurora-tiny',
      items: [
        {
          prompt: 'c',
          seed: 1,
          n: 2,
          psi: 0.5,
          cached: [
            { id: 'k1', seed: 1, etag: 'e1' },
            { id: 'k2', seed: 2, etag: 'e2' },
          ],
        },
      ],
      webhook: { url: 'https://example.com/h', events: ['completed'] },
    });
    expect(cached).toMatchObject({ status: 'completed', done: 2 });
    const events = await store.events(cachedId, 0);
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'completed']]);
    expect(JSON.parse(events[0].data)).toEqual(toBatch((await store.get(cachedId, 'ip:1'))!));
    const { rows } = await database.pool.query('SELECT id, body FROM webhook_deliveries WHERE batch_id = $1', [cachedId]);
    expect(rows.map((r) => r.id)).toEqual([`msg_${cachedId}_1`]);
    const message = JSON.parse(rows[0].body);
    expect(message.type).toBe('batch.completed');
    expect(batchSchema.parse(message.data)).toEqual(message.data);
    // Clear the big one out of the way of the lease tests.
    expect((await store.cancel(id, 'ip:1')).kind).toBe('cancelled');
  });

  it('stores items as given (texts, bigints, doubles, JSON text, nulls) and finds cached etags among 10,000 keys in one-parameter lookups', async () => {
    const store = storeOn(database);
    const id = newBatchId();
    const given = [
      { prompt: 'quotes " \' \\ and ünï 🐱', seed: 4_294_967_295, n: 1, psi: 1 / 3 },
      {
        prompt: 'p',
        seed: 0,
        n: 2,
        psi: 1,
        cached: [
          { id: 'k1', seed: 0, etag: '"e1"' },
          { id: 'k2', seed: 1, etag: '"e2"' },
        ],
      },
      { prompt: 'q', seed: 7, n: 4, psi: 0.123456789012345 },
    ];
    await store.create({ id, owner: 'ip:7', model: 'aurora-tiny', items: given, webhook: null });
    const { rows } = await database.pool.query('SELECT * FROM batch_items WHERE batch_id = $1 ORDER BY idx', [id]);
    expect(
      rows.map((r) => [r.idx, r.owner, Number(r.created_at), r.prompt, Number(r.seed), r.n, r.psi, r.status, r.images, r.error, r.lease_until, r.attempts]),
    ).toEqual(
      given.map((g, idx) => [
        idx,
        'ip:7',
        now,
        g.prompt,
        g.seed,
        g.n,
        g.psi,
        g.cached ? 'completed' : 'queued',
        g.cached ? JSON.stringify(g.cached) : null,
        null,
        null,
        0,
      ]),
    );

    const { images } = database.dialect.tables;
    const keys = Array.from({ length: 10_000 }, (_, i) => `pgk${i}`.padEnd(64, 'x'));
    const present = keys.filter((_, i) => i % 37 === 0);
    await database.db.insert(images).values(
      present.map((key) => ({
        key,
        model: 'm',
        contentHash: 'h',
        prompt: 'p',
        seed: 1,
        psi: 0.7,
        size: '64x64',
        png: new Uint8Array([1]),
        byteLength: 1,
        etag: `"${key.slice(0, 8)}"`,
        route: 'test',
        generateMs: 1,
        createdAt: now,
      })),
    );
    const found = await store.cachedEtags(keys);
    expect([...found.keys()].sort()).toEqual([...present].sort());
    expect(found.get(present[1])).toBe(`"${present[1].slice(0, 8)}"`);
  });

  it('stores leasing at once never take the same item (SKIP LOCKED); an owner gets at most perOwner', async () => {
    const pools = await Promise.all([1, 2, 3].map(async () => createPgDb(database.url, MIGRATIONS_PG_DIR)));
    extra.push(...pools);
    const leasers = pools.map(storeOn);
    const id = newBatchId();
    await leasers[0].create({ id, owner: 'key:a', model: 'aurora-tiny', items: items(30), webhook: null });
    const other = newBatchId();
    await leasers[0].create({ id: other, owner: 'key:b', model: 'aurora-tiny', items: items(3), webhook: null });
    const got = (await Promise.all(leasers.flatMap((s) => Array.from({ length: 6 }, () => s.leaseNext({ leaseMs: 60_000, perOwner: 50 }))))).filter(
      (x) => x !== null,
    );
    const refs = got.map((i) => `${i.batchId}/${i.index}`);
    expect(new Set(refs).size).toBe(refs.length);
    expect(refs.length).toBeGreaterThan(0);
    expect((await leasers[0].get(id, 'key:a'))!.status).toBe('running');
    // key:b's items are under a bound of 1 now, whatever key:a holds.
    const before = got.filter((i) => i.batchId === other).length;
    const more = [];
    for (let i = 0; i < 5; i++) more.push(await leasers[1].leaseNext({ leaseMs: 60_000, perOwner: Math.max(1, before) }));
    expect(more.filter((i) => i?.batchId === other).length).toBe(before === 0 ? 1 : 0);
  });

  it('a lease that ran out is taken over; only its new holder completes the item, counted once, with events in order', async () => {
    const store = storeOn(database);
    const id = newBatchId();
    await store.create({
      id,
      owner: 'ip:9',
      model: 'aurora-tiny',
      items: items(2, 3),
      webhook: { url: 'https://example.com/h', events: ['progress', 'completed'] },
    });
    const one = await store.leaseItem({ batchId: id, index: 0 }, 1000);
    expect(one).toMatchObject({ attempts: 1, status: 'running' });
    expect(await store.leaseItem({ batchId: id, index: 0 }, 1000)).toBeNull();
    now += 1001;
    const two = (await store.leaseItem({ batchId: id, index: 0 }, 1000))!;
    expect(two.attempts).toBe(2);
    expect(await store.renew(one!, 1000)).toBe(false);
    expect(await store.complete(one!, [])).toBe(false);
    const imgs = [0, 1, 2].map((k) => ({ id: `i${k}`, seed: two.seed + k, etag: 'e' }));
    expect(await store.complete(two, imgs)).toBe(true);
    expect(await store.complete(two, imgs)).toBe(false);
    now += 1000;
    const last = (await store.leaseItem({ batchId: id, index: 1 }, 1000))!;
    expect(await store.fail(last, { code: 'no_runner', message: 'none' })).toBe(true);
    const batch = (await store.get(id, 'ip:9'))!;
    expect(batch).toMatchObject({ status: 'completed', done: 3, failed: 3, openItems: 0 });
    const events = await store.events(id, 0);
    expect(events.map((e) => e.type)).toEqual(['progress', 'completed']);
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(JSON.parse(events[1].data)).toEqual(toBatch(batch));
    const { rows } = await database.pool.query('SELECT id FROM webhook_deliveries WHERE batch_id = $1 ORDER BY id', [id]);
    expect(rows.map((r) => r.id)).toEqual([`msg_${id}_1`, `msg_${id}_2`]);
    // Finished: cancel is refused.
    expect((await store.cancel(id, 'ip:9')).kind).toBe('finished');
    expect((await store.cancel(id, 'ip:8')).kind).toBe('not_found');
  });

  it('cancel marks queued items cancelled, keeps the running one, and later completion counts as done', async () => {
    const store = storeOn(database);
    const id = newBatchId();
    await store.create({ id, owner: 'ip:5', model: 'aurora-tiny', items: items(4, 2), webhook: null });
    const running = (await store.leaseItem({ batchId: id, index: 2 }, 60_000))!;
    const result = await store.cancel(id, 'ip:5');
    expect(result.kind).toBe('cancelled');
    if (result.kind !== 'cancelled') return;
    expect(result.batch).toMatchObject({ status: 'cancelled', cancelled: 6, openItems: 1 });
    expect(await store.leaseItem({ batchId: id, index: 0 }, 1000)).toBeNull();
    expect(
      await store.complete(running, [
        { id: 'x', seed: 1, etag: 'e' },
        { id: 'y', seed: 2, etag: 'e' },
      ]),
    ).toBe(true);
    expect(await store.get(id, 'ip:5')).toMatchObject({ status: 'cancelled', done: 2, cancelled: 6, openItems: 0 });
    expect((await store.events(id, 0)).map((e) => e.type)).toEqual(['cancelled']);
  });
});
