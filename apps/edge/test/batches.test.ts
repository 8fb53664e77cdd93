/**
 * Batches through the real app over in-memory SQLite (fake in-process generator): creation and its
 * validation, paging, cached items completing at once for free, processing by the batch loop with
 * every image in the cache once, cancel, the SSE stream (order, keep-alive, Last-Event-ID resume),
 * Idempotency-Key, owner scoping, and the store's lease rules.
 */
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { batchPageSchema, batchSchema } from '../src/api/batch-schemas.ts';
import { deliverDue } from '../src/batches/deliveries.ts';
import { BatchLoop } from '../src/batches/loop.ts';
import { processBatchItem } from '../src/batches/process.ts';
import { batchItems, webhookDeliveries } from '../src/batches/schema.ts';
import { BatchStore } from '../src/batches/store.ts';
import { apiKeys } from '../src/auth/schema.ts';
import { images } from '../src/cache/schema.ts';
import type { WebhookDelivery } from '../src/webhooks/deliver.ts';
import { verifyWebhook } from '../src/webhooks/standard-webhooks.ts';
import { type testApp, useTestApp } from './support/deps.ts';

const setup = useTestApp();
type T = ReturnType<typeof testApp>;

function post(t: T, body: unknown, headers: Record<string, string> = {}) {
  return t.request('/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function expectBad(res: Response, status: number, field: string, code = 'invalid_request') {
  const body = await res.json();
  expect({ status: res.status, code: body.error.code, field: body.error.field }).toEqual({ status, code, field });
}

function loopOf(t: T, options: { perOwner?: number; maxRunning?: number } = {}) {
  const runtime = t.deps.batches!;
  const loop = new BatchLoop(
    { store: runtime.store, generate: runtime.generate, maxImagesPerCall: 4, leaseMs: 5_000 },
    { perOwner: options.perOwner ?? 2, maxRunning: options.maxRunning ?? 4, pollMs: 10 },
  );
  runtime.onCreated(() => loop.poke());
  return loop;
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const getBatch = async (t: T, id: string, query = '') => {
  const res = await t.request(`/v1/batches/${id}${query}`);
  expect(res.status).toBe(200);
  return batchPageSchema.parse(await res.json());
};

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const e: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) e.comment = line.slice(1).trim();
        else {
          const at = line.indexOf(':');
          (e as Record<string, string>)[line.slice(0, at)] = line.slice(at + 1).trimStart();
        }
      }
      return e;
    });
}

describe('POST /v1/batches', () => {
  it('answers 202 with the Batch and a Location, seeds fixed per item, and pages its items', async () => {
    const t = setup();
    const res = await post(t, { items: [{ prompt: 'a red circle', seed: 5, n: 2 }, { prompt: 'a blue square' }, ...Array(3).fill({ prompt: 'x', n: 1 })] });
    expect(res.status).toBe(202);
    const batch = batchSchema.parse(await res.json());
    expect(res.headers.get('location')).toBe(`/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({
      object: 'batch',
      status: 'queued',
      model: 'aurora-tiny',
      total: 6,
      done: 0,
      failed: 0,
      cancelled: 0,
      finished: null,
      webhook: null,
    });
    expect(batch.id).toMatch(/^batch_[a-z0-9]{24}$/);
    const p1 = await getBatch(t, batch.id, '?limit=2');
    expect(p1.items.map((i) => i.index)).toEqual([0, 1]);
    expect(p1).toMatchObject({ has_more: true, next_after: 1 });
    expect(p1.items[0]).toMatchObject({ prompt: 'a red circle', seed: 5, n: 2, status: 'queued', images: [], error: null });
    expect(p1.items[1].seed).toBeGreaterThanOrEqual(0);
    const p2 = await getBatch(t, batch.id, '?limit=2&after=1');
    expect(p2.items.map((i) => i.index)).toEqual([2, 3]);
    const p3 = await getBatch(t, batch.id, `?limit=2&after=${p2.next_after}`);
    expect(p3).toMatchObject({ has_more: false, next_after: null });
    expect(p3.items.map((i) => i.index)).toEqual([4]);
    // The default page is 100 items; nothing ran (no loop).
    expect((await getBatch(t, batch.id)).items).toHaveLength(5);
    expect(t.gen.calls).toHaveLength(0);
  });

  it('names the bad field: items[i].prompt, items[i].n, items[i].seed, items, webhook.url, webhook, limit', async () => {
    const t = setup();
    await expectBad(await post(t, { items: [{ prompt: 'ok' }, { prompt: '' }] }), 400, 'items[1].prompt');
    await expectBad(await post(t, { items: [{ prompt: 'ok', n: 17 }] }), 400, 'items[0].n');
    await expectBad(await post(t, { items: [{ prompt: 'ok', seed: -1 }] }), 400, 'items[0].seed');
    await expectBad(await post(t, { items: [{ prompt: 'ok', seed: 4294967295, n: 2 }] }), 400, 'items[0].seed');
    await expectBad(await post(t, { items: [{ prompt: 'ok', truncation_psi: 2 }] }), 400, 'items[0].truncation_psi');
    await expectBad(await post(t, { items: [{ prompt: 'word '.repeat(90) }] }), 400, 'items[0].prompt');
    await expectBad(await post(t, { items: [] }), 400, 'items');
    await expectBad(await post(t, {}), 400, 'items');
    await expectBad(await post(t, { items: Array(626).fill({ prompt: 'p', n: 16 }) }), 400, 'items');
    await expectBad(await post(t, { items: [{ prompt: 'ok' }], model: 'nope' }), 400, 'model');
    await expectBad(await post(t, { items: [{ prompt: 'ok' }], webhook: { url: 'https://example.com/h' } }), 400, 'webhook');
    await expectBad(await post(t, { items: [{ prompt: 'ok' }], webhook: { url: 'https://example.com/h', events: ['nope'] } }), 400, 'webhook.events[0]');
    await expectBad(await post(t, '{not json'), 400, 'body', 'invalid_json');
    await expectBad(await t.request('/v1/batches/batch_0123456789abcdefghijklmn?limit=0'), 400, 'limit');
    await expectBad(await t.request('/v1/batches/nope'), 400, 'id');
    const missing = await t.request('/v1/batches/batch_0123456789abcdefghijklmn');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('batch_not_found');
    const rows = await t.db.select({ n: sql<number>`count(*)` }).from(batchItems);
    expect(rows[0].n).toBe(0);
  });

  it('refuses webhook URLs that are not https or point inside, and accepts one with WEBHOOK_SECRET', async () => {
    const t = setup({ WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    for (const url of [
      'http://example.com/h',
      'https://127.0.0.1/h',
      'https://10.1.2.3/',
      'https://[::1]/',
      'https://169.254.169.254/latest',
      'https://localhost/x',
      'nope',
    ]) {
      await expectBad(await post(t, { items: [{ prompt: 'ok' }], webhook: { url } }), 400, 'webhook.url');
    }
    const res = await post(t, { items: [{ prompt: 'ok' }], webhook: { url: 'https://example.com/h', events: ['progress', 'completed'] } });
    expect(res.status).toBe(202);
    expect((await res.json()).webhook).toEqual({ url: 'https://example.com/h', events: ['progress', 'completed'] });
  });

  it('a body over BATCH_MAX_BODY_BYTES is 413; a 10,000-item body fits the default', async () => {
    const t = setup({ BATCH_MAX_BODY_BYTES: '2048' });
    await expectBad(await post(t, { items: Array(100).fill({ prompt: 'a red circle' }) }), 413, 'body', 'payload_too_large');
    const big = setup();
    const res = await post(big, { items: Array.from({ length: 10_000 }, (_, i) => ({ prompt: 'a red circle', seed: i })) });
    expect(res.status).toBe(202);
    expect((await res.json()).total).toBe(10_000);
  });
});

describe('batches and the cache', () => {
  it('items already cached complete at creation and cost nothing; a batch with anything to make costs one token', async () => {
    const t = setup({ ANON_RPM: '1' });
    const gen = await t.post({ prompt: 'a green star', seed: 10, n: 3 });
    expect(gen.status).toBe(200);
    const calls = t.gen.calls.length;
    // The bucket (1 rpm) is empty now: a batch answered wholly from the cache is still accepted.
    const res = await post(t, {
      items: [
        { prompt: 'a green star', seed: 10, n: 2 },
        { prompt: 'a green star', seed: 12 },
      ],
    });
    expect(res.status).toBe(202);
    const batch = await res.json();
    expect(batch).toMatchObject({ status: 'completed', total: 3, done: 3 });
    expect(batch.finished).not.toBeNull();
    const page = await getBatch(t, batch.id);
    expect(page.items.map((i) => i.status)).toEqual(['completed', 'completed']);
    expect(page.items[0].images.map((i) => i.seed)).toEqual([10, 11]);
    expect(page.items[0].images[0].url).toMatch(/^http:\/\/edge\.test\/v1\/images\/[0-9a-f]{64}\.[0-9a-f]+\.png$/);
    const img = await t.request(new URL(page.items[0].images[0].url).pathname);
    expect(img.status).toBe(200);
    expect(t.gen.calls.length).toBe(calls);
    // Its terminal event is stored (resumable) already.
    const events = parseSse(await (await t.request(`/v1/batches/${batch.id}/events?last_event_id=0`)).text());
    expect(events.map((e) => [e.id, e.event])).toEqual([['1', 'completed']]);
    // The creation hook (a Workers queue producer's) hears of batches with work only for the items left to run.
    const heard: [string, readonly number[]][] = [];
    t.deps.batches!.onCreated((b, queued) => heard.push([b.id, queued]));
    const mixed = await (await post(t, { items: [{ prompt: 'a green star', seed: 10 }], model: 'aurora-tiny' })).json();
    expect(heard).toEqual([[mixed.id, []]]);
    // One not cached must generate: charged, and the empty bucket refuses it.
    const refused = await post(t, {
      items: [
        { prompt: 'a green star', seed: 10 },
        { prompt: 'a green star', seed: 99 },
      ],
    });
    expect(refused.status).toBe(429);
    expect(await t.db.select({ n: sql<number>`count(*)` }).from(batchItems)).toEqual([{ n: 3 }]);
  });

  it('the loop runs every item through the generation path: each image generated and cached exactly once, events in order', async () => {
    const t = setup();
    const heard: (readonly number[])[] = [];
    t.deps.batches!.onCreated((_b, queued) => heard.push(queued));
    // Seeds overlap between items (10..13 twice) and one image is cached beforehand.
    expect((await t.post({ prompt: 'a blue circle', seed: 11 })).status).toBe(200);
    const items = [
      { prompt: 'a blue circle', seed: 10, n: 4 },
      { prompt: 'a blue circle', seed: 10, n: 4 },
      ...Array.from({ length: 40 }, (_, i) => ({ prompt: 'a red square', seed: 100 + i * 3, n: 3 })),
    ];
    const batch = await (await post(t, { items })).json();
    expect(batch.total).toBe(128);
    expect(heard).toEqual([items.map((_, i) => i)]);
    const loop = loopOf(t);
    loop.start();
    try {
      const done = await until(
        () => getBatch(t, batch.id, '?limit=1000'),
        (b) => b.status === 'completed',
      );
      expect(done).toMatchObject({ total: 128, done: 128, failed: 0, cancelled: 0 });
      expect(done.items.every((i) => i.status === 'completed' && i.images.length === i.n)).toBe(true);
      expect(done.items[0].images).toEqual(done.items[1].images);
    } finally {
      await loop.stop();
    }
    const generated = t.gen.calls.flat();
    const keyOf = (r: { prompt: string; seed: number }) => `${r.prompt}|${r.seed}`;
    // 4 distinct circle seeds (one cached before, by the generation above) + 120 square seeds.
    expect(new Set(generated.map(keyOf)).size).toBe(generated.length);
    expect(generated.length).toBe(1 + 3 + 120);
    expect(await t.db.select({ n: sql<number>`count(*)` }).from(images)).toEqual([{ n: 124 }]);
    const events = parseSse(await (await t.request(`/v1/batches/${batch.id}/events?last_event_id=0`)).text());
    const seqs = events.map((e) => Number(e.id));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(events.at(-1)!.event).toBe('completed');
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
    const progress = events.map((e) => JSON.parse(e.data!).done as number);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    // The data written in SQL is the Batch the API answers.
    expect(JSON.parse(events.at(-1)!.data!)).toEqual(batchSchema.parse(await (await t.request(`/v1/batches/${batch.id}?limit=1`)).json()));
    const { items: _i, has_more: _h, next_after: _n, ...final } = await getBatch(t, batch.id);
    expect(JSON.parse(events.at(-1)!.data!)).toEqual(final);
  });

  it('an item whose generation fails is failed with a public error; the batch completes with failed > 0', async () => {
    const t = setup();
    const batch = await (
      await post(t, {
        items: [
          { prompt: 'a red circle', seed: 1 },
          { prompt: 'a red circle', seed: 2 },
        ],
      })
    ).json();
    t.gen.fail = new Error('boom at http://10.0.0.5:9000/run');
    const runtime = t.deps.batches!;
    const deps = { store: runtime.store, generate: runtime.generate, leaseMs: 5_000 };
    expect(await processBatchItem(deps, { batchId: batch.id, index: 0 })).toBe('failed');
    expect(await processBatchItem(deps, { batchId: batch.id, index: 0 })).toBe('skipped');
    t.gen.fail = null;
    expect(await processBatchItem(deps, { batchId: batch.id, index: 1 })).toBe('completed');
    const b = await getBatch(t, batch.id);
    expect(b).toMatchObject({ status: 'completed', done: 1, failed: 1 });
    expect(b.items[0].error!.code).toBe('internal_error');
    expect(b.items[0].error!.message).not.toContain('10.0.0.5');
    // Every image failing is a failed batch.
    const all = await (await post(t, { items: [{ prompt: 'a red circle', seed: 7 }] })).json();
    t.gen.fail = new Error('boom');
    await processBatchItem(deps, { batchId: all.id, index: 0 });
    expect((await getBatch(t, all.id)).status).toBe('failed');
  });
});

describe('leases', () => {
  it('an expired lease is taken over, and only the holder of the current lease completes the item', async () => {
    let now = 1_000_000;
    const t = setup();
    const batch = await (await post(t, { items: [{ prompt: 'a red circle', seed: 1, n: 2 }] })).json();
    const store = t.deps.batches!.store;
    // A store on the same database with a clock we move.
    const { BatchStore } = await import('../src/batches/store.ts');
    const clocked = new BatchStore(
      { db: t.db, writeAtomically: (store as unknown as { database: { writeAtomically: never } }).database.writeAtomically },
      store.dialect,
      () => now,
    );
    const first = await clocked.leaseNext({ leaseMs: 1000, perOwner: 2 });
    expect(first).toMatchObject({ index: 0, attempts: 1, status: 'running' });
    expect(await clocked.leaseNext({ leaseMs: 1000, perOwner: 2 })).toBeNull();
    now += 1001;
    const second = await clocked.leaseNext({ leaseMs: 1000, perOwner: 2 });
    expect(second).toMatchObject({ index: 0, attempts: 2 });
    expect(await clocked.renew(first!, 1000)).toBe(false);
    expect(await clocked.complete(first!, [])).toBe(false);
    expect(
      await clocked.complete(second!, [
        { id: 'a', seed: 1, etag: 'e' },
        { id: 'b', seed: 2, etag: 'e' },
      ]),
    ).toBe(true);
    expect(await clocked.complete(second!, [])).toBe(false);
    const b = await getBatch(t, batch.id);
    expect(b).toMatchObject({ status: 'completed', done: 2, failed: 0 });
  });

  it('BATCH_CONCURRENCY bounds the items of one owner running at once; another owner still gets its share', async () => {
    const t = setup({ TRUST_PROXY: '1' });
    const a = await (await post(t, { items: Array(5).fill({ prompt: 'a' }) }, { 'x-forwarded-for': '203.0.113.1' })).json();
    await post(t, { items: Array(5).fill({ prompt: 'b' }) }, { 'x-forwarded-for': '203.0.113.2' });
    const store = t.deps.batches!.store;
    const leased = [];
    for (let i = 0; i < 10; i++) {
      const item = await store.leaseNext({ leaseMs: 60_000, perOwner: 2 });
      if (item) leased.push(item);
    }
    expect(leased).toHaveLength(4);
    expect(leased.filter((i) => i.batchId === a.id)).toHaveLength(2);
    // Owners are scopes: the other IP cannot see the batch.
    expect((await t.request(`/v1/batches/${a.id}`, { headers: { 'x-forwarded-for': '203.0.113.2' } })).status).toBe(404);
    expect((await t.request(`/v1/batches/${a.id}/cancel`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.2' } })).status).toBe(404);
    expect((await t.request(`/v1/batches/${a.id}`, { headers: { 'x-forwarded-for': '203.0.113.1' } })).status).toBe(200);
  });
});

describe('cancel', () => {
  it('cancels items not yet run, lets the running one finish, and is 409 once finished', async () => {
    const t = setup();
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => {
      release = r;
    });
    const batch = await (await post(t, { items: Array.from({ length: 5 }, (_, i) => ({ prompt: 'a red circle', seed: i * 10, n: 2 })) })).json();
    const loop = loopOf(t, { maxRunning: 1 });
    loop.start();
    try {
      await until(
        () => getBatch(t, batch.id),
        (b) => b.items[0].status === 'running',
      );
      const res = await t.request(`/v1/batches/${batch.id}/cancel`, { method: 'POST' });
      expect(res.status).toBe(200);
      const cancelled = batchSchema.parse(await res.json());
      expect(cancelled).toMatchObject({ status: 'cancelled', cancelled: 8, done: 0 });
      expect(cancelled.finished).not.toBeNull();
      const again = await t.request(`/v1/batches/${batch.id}/cancel`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect((await again.json()).error.code).toBe('batch_finished');
      release();
      const after = await until(
        () => getBatch(t, batch.id),
        (b) => b.items[0].status === 'completed',
      );
      expect(after).toMatchObject({ status: 'cancelled', done: 2, cancelled: 8 });
      expect(after.items.slice(1).every((i) => i.status === 'cancelled')).toBe(true);
    } finally {
      release();
      await loop.stop();
    }
    expect(t.gen.calls.flat()).toHaveLength(2);
    const events = parseSse(await (await t.request(`/v1/batches/${batch.id}/events`)).text());
    expect(events.map((e) => e.event)).toEqual(['cancelled']);
  });
});

describe('GET /v1/batches/{id}/events', () => {
  it('streams the current state first, progress in order, keep-alives, and ends after the terminal event; Last-Event-ID resumes', async () => {
    const t = setup();
    Object.assign(t.deps.batches!, { sse: { pollMs: 10, keepAliveMs: 30 } });
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => {
      release = r;
    });
    const batch = await (await post(t, { items: Array.from({ length: 4 }, (_, i) => ({ prompt: 'a red circle', seed: i * 10 })) })).json();
    const res = await t.request(`/v1/batches/${batch.id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reading = res.text();
    // Nothing moves for a while: keep-alive comments.
    await new Promise((r) => setTimeout(r, 120));
    const loop = loopOf(t, { maxRunning: 1 });
    loop.start();
    release();
    let text: string;
    try {
      text = await reading;
    } finally {
      await loop.stop();
    }
    const events = parseSse(text);
    expect(events[0]).toMatchObject({ id: '0', event: 'progress' });
    expect(JSON.parse(events[0].data!)).toMatchObject({ id: batch.id, status: 'queued', done: 0 });
    expect(events.some((e) => e.comment === 'keep-alive')).toBe(true);
    const real = events.filter((e) => e.id !== undefined);
    expect(real.at(-1)!.event).toBe('completed');
    expect(JSON.parse(real.at(-1)!.data!)).toMatchObject({ status: 'completed', done: 4 });
    const ids = real.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    // Resume after the first stored event: the rest, identical.
    const stored = parseSse(await (await t.request(`/v1/batches/${batch.id}/events`, { headers: { 'last-event-id': '0' } })).text());
    expect(stored.at(-1)!.event).toBe('completed');
    const resumed = parseSse(await (await t.request(`/v1/batches/${batch.id}/events`, { headers: { 'last-event-id': stored[0].id! } })).text());
    expect(resumed).toEqual(stored.slice(1));
    // After the terminal event: an empty stream that ends.
    const lastId = stored.at(-1)!.id!;
    expect(await (await t.request(`/v1/batches/${batch.id}/events?last_event_id=${lastId}`)).text()).toBe('');
    await expectBad(await t.request(`/v1/batches/${batch.id}/events`, { headers: { 'last-event-id': 'x' } }), 400, 'Last-Event-ID');
    expect((await t.request('/v1/batches/batch_0123456789abcdefghijklmn/events')).status).toBe(404);
  });
});

describe('an event stream whose client goes away', () => {
  it('stops reading the database', async () => {
    const t = setup();
    Object.assign(t.deps.batches!, { sse: { pollMs: 10, keepAliveMs: 1000 } });
    const batch = await (await post(t, { items: [{ prompt: 'a red circle', seed: 1 }] })).json();
    const store = t.deps.batches!.store;
    let reads = 0;
    const events = store.events.bind(store);
    store.events = (...args: Parameters<typeof store.events>) => {
      reads++;
      return events(...args);
    };
    const res = await t.request(`/v1/batches/${batch.id}/events`);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: progress');
    await new Promise((r) => setTimeout(r, 100));
    expect(reads).toBeGreaterThan(1);
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const after = reads;
    await new Promise((r) => setTimeout(r, 150));
    expect(reads).toBe(after);
  });
});

describe('Idempotency-Key on POST /v1/batches', () => {
  it('replays the same batch, 422 on another body, and the replay is not charged', async () => {
    const t = setup({ ANON_RPM: '1' });
    const body = { items: [{ prompt: 'a red circle', seed: 3 }] };
    const first = await post(t, body, { 'idempotency-key': 'b-1' });
    expect(first.status).toBe(202);
    const a = await first.json();
    const again = await post(t, body, { 'idempotency-key': 'b-1' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await again.json()).id).toBe(a.id);
    const other = await post(t, { items: [{ prompt: 'a red circle', seed: 4 }] }, { 'idempotency-key': 'b-1' });
    expect(other.status).toBe(422);
    expect(await t.db.select({ n: sql<number>`count(*)` }).from(batchItems)).toEqual([{ n: 1 }]);
  });

  it('a webhook subscribed to progress and completion gets outbox rows with a stable id and the Batch as data', async () => {
    const t = setup({ WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    const webhook = { url: 'https://example.com/h', events: ['progress', 'completed'] };
    const batch = await (
      await post(t, {
        items: [
          { prompt: 'a red circle', seed: 1 },
          { prompt: 'a red circle', seed: 2 },
        ],
        webhook,
      })
    ).json();
    const runtime = t.deps.batches!;
    for (const index of [0, 1]) await processBatchItem({ store: runtime.store, generate: runtime.generate }, { batchId: batch.id, index });
    const rows = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.batchId, batch.id)).orderBy(webhookDeliveries.id);
    expect(rows.map((r) => r.id)).toEqual([`msg_${batch.id}_1`, `msg_${batch.id}_2`]);
    expect(rows[1]).toMatchObject({ url: 'https://example.com/h', status: 'pending', attempts: 0 });
    expect(JSON.parse(rows[0].body)).toMatchObject({ type: 'batch.progress', data: { status: 'running', done: 1 } });
    // Only completion subscribed: no progress message.
    const quiet = await (
      await post(t, {
        items: [
          { prompt: 'a red circle', seed: 5 },
          { prompt: 'a red circle', seed: 6 },
        ],
        webhook: { url: webhook.url },
      })
    ).json();
    for (const index of [0, 1]) await processBatchItem({ store: runtime.store, generate: runtime.generate }, { batchId: quiet.id, index });
    const quietRows = await t.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.batchId, quiet.id));
    expect(quietRows.map((r) => r.id)).toEqual([`msg_${quiet.id}_2`]);
    const message = JSON.parse(rows[1].body);
    expect(message.type).toBe('batch.completed');
    expect(new Date(message.timestamp).toISOString()).toBe(message.timestamp);
    expect(message.data).toEqual(batchSchema.parse((await getBatch(t, batch.id)) as unknown));
  });
});

describe('the webhook outbox', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('sends each message signed (verifiable), retries a failing receiver on the schedule and gives up after 6 attempts', async () => {
    const t = setup({ WEBHOOK_SECRET: SECRET });
    let now = Date.now();
    const runtime = t.deps.batches!;
    const store = new BatchStore(
      (runtime.store as unknown as { database: ConstructorParameters<typeof BatchStore>[0] }).database,
      runtime.store.dialect,
      () => now,
    );
    const ok = await (await post(t, { items: [{ prompt: 'a red circle', seed: 1 }], webhook: { url: 'https://example.com/ok' } })).json();
    const bad = await (await post(t, { items: [{ prompt: 'a red circle', seed: 2 }], webhook: { url: 'https://example.com/bad' } })).json();
    for (const id of [ok.id, bad.id]) await processBatchItem({ store: runtime.store, generate: runtime.generate }, { batchId: id, index: 0 });
    now = Date.now() + 1;
    const sent: WebhookDelivery[] = [];
    const send = async (d: WebhookDelivery) => {
      sent.push(d);
      return d.url.endsWith('/ok') ? { ok: true, status: 204 } : { ok: false, status: 500, failure: 'status' as const, error: 'answered 500' };
    };
    const deps = { store, send, openSecret: SECRET, allowPrivate: false, now: () => now, random: () => 0.5 };
    expect(await deliverDue(deps)).toBe(2);
    expect(sent.map((d) => d.url).sort()).toEqual(['https://example.com/bad', 'https://example.com/ok']);
    const okSent = sent.find((d) => d.url.endsWith('/ok'))!;
    expect(okSent.headers['webhook-id']).toBe(`msg_${ok.id}_1`);
    expect(await verifyWebhook({ secret: SECRET, headers: okSent.headers, body: okSent.body, now })).toMatchObject({
      id: `msg_${ok.id}_1`,
    });
    expect(JSON.parse(okSent.body)).toMatchObject({ type: 'batch.completed', data: { id: ok.id, status: 'completed' } });
    // Nothing is due until the retry time (5 s after the first failure).
    expect(await deliverDue(deps)).toBe(0);
    const delays = [5_000, 30_000, 120_000, 600_000, 1_800_000];
    for (const delay of delays) {
      now += delay - 1;
      expect(await deliverDue(deps)).toBe(0);
      now += 1;
      expect(await deliverDue(deps)).toBe(1);
    }
    const rows = await t.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.url);
    expect(rows.map((r) => [r.url, r.status, r.attempts, r.lastStatus])).toEqual([
      ['https://example.com/bad', 'failed', 6, 500],
      ['https://example.com/ok', 'delivered', 1, 204],
    ]);
    // Every attempt of a message carries the same id and body.
    const badSent = sent.filter((d) => d.url.endsWith('/bad'));
    expect(new Set(badSent.map((d) => d.headers['webhook-id'])).size).toBe(1);
    expect(new Set(badSent.map((d) => d.body)).size).toBe(1);
    expect(badSent).toHaveLength(6);
    now += 10 * 3_600_000;
    expect(await deliverDue(deps)).toBe(0);
  });
});

describe('batches in keys mode', () => {
  it('need a key; webhooks are signed with the key’s own secret, and a key without one (made before batches) is 400 naming webhook', async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const { key, secret } = await t.deps.access.keys.create({ name: 'k', origins: ['*'], rpm: 60 });
    const [row] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = { items: [{ prompt: 'a red circle' }], webhook: { url: 'https://example.com/h' } };
    const anonymous = await post(t, body);
    expect(anonymous.status).toBe(401);
    const auth = { authorization: `Bearer ${secret}` };
    const created = await post(t, body, auth);
    expect(created.status).toBe(202);
    const batch = await created.json();
    expect((await t.request(`/v1/batches/${batch.id}`, { headers: auth })).status).toBe(200);
    expect((await t.request(`/v1/batches/${batch.id}`)).status).toBe(401);
    await t.db.update(apiKeys).set({ webhookSecret: null }).where(eq(apiKeys.id, key.id));
    await expectBad(await post(t, body, auth), 400, 'webhook');
    expect((await post(t, { items: body.items }, auth)).status).toBe(202);
  });
});
