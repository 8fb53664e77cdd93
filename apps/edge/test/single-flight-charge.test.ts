/**
 * Issue 13 item 10, the refusal path: a request that joined a batch whose starter was then refused
 * (429) was not itself refused; it goes again, starts the work and pays for it. The real app on
 * in-memory SQLite, two API keys with their own buckets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from './support/deps.ts';

let t: ReturnType<typeof testApp> | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('single flight: the starter is refused, its joiner is served', () => {
  it('the joiner generates and pays itself; the refused starter generated nothing', async () => {
    t = testApp({ AUTH_MODE: 'keys' });
    const app = t;
    const spent = await app.deps.access.keys.create({ name: 'spent', origins: ['*'], rpm: 1 });
    const paying = await app.deps.access.keys.create({ name: 'paying', origins: ['*'], rpm: 5 });
    const post = (secret: string) =>
      app.request('/v1/images/generations', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ prompt: 'who pays', seed: 9, n: 2 }),
      });
    // Empty the first key's bucket on other work.
    expect(
      (
        await app.request('/v1/images/generations', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${spent.secret}` },
          body: JSON.stringify({ prompt: 'other work', seed: 1 }),
        })
      ).status,
    ).toBe(200);
    const calls = app.gen.calls.length;
    // Sent together: the first starts the batch (and is refused), the second joins it.
    const [starter, joiner] = await Promise.all([post(spent.secret), post(paying.secret)]);
    expect(starter.status).toBe(429);
    expect(joiner.status).toBe(200);
    expect(joiner.headers.get('ratelimit')).toBe('"key";r=4;t=12');
    expect(
      app.gen.calls
        .slice(calls)
        .flat()
        .map((r) => r.seed),
    ).toEqual([9, 10]);
  });
});
