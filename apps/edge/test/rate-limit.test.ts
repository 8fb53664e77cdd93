import { describe, expect, it } from 'vitest';
import { bucketAddress, clientAddress } from '../src/auth/ip.ts';
import { normaliseOrigin } from '../src/auth/keys.ts';
import { RateLimiter } from '../src/auth/rate-limit.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node/paths.ts';

describe('RateLimiter (token bucket, one upsert per take)', () => {
  it('spends rpm tokens, refuses with the wait, and refills at rpm per minute', async () => {
    const { db, close } = createDb(':memory:', MIGRATIONS_DIR);
    let now = 1_000_000;
    const limiter = new RateLimiter(db, () => now);
    const limit = { bucket: 'key:a', rpm: 3, policy: 'key' };
    const taken = [await limiter.take(limit), await limiter.take(limit), await limiter.take(limit)];
    expect(taken.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    expect(taken[2].resetS).toBe(60); // empty: a full minute to refill all three
    const refused = await limiter.take(limit);
    // Refused: retry once one token is back (20 s); resetS keeps its meaning, until full (60 s).
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterS: 20, resetS: 60 });
    now += 19_000;
    expect(await limiter.take(limit)).toMatchObject({ allowed: false, retryAfterS: 1, resetS: 41 });
    now += 1_000; // 20 s: one token back
    expect(await limiter.take(limit)).toMatchObject({ allowed: true, remaining: 0 });
    now += 10 * 60_000; // never more than rpm
    expect((await limiter.take(limit)).remaining).toBe(2);
    // Another bucket is independent; a refused take wrote nothing.
    expect((await limiter.take({ bucket: 'key:b', rpm: 1, policy: 'key' })).allowed).toBe(true);
    close();
  });

  it('never hands out more than rpm tokens to concurrent takes', async () => {
    const { db, close } = createDb(':memory:', MIGRATIONS_DIR);
    const limiter = new RateLimiter(db, () => 5_000);
    const all = await Promise.all(Array.from({ length: 20 }, () => limiter.take({ bucket: 'ip:x', rpm: 5, policy: 'ip' })));
    expect(all.filter((d) => d.allowed)).toHaveLength(5);
    close();
  });

  it('prunes buckets idle for a minute (they are full again)', async () => {
    const { db, close } = createDb(':memory:', MIGRATIONS_DIR);
    let now = 0;
    const limiter = new RateLimiter(db, () => now);
    await limiter.take({ bucket: 'anon:1', rpm: 1, policy: 'anonymous' });
    now = 10 * 60_000 + 1;
    const work: Promise<unknown>[] = [];
    limiter.prune((w) => work.push(w));
    await Promise.all(work);
    expect((await limiter.take({ bucket: 'anon:1', rpm: 1, policy: 'anonymous' })).allowed).toBe(true);
    limiter.prune((w) => work.push(w)); // at most every 10 minutes
    expect(work).toHaveLength(1);
    close();
  });
});

describe('client addresses and origins', () => {
  it('buckets IPv4 as is, IPv4-mapped IPv6 unwrapped, IPv6 by /64', () => {
    expect(bucketAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(bucketAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(bucketAddress('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(bucketAddress('2001:0db8:0000:0001:0000:0000:0000:0009')).toBe('2001:db8:0:1::/64');
    expect(bucketAddress('::1')).toBe('0:0:0:0::/64');
  });

  it('reads X-Forwarded-For only with TRUST_PROXY, counting trusted hops from the right', () => {
    expect(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 0)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 1)).toBe('2.2.2.2');
    expect(clientAddress('10.0.0.1', '1.1.1.1, 2.2.2.2', 2)).toBe('1.1.1.1');
    expect(clientAddress('10.0.0.1', '2.2.2.2', 3)).toBe('2.2.2.2');
    expect(clientAddress(undefined, undefined, 1)).toBe('unknown');
  });

  it('normalises origins and refuses paths and other schemes', () => {
    expect(normaliseOrigin('HTTPS://Shop.Example/')).toBe('https://shop.example');
    expect(normaliseOrigin('http://localhost:5173')).toBe('http://localhost:5173');
    expect(normaliseOrigin('https://a.example:443')).toBe('https://a.example');
    expect(normaliseOrigin('*')).toBe('*');
    for (const bad of ['https://a.example/path', 'ftp://a.example', 'a.example', 'https://u:p@a.example', 'https://a.example?x=1']) {
      expect(() => normaliseOrigin(bad), bad).toThrow(RangeError);
    }
  });
});
