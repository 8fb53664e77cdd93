/**
 * The typed SDK (@aurora-edge/client) against the real Node gateway process, as a server-side
 * user would call it, in open and keys mode (packages/client's own tests run the gateway app in
 * process; this one goes through the whole Node server: listener, worker thread, SQLite file).
 */
import * as path from 'node:path';
import { AuroraClient } from '@aurora-edge/client';
import { decodePng } from '@aurora-edge/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { rejection } from '../packages/client/test/support/rejection.ts';
import { startKeysGateway } from './support/keys.ts';
import { call, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

const PROMPT = 'a paper boat on a pond';

describe('AuroraClient against the real gateway (open mode, 2 generation requests per minute per IP)', () => {
  let gateway: NodeGateway;
  let client: AuroraClient;
  beforeAll(async () => {
    gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), ANON_RPM: '2' });
    client = new AuroraClient({ baseUrl: gateway.url });
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });

  it('generates, then finds the same images in the cache without being charged', async () => {
    const made = await client.generate({ prompt: PROMPT, n: 2, response_format: 'b64_json' });
    expect(made.route).toBe('wasm');
    expect(made.model).toBe('aurora-tiny');
    expect(made.data.map((d) => d.seed)).toEqual([made.seed, made.seed! + 1]);
    for (const image of made.data) expect(decodePng(Buffer.from(image.b64_json!, 'base64')).width).toBe(64);
    expect(made.rateLimit?.remaining).toBe(1);

    const again = await client.generate({ prompt: PROMPT, n: 2, seed: made.seed, response_format: 'b64_json' });
    expect(again.route).toBe('cache');
    expect(again.data.map((d) => d.b64_json)).toEqual(made.data.map((d) => d.b64_json));

    const found = await client.lookup({ prompt: PROMPT, seed: made.seed! });
    expect(found?.id).toBe(made.data[0].id);
    expect(found?.b64_json).toBeUndefined();
    const inline = await client.lookup({ prompt: PROMPT, seed: made.seed! + 1, size: '64x64', response_format: 'b64_json' });
    expect(inline?.b64_json).toBe(made.data[1].b64_json);
    const wrongSize = await rejection(client.lookup({ prompt: PROMPT, seed: made.seed!, size: '32x32' }));
    expect([wrongSize.status, wrongSize.field]).toEqual([400, 'size']);
    const png = await call(found!.url!);
    expect(png.status).toBe(200);
    expect(await client.lookup({ prompt: PROMPT, seed: made.seed! + 2 })).toBeNull();
    expect((await client.models()).map((m) => m.id)).toEqual(['aurora-tiny']);
    expect(client.imageUrl(made.data[0].id!)).toBe(`${gateway.url}/v1/images/${made.data[0].id}.png`);
  });

  it('surfaces the gateway errors as AuroraApiError: field, Retry-After, RateLimit', async () => {
    const bad = await rejection(client.generate({ prompt: Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ') }));
    expect([bad.status, bad.code, bad.field]).toEqual([400, 'invalid_request', 'prompt']);
    const wrongSize = await rejection(client.generate({ prompt: PROMPT, size: '1024x1024' }));
    expect([wrongSize.status, wrongSize.field]).toEqual([400, 'size']);

    // The first test spent one of the two tokens; the second miss spends the other, the third is refused.
    await client.generate({ prompt: `${PROMPT} 2`, seed: 1 });
    const limited = await rejection(client.generate({ prompt: `${PROMPT} 3`, seed: 1 }));
    expect([limited.status, limited.code]).toEqual([429, 'rate_limited']);
    expect(limited.retryAfter).toBeGreaterThan(0);
    expect(limited.rateLimit?.remaining).toBe(0);
  });
});

describe('AuroraClient against the real gateway (AUTH_MODE=keys)', () => {
  let gateway: NodeGateway;
  let key: string;
  beforeAll(async () => {
    ({ gateway, key } = await startKeysGateway('client'));
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });

  it('sends its apiKey; without one the gateway asks for it', async () => {
    const made = await new AuroraClient({ baseUrl: gateway.url, apiKey: key }).generate({ prompt: PROMPT, seed: 9 });
    expect(made.data).toHaveLength(1);
    const anonymous = await rejection(new AuroraClient({ baseUrl: gateway.url }).generate({ prompt: PROMPT, seed: 9 }));
    expect([anonymous.status, anonymous.code]).toEqual([401, 'api_key_required']);
  });
});
