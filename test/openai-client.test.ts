/**
 * The gateway through OpenAI's own Node SDK (the `openai` package), the client most users of an
 * "OpenAI-images-like" API will try first: its request shapes, its auth header, and its error
 * classes reading our error bodies.
 */
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { startKeysGateway } from './support/keys.ts';
import { call, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

/** The SDK's size type lists DALL-E sizes only; the gateway takes the model's own. */
const SIZE = '64x64' as unknown as '256x256';
const PROMPT = 'a lighthouse on a cliff at dusk';

function client(gateway: NodeGateway, apiKey = 'not-needed-in-open-mode'): OpenAI {
  // No retries: a test must see the first answer, not the SDK's third try.
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 60_000 });
}

describe('OpenAI SDK against the gateway (open mode)', () => {
  let gateway: NodeGateway;
  beforeAll(async () => {
    gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite') });
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });

  it('images.generate with b64_json returns decodable PNGs of the model size, the same bytes twice', async () => {
    const openai = client(gateway);
    const first: OpenAI.ImagesResponse = await openai.images.generate({ prompt: PROMPT, n: 2, size: SIZE, response_format: 'b64_json' });
    expect(first.data).toHaveLength(2);
    const pngs = first.data!.map((d) => Buffer.from(d.b64_json!, 'base64'));
    for (const png of pngs) {
      const image = decodePng(png);
      expect([image.width, image.height]).toEqual([64, 64]);
    }
    expect(pngs[0].equals(pngs[1])).toBe(false); // two seeds, two images
    // The SDK sends no seed: the gateway picked one and says which, so the call can be repeated exactly.
    const seed = (first as unknown as { seed: number }).seed;
    expect(Number.isInteger(seed)).toBe(true);
    // `seed` is ours, not in the SDK's types; the SDK passes unknown body fields through.
    const again: OpenAI.ImagesResponse = await openai.images.generate({
      prompt: PROMPT,
      n: 2,
      size: SIZE,
      response_format: 'b64_json',
      seed,
    } as OpenAI.ImageGenerateParamsNonStreaming);
    expect(again.data!.map((d) => Buffer.from(d.b64_json!, 'base64'))).toEqual(pngs);
  });

  it('images.generate with url (the default) links to the PNG', async () => {
    const res = await client(gateway).images.generate({ prompt: PROMPT, size: SIZE });
    expect(res.data).toHaveLength(1);
    const url = res.data![0].url!;
    expect(url.startsWith(gateway.url)).toBe(true);
    const png = await call(url);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
  });

  it('bad input reaches the SDK as a BadRequestError carrying our code and message', async () => {
    const openai = client(gateway);
    const tooLong = Array.from({ length: 90 }, (_, i) => `word${i}`).join(' ');
    const error = await openai.images.generate({ prompt: tooLong, size: SIZE }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('invalid_request');
    expect(bad.param).toBe('prompt');
    expect(bad.type).toBe('invalid_request_error');
    expect(bad.message).toMatch(/prompt/);

    const wrongModel = await openai.images.generate({ prompt: PROMPT, model: 'dall-e-3', size: SIZE }).catch((e: unknown) => e);
    expect(wrongModel).toBeInstanceOf(OpenAI.BadRequestError);
    expect((wrongModel as Error).message).toMatch(/unknown model "dall-e-3"/);
  });

  it('models.list and models.retrieve: one model as the list has it; an unknown id is a NotFoundError', async () => {
    const openai = client(gateway);
    const listed = (await openai.models.list()).data;
    const model = await openai.models.retrieve('aurora-tiny');
    expect(model).toEqual(listed.find((m) => m.id === 'aurora-tiny'));
    const missing = await openai.models.retrieve('dall-e-3').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });
});

describe('OpenAI SDK against the gateway (AUTH_MODE=keys)', () => {
  let gateway: NodeGateway;
  let key: string;
  beforeAll(async () => {
    ({ gateway, key } = await startKeysGateway('sdk'));
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });

  it('the SDK apiKey is the gateway API key; a wrong one is an AuthenticationError', async () => {
    const ok = await client(gateway, key).images.generate({ prompt: PROMPT, size: SIZE, response_format: 'b64_json' });
    expect(decodePng(Buffer.from(ok.data![0].b64_json!, 'base64')).width).toBe(64);
    const denied = await client(gateway, `ak_${'x'.repeat(32)}`)
      .images.generate({ prompt: PROMPT, size: SIZE })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((denied as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });
});
