/**
 * Batches through real Node gateway processes (aurora-tiny in the in-process WASM thread, no
 * runner): a 1,000-image batch on SQLite whose gateway is SIGKILLed mid-batch and restarted on the
 * same file, and a batch on Postgres whose gateway is SIGKILLed while a second one is serving. The
 * batch finishes with every image in the cache exactly once: the restarted/surviving gateway
 * generates exactly the images the dead one had not stored (its Prometheus counter), and the item
 * the dead one held is taken over after its lease.
 */
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from './support/postgres.ts';
import { call, type GatewayChild, removeTempDirs, startGatewayChild, tempDir, waitFor } from './support/reliability.ts';

interface BatchPage {
  id: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  items: { index: number; n: number; status: string; images: { id: string; seed: number }[] }[];
  has_more: boolean;
  next_after: number | null;
}

interface Gateway {
  child: GatewayChild;
  metricsUrl: string;
}

/** Items n=4 (one in-process call each: WASM_FALLBACK_MAX_BATCH 4), distinct seeds. */
const itemsOf = (images: number, prompt: string) => Array.from({ length: images / 4 }, (_, i) => ({ prompt, seed: 1000 + i * 4, n: 4 }));

async function start(env: Record<string, string>): Promise<Gateway> {
  const child = await startGatewayChild({ METRICS_PORT: '0', BATCH_LEASE_MS: '3000', BATCH_POLL_MS: '100', ...env }, 120_000);
  return { child, metricsUrl: child.metricsUrl! };
}

async function generated(g: Gateway): Promise<number> {
  const text = (await call(g.metricsUrl)).text;
  let sum = 0;
  for (const m of text.matchAll(/^aurora_edge_images_generated_total\{route="(?:wasm|runner)"\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

async function batchOf(g: Gateway, id: string, query = ''): Promise<BatchPage> {
  const a = await call(`${g.child.url}/v1/batches/${id}${query}`);
  expect(a.status).toBe(200);
  return a.json as BatchPage;
}

async function allItems(g: Gateway, id: string): Promise<BatchPage['items']> {
  const out: BatchPage['items'] = [];
  let after = '';
  for (;;) {
    const page = await batchOf(g, id, `?limit=1000${after}`);
    out.push(...page.items);
    if (!page.has_more) return out;
    after = `&after=${page.next_after}`;
  }
}

async function create(g: Gateway, body: unknown): Promise<{ id: string; total: number }> {
  const a = await call(`${g.child.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(a.status, a.text).toBe(202);
  return a.json as { id: string; total: number };
}

async function kill(g: Gateway): Promise<void> {
  g.child.child.kill('SIGKILL');
  await g.child.exited;
}

async function stop(g: Gateway | undefined): Promise<void> {
  if (g && g.child.child.exitCode === null && g.child.child.signalCode === null) {
    g.child.child.kill('SIGTERM');
    await g.child.exited;
  }
}

/** Every image of the finished batch: ids unique, and exactly the batch's seeds. */
function expectEveryImageOnce(items: BatchPage['items'], total: number) {
  const ids = items.flatMap((i) => i.images.map((img) => img.id));
  expect(items.every((i) => i.status === 'completed' && i.images.length === i.n)).toBe(true);
  expect(ids).toHaveLength(total);
  expect(new Set(ids).size).toBe(total);
}

describe('a batch survives its gateway being SIGKILLed (SQLite)', () => {
  const started: Gateway[] = [];
  afterAll(async () => {
    for (const g of started) await stop(g);
    removeTempDirs();
  });

  it('1,000 images: the restarted gateway finishes the batch, generating exactly what the dead one had not stored', async () => {
    const file = path.join(tempDir('aurora-batches-'), 'edge.sqlite');
    const env = { DATABASE_PATH: file };
    const a = await start(env);
    started.push(a);
    const batch = await create(a, { items: itemsOf(1000, 'a red circle') });
    expect(batch.total).toBe(1000);
    await waitFor('a quarter of the batch', async () => (await batchOf(a, batch.id, '?limit=1')).done >= 250, 480_000, 200);
    await kill(a);
    const count = () => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const storedByA = count();
    expect(storedByA).toBeGreaterThanOrEqual(250);
    expect(storedByA).toBeLessThan(1000);

    const b = await start(env);
    started.push(b);
    const done = await waitFor(
      'the batch to complete',
      async () => {
        const page = await batchOf(b, batch.id, '?limit=1');
        return page.status === 'completed' ? page : null;
      },
      600_000,
      250,
    );
    expect(done).toMatchObject({ total: 1000, done: 1000, failed: 0 });
    expectEveryImageOnce(await allItems(b, batch.id), 1000);
    expect(count()).toBe(1000);
    // Exactly once: B made the images A had not stored, no more (an item A was running is re-run, its stored part read back from the cache).
    expect(await generated(b)).toBe(1000 - storedByA);
    // The events, stored by both processes, are in order and end with the terminal one.
    const events = (await call(`${b.child.url}/v1/batches/${batch.id}/events?last_event_id=0`)).text;
    const ids = [...events.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const last = events.trimEnd().split('\n\n').at(-1)!;
    expect(last).toContain('event: completed\n');
    expect(last).toContain(`id: ${ids.at(-1)}`);
    expect(JSON.parse(/^data: (.*)$/m.exec(last)![1])).toMatchObject({ id: batch.id, status: 'completed', done: 1000 });
  }, 900_000);
});

describe.skipIf(!postgresAvailable)('a batch survives one of two gateways being SIGKILLed (Postgres)', () => {
  let server: TestPostgres;
  let url: string;
  let sql: pg.Pool;
  const started: Gateway[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
    sql = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(async () => {
    for (const g of started) await stop(g);
    await sql?.end();
    await server?.stop();
  });

  it('the surviving gateway takes over the dead one’s items and generates exactly what it had not stored', async () => {
    // A alone runs batches at first; B serves requests only (BATCH_MAX_RUNNING 0) until A dies, then a restarted B runs them.
    const a = await start({ DATABASE_URL: url });
    started.push(a);
    const batch = await create(a, { items: itemsOf(200, 'a blue square') });
    const b = await start({ DATABASE_URL: url, BATCH_MAX_RUNNING: '0' });
    started.push(b);
    // Visible through either gateway (one database), and scoped to the caller's IP on both.
    await waitFor('progress', async () => (await batchOf(b, batch.id, '?limit=1')).done >= 60, 480_000, 200);
    await kill(a);
    const count = async () => (await sql.query('SELECT count(*)::int AS n FROM images')).rows[0].n as number;
    const storedByA = await count();
    expect(storedByA).toBeLessThan(200);
    await stop(b);
    const c = await start({ DATABASE_URL: url });
    started.push(c);
    await waitFor('the batch to complete', async () => (await batchOf(c, batch.id, '?limit=1')).status === 'completed', 480_000, 250);
    expectEveryImageOnce(await allItems(c, batch.id), 200);
    expect(await count()).toBe(200);
    expect(await generated(c)).toBe(200 - storedByA);
    const { rows } = await sql.query('SELECT max(attempts)::int AS most FROM batch_items WHERE batch_id = $1', [batch.id]);
    expect(rows[0].most).toBeGreaterThanOrEqual(1);
  }, 600_000);
});
