/**
 * Issue 13 item 10: only work is charged. Identical concurrent misses are coalesced into one
 * generation (single flight); the request that starts it pays one token, those that join it pay
 * nothing and are never refused for want of one (the real Node gateway with its local GPU runner
 * child process, so the batch runs while the others arrive).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { postJson, readRows, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
let dbPath: string;

beforeAll(async () => {
  dbPath = path.join(tempDir(), 'cache.sqlite');
  gateway = await startGateway({ DATABASE_PATH: dbPath, ANON_RPM: '2', LOCAL_RUNNER: '1' });
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

describe('single flight and rate limits', () => {
  it('12 identical concurrent n=4 misses (runner): all served, one generation, one token spent', async () => {
    const body = { prompt: 'one token for all of us', seed: 11, n: 4 };
    const answers = await Promise.all(Array.from({ length: 12 }, () => postJson(gateway.url, body)));
    expect(answers.map((a) => a.status)).toEqual(new Array(12).fill(200));
    const ids = answers.map((a) => (a.json as { data: { id: string }[] }).data.map((d) => d.id).join());
    expect(new Set(ids).size).toBe(1);
    // Exactly one request started the work and paid: it alone carries the RateLimit headers.
    const charged = answers.filter((a) => a.headers.get('ratelimit') !== null);
    expect(charged.map((a) => a.headers.get('ratelimit'))).toEqual(['"anonymous";r=1;t=30']);
    expect(answers.map((a) => a.headers.get('x-aurora-route')).filter((r) => r === 'runner').length).toBeGreaterThan(1);
    expect(readRows(dbPath)).toHaveLength(4);
    // The bucket (2 tokens) still holds one: the next new work is admitted, the one after refused.
    expect((await postJson(gateway.url, { prompt: 'new work', seed: 1 })).headers.get('ratelimit')).toMatch(/^"anonymous";r=0;t=\d+$/);
    expect((await postJson(gateway.url, { prompt: 'more new work', seed: 1 })).status).toBe(429);
  });
});
