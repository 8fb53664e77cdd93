import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TTL_MS } from '../src/api/idempotency.ts';
import { idempotencyKeys } from '../src/cache/schema.ts';
import { type testApp, useTestApp } from './support/deps.ts';

const setup = useTestApp();

type T = ReturnType<typeof testApp>;

function gen(t: T, body: object, headers: Record<string, string> = {}, path = '/v1/images/generations') {
  return t.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
const idem = (key: string, more: Record<string, string> = {}) => ({ 'idempotency-key': key, ...more });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(body.error.code).toBe(code);
  expect(body.error.field).toBe('Idempotency-Key');
  expect(body.error.message).toContain('Idempotency-Key');
}

describe('Idempotency-Key on POST /v1/images/generations', () => {
  it('replays the first response byte for byte, without generating or charging again', async () => {
    const t = setup({ ANON_RPM: '1' });
    const body = { prompt: 'a red fox', seed: 7, response_format: 'b64_json' };
    const first = await gen(t, body, idem('abc-1'));
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstBytes = new Uint8Array(await first.arrayBuffer());
    expect(t.gen.calls).toHaveLength(1);

    // The bucket (1 rpm) is empty now: a replay is not charged, so it still answers 200.
    const again = await gen(t, body, idem('abc-1'));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(firstBytes);
    expect(t.gen.calls).toHaveLength(1);

    // Without the header nothing changes: this one must generate and is refused by the empty bucket.
    expect((await gen(t, { ...body, seed: 8 })).status).toBe(429);
  });

  it('the same key with another body is 422; a key outside 1..255 printable ASCII is 400', async () => {
    const t = setup();
    expect((await gen(t, { prompt: 'one', seed: 1 }, idem('k'))).status).toBe(200);
    await expectError(await gen(t, { prompt: 'two', seed: 1 }, idem('k')), 422, 'idempotency_key_reused');
    await expectError(await gen(t, { prompt: 'one', seed: 1 }, idem('x'.repeat(256))), 400, 'invalid_request');
    await expectError(await gen(t, { prompt: 'one', seed: 1 }, idem('caf\u00e9')), 400, 'invalid_request');
    expect(t.gen.calls).toHaveLength(1);
  });

  it('a duplicate while the first is still running is 409; afterwards it replays', async () => {
    const t = setup();
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => {
      release = r;
    });
    const body = { prompt: 'slow', seed: 3 };
    const first = gen(t, body, idem('dup'));
    await expect.poll(() => t.gen.calls.length).toBe(1);
    await expectError(await gen(t, body, idem('dup')), 409, 'idempotency_key_in_use');
    release();
    const firstRes = await first;
    expect(firstRes.status).toBe(200);
    const replay = await gen(t, body, idem('dup'));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(await firstRes.text());
    expect(t.gen.calls).toHaveLength(1);
  });

  it('keys are scoped per API key (keys mode) and per client IP (open mode)', async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const a = await t.deps.access.keys.create({ name: 'a', origins: ['*'], rpm: 30 });
    const b = await t.deps.access.keys.create({ name: 'b', origins: ['*'], rpm: 30 });
    const as = (secret: string) => idem('shared', { authorization: `Bearer ${secret}` });
    expect((await gen(t, { prompt: 'p', seed: 1 }, as(a.secret))).status).toBe(200);
    const other = await gen(t, { prompt: 'q', seed: 2 }, as(b.secret));
    expect(other.status).toBe(200);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(t.gen.calls).toHaveLength(2);
    await t.close();

    const u = setup({ TRUST_PROXY: '1' });
    const from = (ip: string) => idem('shared', { 'x-forwarded-for': ip });
    expect((await gen(u, { prompt: 'p', seed: 1 }, from('198.51.100.1'))).status).toBe(200);
    const second = await gen(u, { prompt: 'q', seed: 2 }, from('198.51.100.2'));
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect((await gen(u, { prompt: 'q', seed: 2 }, from('198.51.100.1'))).status).toBe(422);
  });

  it('a failed first request is not stored: the retry runs again', async () => {
    const t = setup();
    t.gen.fail = new Error('boom');
    const body = { prompt: 'fails once', seed: 5 };
    expect((await gen(t, body, idem('retry'))).status).toBe(500);
    t.gen.fail = null;
    const retry = await gen(t, body, idem('retry'));
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(t.gen.calls).toHaveLength(2);
    // A 4xx (a bad field) releases the key too.
    expect((await gen(t, { prompt: '', seed: 1 }, idem('bad'))).status).toBe(400);
    expect((await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'bad'))).length).toBe(0);
  });

  it('a stored response expires after 24 h: the key runs again, with any body', async () => {
    const t = setup();
    expect((await gen(t, { prompt: 'old', seed: 1 }, idem('day'))).status).toBe(200);
    await t.db
      .update(idempotencyKeys)
      .set({ createdAt: Date.now() - IDEMPOTENCY_TTL_MS - 1000 })
      .where(eq(idempotencyKeys.key, 'day'));
    const fresh = await gen(t, { prompt: 'new', seed: 2 }, idem('day'));
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(t.gen.calls).toHaveLength(2);
    expect((await gen(t, { prompt: 'new', seed: 2 }, idem('day'))).headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('Idempotency-Key on POST /v1/images/interpolations', () => {
  it('is claimed per route: the same key and body replay, the key on another route is 422', async () => {
    const t = setup();
    const body = { from: 'a cat', to: 'a dog', steps: 2, seed: 4 };
    const first = await gen(t, body, idem('interp'), '/v1/images/interpolations');
    expect(first.status).toBe(200);
    const firstText = await first.text();
    expect(t.gen.interpolations).toBe(1);
    const replay = await gen(t, body, idem('interp'), '/v1/images/interpolations');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(firstText);
    expect(t.gen.interpolations).toBe(1);
    // The key names one request: the same key and body on the other route is another request.
    await expectError(await gen(t, body, idem('interp')), 422, 'idempotency_key_reused');
  });
});
