/**
 * Issue 13 item 3: the generator reads truncation_psi as a float32, so requests whose psi differ
 * only below float32 precision make the same image and must share one cache entry (the real Node
 * gateway: SQLite file, onnxruntime-web in-process).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { call, postJson, readRows, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
let dbPath: string;

beforeAll(async () => {
  dbPath = path.join(tempDir(), 'cache.sqlite');
  gateway = await startGateway({ DATABASE_PATH: dbPath });
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
});

interface Made {
  truncation_psi: number;
  data: { id: string; route: string; cached: boolean }[];
}

describe('truncation_psi is keyed as the float32 the model consumes', () => {
  it('0.3 and 0.30000000000000004 are one entry; so are 5e-324 and 0', async () => {
    const made = async (psi: number | string) => {
      const body = typeof psi === 'string' ? `{"prompt":"psi keys","seed":7,"truncation_psi":${psi}}` : { prompt: 'psi keys', seed: 7, truncation_psi: psi };
      const a = await postJson(gateway.url, body);
      expect(a.status, a.text).toBe(200);
      return a.json as Made;
    };
    const first = await made(0.3);
    expect(first.data[0]).toMatchObject({ route: 'wasm', cached: false });
    const near = await made('0.30000000000000004');
    expect(near.data[0]).toMatchObject({ id: first.data[0].id, route: 'cache', cached: true });
    expect(near.truncation_psi).toBe(0.3);
    const zero = await made(0);
    const tiny = await made('5e-324');
    expect(tiny.data[0]).toMatchObject({ id: zero.data[0].id, route: 'cache', cached: true });
    expect(tiny.truncation_psi).toBe(0);
    // A lookup finds the same entry, whichever spelling it uses.
    const lookup = await call(`${gateway.url}/v1/cache?prompt=psi%20keys&seed=7&psi=0.30000000000000004`);
    expect([lookup.status, (lookup.json as { id: string }).id]).toEqual([200, first.data[0].id]);
    expect(
      readRows(dbPath)
        .map((r) => r.key)
        .sort(),
    ).toEqual([first.data[0].id, zero.data[0].id].sort());
  });
});
