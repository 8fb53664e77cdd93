import { describe, expect, it } from 'vitest';
import { MAX_SKEW_MS, NONCE_HEADER, ReplayGuard, SIGNATURE_HEADER, signRequest, TIMESTAMP_HEADER, verifyRequest } from '../src/signing.ts';

const body = JSON.stringify({ items: [{ prompt: 'a red apple', seed: 1, psi: 0.7, bundle: 'aurora-tiny' }] });

async function verify(h: Record<string, string>, opts: { secret?: string; path?: string; body?: string; now?: number; replay?: ReplayGuard } = {}) {
  const headers = { timestamp: h[TIMESTAMP_HEADER], nonce: h[NONCE_HEADER], signature: h[SIGNATURE_HEADER] };
  return verifyRequest(opts.secret ?? 's3cret', 'POST', opts.path ?? '/v2/models/aurora-tiny/infer', opts.body ?? body, headers, opts.now ?? Number(h[TIMESTAMP_HEADER]), opts.replay);
}

describe('request signing', () => {
  it('accepts a request signed with the shared secret', async () => {
    expect(await verify(await signRequest('s3cret', 'POST', '/v2/models/aurora-tiny/infer', body))).toEqual({ ok: true });
  });

  it('rejects a wrong secret, a changed body or path, and stale or missing headers', async () => {
    const h = await signRequest('s3cret', 'POST', '/v2/models/aurora-tiny/infer', body, 1_000_000);
    expect((await verify(h, { secret: 'other' })).ok).toBe(false);
    expect((await verify(h, { body: body.replace('1,', '2,') })).ok).toBe(false);
    expect((await verify(h, { path: '/v1/other' })).ok).toBe(false);
    expect(await verify(h, { now: 1_000_000 + 61_000 })).toEqual({ ok: false, reason: 'signature timestamp outside the allowed clock skew' });
    expect((await verify({ ...h, [SIGNATURE_HEADER]: 'zz' })).ok).toBe(false);
    expect((await verify({})).ok).toBe(false);
    expect((await verify({ ...h, [NONCE_HEADER]: '0'.repeat(32) })).ok).toBe(false);
  });

  it('accepts a signature once within its window; identical requests signed in the same millisecond differ', async () => {
    const replay = new ReplayGuard();
    const h = await signRequest('s3cret', 'POST', '/v2/models/aurora-tiny/infer', body, 1_000_000);
    const twin = await signRequest('s3cret', 'POST', '/v2/models/aurora-tiny/infer', body, 1_000_000);
    expect(twin[SIGNATURE_HEADER]).not.toBe(h[SIGNATURE_HEADER]);
    expect(await verify(h, { replay })).toEqual({ ok: true });
    expect(await verify(twin, { replay })).toEqual({ ok: true });
    expect(await verify(h, { replay, now: 1_000_000 + 59_000 })).toEqual({ ok: false, reason: 'signature already used (replayed request)' });
    // Hex case is no disguise.
    expect((await verify({ ...h, [SIGNATURE_HEADER]: h[SIGNATURE_HEADER].toUpperCase() }, { replay })).ok).toBe(false);
  });

  it('remembers a bounded number of signatures and never re-admits one it dropped', () => {
    const guard = new ReplayGuard(3);
    const t0 = 5_000_000;
    for (let i = 0; i < 3; i++) expect(guard.admit(`s${i}`, t0 + i, t0 + 10)).toBe(true);
    // Full: the oldest (s0) is dropped, and every timestamp up to its own is refused from now on.
    expect(guard.admit('s3', t0 + 3, t0 + 10)).toBe(true);
    expect(guard.size).toBe(3);
    expect(guard.admit('s0', t0, t0 + 10)).toBe(false);
    expect(guard.admit('other', t0, t0 + 10)).toBe(false);
    expect(guard.admit('s1', t0 + 1, t0 + 10)).toBe(false);
    // Past the window entries are let go, and the clock stepping back does not bring them back.
    expect(guard.admit('late', t0 + MAX_SKEW_MS + 100, t0 + MAX_SKEW_MS + 100)).toBe(true);
    expect(guard.size).toBe(1);
    expect(guard.admit('s3', t0 + 3, t0 + 10)).toBe(false);
    for (let i = 0; i < 10_000; i++) guard.admit(`bulk${i}`, t0 + MAX_SKEW_MS + 200 + i, t0 + MAX_SKEW_MS + 200 + i);
    expect(guard.size).toBeLessThanOrEqual(3);
  });
});
