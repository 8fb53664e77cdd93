import { describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, signRequest, TIMESTAMP_HEADER, verifyRequest } from '../src/signing.ts';

const body = JSON.stringify({ items: [{ prompt: 'a red apple', seed: 1, psi: 0.7, bundle: 'aurora-tiny' }] });

async function verify(h: Record<string, string>, opts: { secret?: string; path?: string; body?: string; now?: number } = {}) {
  return verifyRequest(opts.secret ?? 's3cret', 'POST', opts.path ?? '/v1/generate', opts.body ?? body, { timestamp: h[TIMESTAMP_HEADER], signature: h[SIGNATURE_HEADER] }, opts.now ?? Number(h[TIMESTAMP_HEADER]));
}

describe('request signing', () => {
  it('accepts a request signed with the shared secret', async () => {
    expect(await verify(await signRequest('s3cret', 'POST', '/v1/generate', body))).toEqual({ ok: true });
  });

  it('rejects a wrong secret, a changed body or path, and stale or missing headers', async () => {
    const h = await signRequest('s3cret', 'POST', '/v1/generate', body, 1_000_000);
    expect((await verify(h, { secret: 'other' })).ok).toBe(false);
    expect((await verify(h, { body: body.replace('1,', '2,') })).ok).toBe(false);
    expect((await verify(h, { path: '/v1/other' })).ok).toBe(false);
    expect(await verify(h, { now: 1_000_000 + 61_000 })).toEqual({ ok: false, reason: 'signature timestamp outside the allowed clock skew' });
    expect((await verify({ ...h, [SIGNATURE_HEADER]: 'zz' })).ok).toBe(false);
    expect((await verify({})).ok).toBe(false);
  });
});
