import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import type { SharedFlight } from '../src/generate/shared-flight.ts';
import { FlightBoard, type FlightLimits } from '../src/worker/flight-board.ts';
import { DurableFlight, type FlightNamespace, type FlightStub } from '../src/worker/flights.ts';
import { testApp } from './support/deps.ts';
import { standInImage } from './support/stand-in-image.ts';

const LIMITS: FlightLimits = { maxKeys: 8, maxWaitersPerKey: 3, leaseMs: 1000, ticketTtlMs: 500 };

/** GenerationFlights objects as the Worker sees them: one board per name, answers copied as RPC copies them. */
function boards(limits = LIMITS, now = () => Date.now()) {
  const byName = new Map<string, FlightBoard>();
  const rpc = async <T>(value: T | Promise<T>): Promise<T> => structuredClone(await value);
  const namespace: FlightNamespace = {
    idFromName: (name) => name,
    get(id): FlightStub {
      const name = id as string;
      if (!byName.has(name)) byName.set(name, new FlightBoard(limits, now));
      const board = byName.get(name)!;
      return {
        claim: (keys) => rpc(board.claim(keys)),
        wait: (ticket) => rpc(board.wait(ticket)),
        report: async (owner, outcomes) => board.report(owner, structuredClone(outcomes)),
      };
    },
  };
  return { namespace, byName };
}

describe('FlightBoard (one GenerationFlights object)', () => {
  it('grants a key once, answers its waiters with the outcome and releases it', async () => {
    const board = new FlightBoard(LIMITS);
    const a = board.claim(['k1', 'k2']);
    const b = board.claim(['k2', 'k3']);
    expect(a).toMatchObject({ mine: ['k1', 'k2'], ticket: null });
    expect(b).toMatchObject({ mine: ['k3'] });
    const waited = board.wait((b as { ticket: string }).ticket);
    const png = new Uint8Array([1, 2, 3]);
    board.report((a as { owner: string }).owner, { k1: { ok: true, png, etag: 'e1', route: 'wasm' }, k2: { ok: true, png, etag: 'e2', route: 'wasm' } });
    expect(await waited).toEqual({ k2: { ok: true, png, etag: 'e2', route: 'wasm' } });
    expect(board.stats()).toMatchObject({ granted: 2, grantedKeys: 3, joinedKeys: 1, inFlight: 1, tickets: 0 });
    // k2 is released: the next caller claims it again (it will find the cache first in practice).
    expect(board.claim(['k2'])).toMatchObject({ mine: ['k2'] });
  });

  it('answers every waiter with the same error, and a lapsed lease with retry', async () => {
    let now = 0;
    const board = new FlightBoard(LIMITS, () => now);
    const owner = board.claim(['k']) as { owner: string };
    const tickets = [board.claim(['k']), board.claim(['k'])].map((r) => (r as { ticket: string }).ticket);
    const error = { status: 500, code: 'internal_error', message: 'boom' };
    board.report(owner.owner, { k: { ok: false, error } });
    expect(await Promise.all(tickets.map((t) => board.wait(t)))).toEqual([{ k: { ok: false, error } }, { k: { ok: false, error } }]);

    const lost = board.claim(['j']) as { owner: string };
    const waiter = board.wait((board.claim(['j']) as { ticket: string }).ticket);
    now = 1000;
    board.sweep();
    expect(await waiter).toEqual({ j: { retry: true } });
    // The late report of the lapsed claimant changes nothing for the next holder.
    const next = board.claim(['j']) as { owner: string; mine: string[] };
    expect(next.mine).toEqual(['j']);
    board.report(lost.owner, { j: { ok: false, error } });
    expect(board.stats().inFlight).toBe(1);
  });

  it('bounds keys per object and waiters per key, claiming nothing when refused', () => {
    const board = new FlightBoard(LIMITS);
    board.claim(['w']);
    for (let i = 0; i < 3; i++) expect(board.claim(['w'])).toHaveProperty('ticket');
    expect(board.claim(['w'])).toEqual({ refused: '3 requests already wait for this image' });
    expect(board.claim(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])).toHaveProperty('refused');
    expect(board.stats()).toMatchObject({ inFlight: 1, refused: 2 });
  });
});

describe('the gateway with single flight across isolates (DurableFlight over in-process boards)', () => {
  const apps: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  /** The real app, its in-process layer off, so every request meets the others at the objects. */
  function sharedApp(shared: SharedFlight) {
    const t = testApp({ ANON_RPM: '0' });
    apps.push(t);
    const app = createApp({ ...t.deps, sharedFlight: shared, coalesceInProcess: false, log: () => undefined });
    const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
    const post = async (body: unknown) =>
      await app.fetch(
        new Request('http://edge.test/v1/images/generations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        {},
        ctx,
      );
    return { ...t, post };
  }

  it('identical concurrent requests generate once; every waiter gets the same error; the next request retries', async () => {
    const { namespace, byName } = boards({ ...LIMITS, maxWaitersPerKey: 16 });
    const t = sharedApp(new DurableFlight(namespace, { shards: 4, retryAfterS: 5 }));
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => (release = r));
    const body = { prompt: 'shared across isolates', seed: 11, n: 2, response_format: 'b64_json' };
    const pending = Array.from({ length: 6 }, () => t.post(body));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const answers = await Promise.all(
      (await Promise.all(pending)).map(async (res) => {
        const json = await res.json();
        return [res.status, json.data?.map((d: { b64_json: string }) => d.b64_json) ?? json];
      }),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0][0]).toBe(200);
    // Two images, one batch (the WasmGenerator runs one image per call): one generation of each key.
    expect(t.gen.calls.length).toBe(2);
    const granted = [...byName.values()].reduce((sum, b) => sum + b.stats().grantedKeys, 0);
    expect(granted).toBe(2);

    // Cache hits never reach an object.
    const claimsBefore = [...byName.values()].map((b) => b.stats().granted + b.stats().joinedKeys);
    expect((await t.post(body)).headers.get('x-aurora-route')).toBe('cache');
    expect([...byName.values()].map((b) => b.stats().granted + b.stats().joinedKeys)).toEqual(claimsBefore);

    t.gen.gate = new Promise<void>((r) => (release = r));
    t.gen.fail = new Error('the generator broke');
    const failing = { prompt: 'fails for everyone', seed: 3 };
    const refused = Array.from({ length: 5 }, () => t.post(failing));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const errors = await Promise.all((await Promise.all(refused)).map(async (res) => [res.status, (await res.json()).error.message]));
    expect(errors[0]).toEqual([500, 'internal error: the generator broke']);
    expect(new Set(errors.map((e) => JSON.stringify(e))).size).toBe(1);
    const callsAfterFailure = t.gen.calls.length;
    expect(callsAfterFailure).toBe(3);

    t.gen.gate = null;
    t.gen.fail = null;
    const retried = await t.post(failing);
    expect([retried.status, retried.headers.get('x-aurora-route')]).toEqual([200, 'wasm']);
    expect(t.gen.calls.length).toBe(callsAfterFailure + 1);
    expect([...byName.values()].every((b) => b.stats().inFlight === 0 && b.stats().tickets === 0)).toBe(true);
  });

  it('answers 503 with Retry-After past a bound, and claims again after a lapsed lease', async () => {
    const tight = boards({ ...LIMITS, maxWaitersPerKey: 1 });
    const t = sharedApp(new DurableFlight(tight.namespace, { shards: 1, retryAfterS: 7 }));
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => (release = r));
    const body = { prompt: 'a crowd', seed: 1 };
    const pending = Array.from({ length: 3 }, () => t.post(body));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const statuses = await Promise.all((await Promise.all(pending)).map(async (res) => [res.status, res.headers.get('retry-after')]));
    expect(statuses.filter(([s]) => s === 200).length).toBe(2);
    expect(statuses.filter(([s]) => s === 503)).toEqual([[503, '7']]);

    // A claimant that never reports (its isolate died): its waiters claim again once the lease lapses.
    let now = 0;
    const lapsing = boards(LIMITS, () => now);
    const board = () => [...lapsing.byName.values()][0];
    const flight = new DurableFlight(lapsing.namespace, { shards: 1, retryAfterS: 5 });
    void flight.share(['dead'], () => new Promise(() => undefined));
    await new Promise((r) => setTimeout(r, 10));
    const png = new Uint8Array([9]);
    const waiter = flight.share(['dead'], async () => [{ png, etag: 'e', route: 'wasm' }]);
    await new Promise((r) => setTimeout(r, 10));
    now = LIMITS.leaseMs;
    board().sweep();
    expect((await waiter).get('dead')).toEqual({ png, etag: 'e', route: 'wasm' });
    expect(board().stats()).toMatchObject({ lapsed: 1, grantedKeys: 2 });
  });

  it('keys another process stored between the lookup and the claim are hits, not generated again', async () => {
    let t!: ReturnType<typeof sharedApp>;
    const meanwhile: Uint8Array[] = [];
    // Another gateway stores the key and releases its claim just before this request claims it.
    const lateArrival: SharedFlight = {
      async share(keys, produce) {
        const row = standInImage(keys[0], 80);
        meanwhile.push(row.png);
        await t.deps.store.save([row]);
        const made = await produce([...keys]);
        return new Map(keys.map((k, i) => [k, made[i]]));
      },
    };
    t = sharedApp(lateArrival);
    const res = await t.post({ prompt: 'stored meanwhile', seed: 21, response_format: 'b64_json' });
    expect(res.status).toBe(200);
    expect(t.gen.calls).toEqual([]);
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    expect(Buffer.from((await res.json()).data[0].b64_json, 'base64').equals(Buffer.from(meanwhile[0]))).toBe(true);
  });

});
