/**
 * client.batches against the real gateway app (createApp over in-memory SQLite, aurora-tiny, the
 * fake in-process generator of apps/edge/test/support/deps.ts) on a loopback port, with the
 * gateway's own batch loop processing the items: create (Idempotency-Key replay), get and items
 * (paging, absolute image URLs), events (the gateway's SSE until the terminal event, resumed with
 * lastEventId), cancel (and 409 once finished), errors (400 naming the item, 404, another key's).
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchLoop } from '../../../apps/edge/src/batches/loop.ts';
import { listen } from '../../../apps/edge/src/node/http-server.ts';
import { testApp } from '../../../apps/edge/test/support/deps.ts';
import { AuroraClient, type BatchEvent } from '../src/index.ts';
import { rejection } from './support/rejection.ts';

const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };

let t: ReturnType<typeof testApp>;
let server: http.Server;
let loop: BatchLoop;
let base = '';
let key = '';
let otherKey = '';
const idempotencyKeys: (string | null)[] = [];

beforeAll(async () => {
  t = testApp({ AUTH_MODE: 'keys' });
  ({ secret: key } = await t.deps.access.keys.create({ name: 'sdk-batches', origins: ['*'], rpm: 1000 }));
  ({ secret: otherKey } = await t.deps.access.keys.create({ name: 'someone-else', origins: ['*'], rpm: 1000 }));
  const runtime = t.deps.batches!;
  loop = new BatchLoop({ store: runtime.store, generate: runtime.generate, maxImagesPerCall: 4, leaseMs: 5_000 }, { perOwner: 2, maxRunning: 4, pollMs: 10 });
  runtime.onCreated(() => loop.poke());
  loop.start();
  server = await listen(
    (req, bindings) => {
      if (new URL(req.url).pathname === '/v1/batches') idempotencyKeys.push(req.headers.get('idempotency-key'));
      return t.app.fetch(req, bindings, ctx);
    },
    0,
    '127.0.0.1',
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await loop?.stop();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
});

async function all(iterable: AsyncIterable<BatchEvent>): Promise<BatchEvent[]> {
  const out: BatchEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe('client.batches against the real gateway', () => {
  it('creates a batch (replayed for the same Idempotency-Key), follows its events to completion and pages its items', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    const request = {
      items: [
        { prompt: 'a red circle', seed: 1, n: 2 },
        { prompt: 'a blue square', seed: 7 },
        { prompt: 'a green star', seed: 3, truncation_psi: 0.5 },
      ],
    };
    const created = await client.batches.create(request, { idempotencyKey: 'warm-catalogue-1' });
    expect(created).toMatchObject({ object: 'batch', model: 'aurora-tiny', total: 4, failed: 0, cancelled: 0, webhook: null, replayed: false });
    expect(created.id).toMatch(/^batch_[a-z0-9]{24}$/);
    expect(idempotencyKeys.at(-1)).toBe('warm-catalogue-1');

    const events = await all(client.batches.events(created.id));
    const last = events.at(-1)!;
    expect(last.event).toBe('completed');
    expect(last.data).toMatchObject({ id: created.id, status: 'completed', done: 4, total: 4, failed: 0 });
    expect(last.data.finished).not.toBeNull();
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
    // Sequence numbers only go up.
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // The same key and body: the first answer again, no second batch.
    const again = await client.batches.create(request, { idempotencyKey: 'warm-catalogue-1' });
    expect(again).toMatchObject({ id: created.id, replayed: true });

    const page = await client.batches.get(created.id, { limit: 2 });
    expect(page).toMatchObject({ id: created.id, status: 'completed', has_more: true, next_after: 1 });
    expect(page.items.map((i) => [i.index, i.prompt, i.seed, i.n, i.status])).toEqual([
      [0, 'a red circle', 1, 2, 'completed'],
      [1, 'a blue square', 7, 1, 'completed'],
    ]);
    expect(page.items[0].images.map((img) => img.seed)).toEqual([1, 2]);
    for (const img of page.items[0].images) expect(img.url).toMatch(new RegExp(`^${base}/v1/images/${img.id}\\.[0-9a-f]+\\.png$`));
    const rest = await client.batches.get(created.id, { after: page.next_after!, limit: 2 });
    expect(rest).toMatchObject({ has_more: false, next_after: null });
    expect(rest.items.map((i) => [i.index, i.truncation_psi])).toEqual([[2, 0.5]]);

    const items = [];
    for await (const item of client.batches.items(created.id)) items.push(item);
    expect(items.map((i) => i.index)).toEqual([0, 1, 2]);

    // Every image is a cache hit now, as a shop's lookups will find it.
    const hit = await client.lookup({ prompt: 'a green star', seed: 3, psi: 0.5 });
    expect(hit?.id).toBe(items[2].images[0].id);
    const png = await fetch(items[0].images[1].url);
    expect(png.headers.get('content-type')).toBe('image/png');

    // Resuming after an event gives only what came after it, ending at the terminal event (the
    // batch was quick: the first stream may have shown only its final state).
    const resumed = await all(client.batches.events(created.id, { lastEventId: 0 }));
    expect(resumed.at(-1)).toMatchObject({ id: last.id, event: 'completed' });
    expect(resumed.every((e) => e.id > 0)).toBe(true);
    expect(resumed.map((e) => e.id)).toEqual([...new Set(resumed.map((e) => e.id))].sort((a, b) => a - b));
    // After the terminal event itself there is nothing more: the iteration ends at once.
    expect(await all(client.batches.events(created.id, { lastEventId: last.id }))).toEqual([]);
    // A new connection after the end gets the final state as its one event.
    expect((await all(client.batches.events(created.id))).map((e) => [e.event, e.data.done])).toEqual([['completed', 4]]);
  });

  it('cancels a batch that is waiting on the generator; cancelling it again is 409 batch_finished', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    let open = () => {};
    t.gen.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      const created = await client.batches.create({ items: Array.from({ length: 6 }, (_, i) => ({ prompt: 'a yellow moon', seed: 100 + i })) });
      const cancelled = await client.batches.cancel(created.id);
      expect(cancelled).toMatchObject({ id: created.id, status: 'cancelled' });
      expect(cancelled.cancelled).toBeGreaterThan(0);
      const error = await rejection(client.batches.cancel(created.id));
      expect([error.status, error.code]).toEqual([409, 'batch_finished']);
      open();
      const events = await all(client.batches.events(created.id));
      expect(events.at(-1)).toMatchObject({ event: 'cancelled', data: { status: 'cancelled' } });
    } finally {
      t.gen.gate = null;
      open();
    }
  });

  it('turns 400 (naming the item), 404 and another key’s batch into AuroraApiError', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    const bad = await rejection(client.batches.create({ items: [{ prompt: 'ok' }, { prompt: 'ok', n: 17 }] }));
    expect([bad.status, bad.code, bad.field]).toEqual([400, 'invalid_request', 'items[1].n']);
    const created = await client.batches.create({ items: [{ prompt: 'a red circle', seed: 1 }] });
    const missing = await rejection(client.batches.get('batch_0123456789abcdefghijklmn'));
    expect([missing.status, missing.code]).toEqual([404, 'batch_not_found']);
    const stranger = new AuroraClient({ baseUrl: base, apiKey: otherKey });
    for (const call of [stranger.batches.get(created.id), stranger.batches.cancel(created.id), all(stranger.batches.events(created.id))]) {
      const error = await rejection(call);
      expect([error.status, error.code]).toEqual([404, 'batch_not_found']);
    }
    const anonymous = await rejection(new AuroraClient({ baseUrl: base }).batches.get(created.id));
    expect(anonymous.status).toBe(401);
    await expect(client.batches.get(created.id, { limit: 0 })).rejects.toThrow(/limit must be an integer in \[1, 1000\]/);
    await expect(client.batches.create({ items: [] })).rejects.toThrow(/items must hold 1..10000 entries/);
    await expect(client.batches.create({ items: [{ prompt: 'x' }] }, { idempotencyKey: 'é' })).rejects.toThrow(/idempotencyKey must be/);
  });
});
