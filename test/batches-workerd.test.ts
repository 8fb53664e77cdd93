/**
 * Batches on the Worker in workerd (wrangler's unstable_startWorker on the real wrangler.toml: its
 * aurora-batches queue with producer, consumer and dead letter queue, local D1): a batch created
 * through the Worker runs through the queue, each item leased once and each image stored once in
 * D1, never more than BATCH_CONCURRENCY running; cached items complete at creation; items left
 * waiting are re-enqueued by the sweep and the duplicate messages run nothing twice; cancel stops
 * queued items; the SSE endpoint streams to the end and resumes; webhooks reach a real local HTTP
 * server signed the Standard Webhooks way, and a failed one is retried on its schedule.
 *
 * Not reachable here: wrangler 4.86's Worker.queue()/scheduled() look the Worker up in the
 * proxy's Miniflare ("worker not found"), and /cdn-cgi/handler/scheduled reaches the assets
 * router, not the Worker, so the cron handler itself is not called (it runs the same sweep and
 * webhook drain as the consumer). docs/workers.md, "Batches on Workers".
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateWebhookSecret, verifyWebhook } from '../apps/edge/src/webhooks/standard-webhooks.ts';
import { startWorker, type Worker, wranglerD1 } from './support/workerd.ts';

const SECRET = generateWebhookSecret();
const PER_OWNER = 2;
const RUN = Date.now().toString(36);

interface Hook {
  headers: Record<string, string>;
  body: string;
  status: number;
}

let dir: string;
let started: { worker: Worker; base: string };
let hookServer: http.Server;
let hookUrl: string;
const hooks: Hook[] = [];
/** Answers the webhook server gives, in order, before it answers 204. */
const hookAnswers: number[] = [];

interface BatchJson {
  id: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  items?: { index: number; status: string; images: { id: string; seed: number; url: string }[]; error: unknown }[];
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-batches-workerd-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  hookServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const status = hookAnswers.shift() ?? 204;
      hooks.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks`;
}, 180_000);

/** The Worker's variables in these tests. */
const VARS = {
  ANON_RPM: { type: 'plain_text', value: '0' },
  BATCH_CONCURRENCY: { type: 'plain_text', value: String(PER_OWNER) },
  WEBHOOK_SECRET: { type: 'plain_text', value: SECRET },
  WEBHOOK_ALLOW_PRIVATE: { type: 'plain_text', value: 'true' },
  BATCH_REQUEUE_AFTER_MS: { type: 'plain_text', value: '2000' },
  // Short leases (renewed every third): a lease left by the first Worker when it is disposed runs out soon.
  BATCH_LEASE_MS: { type: 'plain_text', value: '5000' },
} as const;

afterAll(async () => {
  await new Promise((r) => hookServer?.close(r));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The Worker's local D1 database file, read directly (read-only). */
function d1(): Database.Database {
  const folder = path.join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = fs.readdirSync(folder).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  return new Database(path.join(folder, file!), { readonly: true, fileMustExist: true });
}

function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = d1();
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const post = (p: string, body?: object) =>
  fetch(`${started.base}${p}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method: 'POST' });
const get = async (id: string): Promise<BatchJson> => (await fetch(`${started.base}/v1/batches/${id}?limit=1000`)).json() as Promise<BatchJson>;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const finished = (b: BatchJson) => ['completed', 'failed', 'cancelled'].includes(b.status);

/** Reads an SSE response to its end: events with their ids, and the keep-alive comments. */
async function readEvents(res: Response): Promise<{ id: number; event: string; data: BatchJson }[]> {
  const text = await res.text();
  const events: { id: number; event: string; data: BatchJson }[] = [];
  for (const block of text.split('\n\n').filter((b) => b.trim() !== '')) {
    if (block.startsWith(':')) continue;
    const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]));
    events.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) });
  }
  return events;
}

describe('batches on the Worker in workerd, through Cloudflare Queues', () => {
  beforeAll(async () => {
    started = await startWorker(dir, VARS);
  }, 180_000);

  afterAll(async () => {
    await started?.worker.dispose();
  });

  let first: BatchJson;
  const items = [
    { prompt: `a red circle ${RUN}`, seed: 10 },
    { prompt: `a blue square ${RUN}`, seed: 20, n: 2 },
    { prompt: `a green triangle ${RUN}`, seed: 30 },
    { prompt: `a yellow star ${RUN}`, seed: 40 },
    { prompt: `a purple ring ${RUN}`, seed: 50 },
  ];

  it('runs a batch through the queue: each item leased once, each image once in D1, SSE to the end, a signed webhook', async () => {
    const res = await post('/v1/batches', { items, webhook: { url: hookUrl, events: ['progress', 'completed'] } });
    expect(res.status).toBe(202);
    const created = (await res.json()) as BatchJson;
    expect(res.headers.get('location')).toBe(`/v1/batches/${created.id}`);
    expect(created).toMatchObject({ status: 'queued', total: 6, done: 0 });

    const events = fetch(`${started.base}/v1/batches/${created.id}/events`).then(async (r) => {
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      return readEvents(r);
    });
    // The per-owner bound, seen from outside while it runs: never more than BATCH_CONCURRENCY running.
    let mostRunning = 0;
    first = await until(
      'the batch to finish',
      async () => {
        const b = await get(created.id);
        mostRunning = Math.max(mostRunning, b.items!.filter((i) => i.status === 'running').length);
        return b;
      },
      finished,
    );
    expect(first).toMatchObject({ status: 'completed', total: 6, done: 6, failed: 0 });
    expect(mostRunning).toBeLessThanOrEqual(PER_OWNER);
    const ids = first.items!.flatMap((i) => i.images.map((img) => img.id));
    expect(first.items!.map((i) => [i.status, i.images.length])).toEqual([
      ['completed', 1],
      ['completed', 2],
      ['completed', 1],
      ['completed', 1],
      ['completed', 1],
    ]);
    expect(new Set(ids).size).toBe(6);

    // D1: every image once, every item leased once (no message ran an item twice).
    const rows = query<{ key: string; seed: number }>(`SELECT key, seed FROM images WHERE prompt LIKE ?`, `%${RUN}`);
    expect(rows.map((r) => r.key).sort()).toEqual([...ids].sort());
    expect(query<{ idx: number; attempts: number }>('SELECT idx, attempts FROM batch_items WHERE batch_id = ? ORDER BY idx', created.id)).toEqual(
      items.map((_, idx) => ({ idx, attempts: 1 })),
    );
    const png = await fetch(first.items![1].images[1].url);
    expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png']);

    // SSE: the current state first, increasing ids, ending with the completed event.
    const seen = await events;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => a - b));
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.at(-1)).toMatchObject({ event: 'completed', data: { id: created.id, status: 'completed', done: 6 } });
    // Resumed after the last event: nothing more (the stream ends at once).
    const resumed = await fetch(`${started.base}/v1/batches/${created.id}/events`, { headers: { 'last-event-id': String(seen.at(-1)!.id) } });
    expect(await readEvents(resumed)).toEqual([]);

    // The webhook: batch.completed, signed with WEBHOOK_SECRET, its id stable per event.
    const done = await until(
      'the completed webhook',
      async () => hooks.filter((h) => h.body.includes(created.id)),
      (hs) => hs.some((h) => JSON.parse(h.body).type === 'batch.completed'),
      30_000,
    );
    for (const h of done) {
      await expect(verifyWebhook({ secret: SECRET, headers: h.headers, body: h.body })).resolves.toMatchObject({ id: h.headers['webhook-id'] });
      expect(h.headers['webhook-id']).toMatch(new RegExp(`^msg_${created.id}_\\d+$`));
    }
    const completed = done.find((h) => JSON.parse(h.body).type === 'batch.completed')!;
    expect(JSON.parse(completed.body).data).toMatchObject({ id: created.id, status: 'completed', done: 6, total: 6 });
    await expect(verifyWebhook({ secret: generateWebhookSecret(), headers: completed.headers, body: completed.body })).rejects.toThrow();
    expect(new Set(done.map((h) => h.headers['webhook-id'])).size).toBe(done.length);
  });

  it('completes cached items at creation and runs only the rest through the queue', async () => {
    const cached = await post('/v1/batches', { items: items.slice(0, 2) });
    expect(cached.status).toBe(202);
    expect(await cached.json()).toMatchObject({ status: 'completed', total: 3, done: 3 });

    const mixed = await post('/v1/batches', { items: [...items, { prompt: `an orange cross ${RUN}`, seed: 60 }] });
    const created = (await mixed.json()) as BatchJson;
    expect(created).toMatchObject({ status: 'queued', total: 7, done: 6 });
    const b = await until('the mixed batch', () => get(created.id), finished);
    expect(b).toMatchObject({ status: 'completed', done: 7 });
    // The cached items were never leased; only the new one was, once.
    expect(query<{ attempts: number }>('SELECT attempts FROM batch_items WHERE batch_id = ? ORDER BY idx', created.id).map((r) => r.attempts)).toEqual([
      0, 0, 0, 0, 0, 1,
    ]);
    expect(b.items!.slice(0, 5).flatMap((i) => i.images.map((img) => img.id))).toEqual(first.items!.flatMap((i) => i.images.map((img) => img.id)));
  });

  it('the sweep re-enqueues items left waiting; the duplicate messages run nothing twice', async () => {
    const many = Array.from({ length: 7 }, (_, k) => ({ prompt: `a swept shape ${k} ${RUN}`, seed: 200 + k, n: 8 }));
    // Messages the queue delivered, from wrangler's log of each delivery ("QUEUE aurora-batches acked/delivered").
    let delivered = 0;
    const count = (...args: unknown[]) => {
      const m = /QUEUE aurora-batches \d+\/(\d+)/.exec(args.map(String).join(' '));
      if (m) delivered += Number(m[1]);
    };
    const spies = (['log', 'info'] as const).map((level) => {
      const original = console[level].bind(console);
      return vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        count(...args);
        original(...args);
      });
    });
    const created = (await (await post('/v1/batches', { items: many })).json()) as BatchJson;
    // BATCH_REQUEUE_AFTER_MS is 2 s here: items still queued (waiting for their owner's turn) then
    // get a second message from the sweep (which the cron trigger runs every minute, and the
    // consumer and batch requests at most once an interval: here the GETs below), while their
    // first is still waiting or being run.
    const b = await until('the swept batch', () => get(created.id), finished);
    expect(b).toMatchObject({ status: 'completed', total: 56, done: 56, failed: 0 });
    // Each item leased (run) once, each image stored once, one event per seq, one webhook row per event at most.
    expect(query<{ attempts: number }>('SELECT attempts FROM batch_items WHERE batch_id = ?', created.id).map((r) => r.attempts)).toEqual(many.map(() => 1));
    const ids = b.items!.flatMap((i) => i.images.map((img) => img.id));
    expect(new Set(ids).size).toBe(56);
    expect(
      query<{ key: string }>('SELECT key FROM images WHERE prompt LIKE ?', `a swept shape %${RUN}`)
        .map((r) => r.key)
        .sort(),
    ).toEqual([...ids].sort());
    const seqs = query<{ seq: number }>('SELECT seq FROM batch_events WHERE batch_id = ? ORDER BY seq', created.id).map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, k) => k + 1));
    // Later deliveries of those messages change nothing.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await get(created.id)).toEqual(b);
    for (const spy of spies) spy.mockRestore();
    // More deliveries than items: the sweep's duplicates (and the retries they met) did come.
    expect(delivered).toBeGreaterThan(7);
  });

  it('cancel stops queued items: none of them runs afterwards', async () => {
    const many = Array.from({ length: 7 }, (_, k) => ({ prompt: `a cancelled shape ${k} ${RUN}`, seed: 100 + k, n: 4 }));
    const created = (await (await post('/v1/batches', { items: many })).json()) as BatchJson;
    const cancel = await post(`/v1/batches/${created.id}/cancel`);
    expect(cancel.status).toBe(200);
    const cancelled = (await cancel.json()) as BatchJson;
    expect(cancelled.status).toBe('cancelled');
    // Items running at the cancel may still finish (at most BATCH_CONCURRENCY at a time); the rest are cancelled.
    expect(cancelled.cancelled).toBeGreaterThan(0);
    // Long enough for the queue to deliver every message (max_batch_timeout 1 s) and the consumer to act on it.
    await new Promise((r) => setTimeout(r, 5_000));
    const b = await get(created.id);
    expect(b.status).toBe('cancelled');
    const statuses = b.items!.map((i) => i.status);
    expect(statuses.filter((s) => s !== 'cancelled' && s !== 'completed')).toEqual([]);
    expect(b.done + b.cancelled).toBe(28);
    expect(b.cancelled).toBe(cancelled.cancelled);
    // No image was made for a cancelled item.
    expect(query('SELECT key FROM images WHERE prompt LIKE ?', `a cancelled shape %${RUN}`)).toHaveLength(b.done);
    expect(query<{ n: number }>("SELECT count(*) AS n FROM batch_items WHERE batch_id = ? AND status = 'cancelled' AND attempts > 0", created.id)[0].n).toBe(0);
    expect((await post(`/v1/batches/${created.id}/cancel`)).status).toBe(409);
  });

  it('retries a failed webhook on its schedule, signed again with the same webhook-id', async () => {
    hookAnswers.push(500);
    const before = hooks.length;
    const res = await post('/v1/batches', { items: items.slice(0, 1), webhook: { url: hookUrl } });
    const created = (await res.json()) as BatchJson;
    // All cached: completed at creation; its webhook goes out after the response and gets a 500.
    expect(created.status).toBe('completed');
    await until(
      'the first attempt',
      async () => hooks.slice(before),
      (hs) => hs.length >= 1,
      30_000,
    );
    expect(hooks[before].status).toBe(500);
    const [row] = query<{ attempts: number; status: string; next_attempt_at: number }>(
      'SELECT attempts, status, next_attempt_at FROM webhook_deliveries WHERE batch_id = ?',
      created.id,
    );
    expect(row).toMatchObject({ attempts: 1, status: 'pending' });
    // The first retry is due 5 s (+-20%) later: not before (a batch POST drains what is due, and
    // the queue consumer and the cron trigger do the same).
    expect(row.next_attempt_at - Date.now()).toBeGreaterThan(3_000);
    expect((await post('/v1/batches', { items: items.slice(1, 2) })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect(hooks.slice(before)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, Math.max(0, row.next_attempt_at - Date.now()) + 200));
    expect((await post('/v1/batches', { items: items.slice(1, 2) })).status).toBe(202);
    await until(
      'the retry',
      async () => hooks.slice(before),
      (hs) => hs.length >= 2,
      15_000,
    );
    const sent = hooks.slice(before);
    expect(sent.map((h) => h.status)).toEqual([500, 204]);
    expect(sent[1].headers['webhook-id']).toBe(sent[0].headers['webhook-id']);
    for (const h of sent) await verifyWebhook({ secret: SECRET, headers: h.headers, body: h.body });
    expect(query('SELECT attempts, status FROM webhook_deliveries WHERE batch_id = ?', created.id)).toEqual([{ attempts: 2, status: 'delivered' }]);
  });
});

describe('a batch whose messages were never sent (BATCH_ENQUEUE_ON_CREATE=false: as after a failed send)', () => {
  beforeAll(async () => {
    started = await startWorker(dir, { ...VARS, BATCH_ENQUEUE_ON_CREATE: { type: 'plain_text', value: 'false' } });
  }, 180_000);

  afterAll(async () => {
    await started?.worker.dispose();
  });

  it('is not lost: the sweep enqueues its items once they are untouched for BATCH_REQUEUE_AFTER_MS', async () => {
    const orphans = [0, 1, 2].map((k) => ({ prompt: `an orphaned shape ${k} ${RUN}`, seed: 300 + k }));
    const res = await post('/v1/batches', { items: orphans });
    expect(res.status).toBe(202);
    const created = (await res.json()) as BatchJson;
    expect(created).toMatchObject({ status: 'queued', total: 3 });
    // Nothing was sent, so nothing runs (with messages the first lease comes within a second).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(query<{ attempts: number }>('SELECT attempts FROM batch_items WHERE batch_id = ?', created.id).map((r) => r.attempts)).toEqual([0, 0, 0]);
    // Past 2 s untouched, a sweep (here the one these GETs trigger) sends them.
    const b = await until('the recovered batch', () => get(created.id), finished);
    expect(b).toMatchObject({ status: 'completed', total: 3, done: 3, failed: 0 });
    expect(query<{ attempts: number }>('SELECT attempts FROM batch_items WHERE batch_id = ?', created.id).map((r) => r.attempts)).toEqual([1, 1, 1]);
    expect(query('SELECT key FROM images WHERE prompt LIKE ?', `an orphaned shape %${RUN}`)).toHaveLength(3);
  });
});
