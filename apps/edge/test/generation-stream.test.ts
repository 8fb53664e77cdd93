/**
 * `stream: true` on POST /v1/images/generations, in process: the real app (fake in-process
 * generator, see support/deps.ts) read by OpenAI's own SDK (`openai`, its fetch pointed at the
 * app) and as raw SSE text. The e2e twin against a real gateway and model: test/openai-stream.test.ts.
 */
import { decodePng, encodePng, type GeneratedImage, type GenerateRequest } from '@aurora-edge/model';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPLETED_EVENT, PARTIAL_EVENT, STREAM_TIMING, upscalePartial } from '../src/api/generation-stream.ts';
import type { ImageWithPartials, PartialImage } from '../src/generate/wasm.ts';
import { type testApp, useTestApp } from './support/deps.ts';

const setup = useTestApp();
type T = ReturnType<typeof testApp>;

const SIZE = '64x64' as unknown as '256x256';
const DEFAULT_KEEP_ALIVE = STREAM_TIMING.keepAliveMs;
afterEach(() => {
  STREAM_TIMING.keepAliveMs = DEFAULT_KEEP_ALIVE;
});

function sdk(t: T): OpenAI {
  return new OpenAI({
    apiKey: 'not-needed-in-open-mode',
    baseURL: 'http://edge.test/v1',
    maxRetries: 0,
    fetch: async (input, init) => t.request(new URL(String(input instanceof Request ? input.url : input)).pathname, init),
  });
}

type Event = OpenAI.ImageGenStreamEvent & { seed: number; id?: string; cached?: boolean; route?: string; partial_size?: string };

async function collect(stream: AsyncIterable<OpenAI.ImageGenStreamEvent>): Promise<Event[]> {
  const out: Event[] = [];
  for await (const event of stream) out.push(event as Event);
  return out;
}

function post(t: T, body: object, headers: Record<string, string> = {}) {
  return t.request('/v1/images/generations', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Parses SSE text strictly: every block is `event: <name>\ndata: <one JSON line>` or a comment, each ended by a blank line. */
function parseSse(text: string): { comments: number; events: { event: string; data: Record<string, unknown> }[] } {
  expect(text.endsWith('\n\n')).toBe(true);
  const blocks = text.slice(0, -2).split('\n\n');
  let comments = 0;
  const events: { event: string; data: Record<string, unknown> }[] = [];
  for (const block of blocks) {
    if (block.startsWith(':')) {
      expect(block).toBe(': keep-alive');
      comments++;
      continue;
    }
    const lines = block.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^event: [a-z_.]+$/);
    expect(lines[1]).toMatch(/^data: \{.*\}$/);
    events.push({ event: lines[0].slice('event: '.length), data: JSON.parse(lines[1].slice('data: '.length)) });
  }
  return { comments, events };
}

/** A solid-colour partial of the given size: its pixel value says which (seed, size) it is. */
function partial(seed: number, size: number): Required<PartialImage> {
  const pixels = new Uint8Array(size * size * 3).fill((seed * 10 + size) & 255);
  for (let i = 0; i < size; i++) pixels[i * 3] = i; // a gradient on row 0's red channel: upscaling must repeat each pixel
  return { width: size, height: size, pixels, png: encodePng(pixels, size, size, 3) };
}

/** Makes the fake in-process pipeline return partials (8, 16, 32) when asked for them, and records the options it got. */
async function withPartials(t: T): Promise<unknown[]> {
  const pipeline = (await t.deps.models.default.wasm.warm()) as { generate: (r: GenerateRequest[], o?: unknown) => Promise<GeneratedImage[]> };
  const plain = pipeline.generate.bind(pipeline);
  const options: unknown[] = [];
  pipeline.generate = async (requests, o) => {
    options.push(o);
    const images = await plain(requests);
    const asked = (o as { partials?: boolean } | undefined)?.partials === true;
    return images.map((img): ImageWithPartials => (asked ? { ...img, partials: [8, 16, 32].map((s) => partial(img.seed, s)) } : img));
  };
  return options;
}

describe('stream: true through the openai SDK (in process)', () => {
  it('completed events carry the same PNG bytes as the non-streamed answer, in seed order, with every field the SDK types require', async () => {
    const t = setup();
    const events = await collect(
      await sdk(t).images.generate({ prompt: 'a red fox', n: 2, seed: 40, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming),
    );
    expect(events.map((e) => e.type)).toEqual([COMPLETED_EVENT, COMPLETED_EVENT]);
    expect(events.map((e) => e.seed)).toEqual([40, 41]);
    for (const e of events) {
      const done = e as OpenAI.ImageGenCompletedEvent & Event;
      expect(done).toMatchObject({ size: '64x64', output_format: 'png', quality: 'auto', background: 'opaque', cached: false, route: 'wasm' });
      expect(Number.isInteger(done.created_at)).toBe(true);
      expect(done.usage.input_tokens).toBeGreaterThan(2); // start, words, end
      expect(done.usage.total_tokens).toBe(done.usage.input_tokens);
    }
    const plain = await (await post(t, { prompt: 'a red fox', n: 2, seed: 40, response_format: 'b64_json' })).json();
    expect(plain.data.map((d: { cached: boolean }) => d.cached)).toEqual([true, true]);
    expect(events.map((e) => e.b64_json)).toEqual(plain.data.map((d: { b64_json: string }) => d.b64_json));
    expect(events.map((e) => e.id)).toEqual(plain.data.map((d: { id: string }) => d.id));
  });

  it('a cache hit streams at once (route cache, not generated again); response_format url is ignored (b64_json always)', async () => {
    const t = setup();
    await post(t, { prompt: 'a blue owl', seed: 3 });
    expect(t.gen.calls).toHaveLength(1);
    const res = await post(t, { prompt: 'a blue owl', seed: 3, stream: true, response_format: 'url' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    const { events, comments } = parseSse(await res.text());
    expect(comments).toBe(0);
    expect(events.map((e) => e.event)).toEqual([COMPLETED_EVENT]);
    expect(events[0].data).toMatchObject({ type: COMPLETED_EVENT, cached: true, route: 'cache', seed: 3 });
    expect(decodePng(Buffer.from(events[0].data.b64_json as string, 'base64')).width).toBe(64);
    expect(events[0].data.url).toBeUndefined();
    expect(t.gen.calls).toHaveLength(1);
  });

  it('partial_images: k partial events per in-process image before its completed event, the last k resolutions upscaled to the model size', async () => {
    const t = setup();
    const options = await withPartials(t);
    const events = await collect(
      await sdk(t).images.generate({
        prompt: 'a green frog',
        n: 2,
        seed: 10,
        size: SIZE,
        stream: true,
        partial_images: 2,
      } as OpenAI.ImageGenerateParamsStreaming),
    );
    expect(events.map((e) => [e.type, e.seed, e.type === PARTIAL_EVENT ? e.partial_image_index : null])).toEqual([
      [PARTIAL_EVENT, 10, 0],
      [PARTIAL_EVENT, 10, 1],
      [PARTIAL_EVENT, 11, 0],
      [PARTIAL_EVENT, 11, 1],
      [COMPLETED_EVENT, 10, null],
      [COMPLETED_EVENT, 11, null],
    ]);
    expect(events.slice(0, 2).map((e) => e.partial_size)).toEqual(['16x16', '32x32']);
    for (const e of events.slice(0, 4)) {
      expect(e).toMatchObject({ size: '64x64', output_format: 'png' });
      const png = decodePng(Buffer.from(e.b64_json, 'base64'));
      expect([png.width, png.height]).toEqual([64, 64]);
      const native = Number(e.partial_size!.split('x')[0]);
      const scale = 64 / native;
      // Nearest neighbour: row 0's red channel is the source gradient with each value repeated `scale` times.
      const red = Array.from({ length: 64 }, (_, x) => png.pixels[x * 3]);
      expect(red).toEqual(Array.from({ length: 64 }, (_, x) => Math.floor(x / scale)));
      expect(png.pixels[64 * 3 * 63 + 1]).toBe((e.seed * 10 + native) & 255);
    }
    // The pipeline was asked for partials because a stream watched these images, and only then.
    expect(options).toEqual([{ partials: true }, { partials: true }]);
    await post(t, { prompt: 'a green frog', seed: 30 });
    expect(options.at(-1)).toBeUndefined();
    // A cache hit has no partials: fewer than asked, as OpenAI allows.
    const hit = await collect(
      await sdk(t).images.generate({ prompt: 'a green frog', seed: 10, size: SIZE, stream: true, partial_images: 3 } as OpenAI.ImageGenerateParamsStreaming),
    );
    expect(hit.map((e) => [e.type, e.cached])).toEqual([[COMPLETED_EVENT, true]]);
  });

  it('partial_images 0 (the default), or a pipeline without partials, streams completed events only', async () => {
    const t = setup();
    const options = await withPartials(t);
    const none = parseSse(await (await post(t, { prompt: 'a grey cat', seed: 1, stream: true })).text());
    expect(none.events.map((e) => e.event)).toEqual([COMPLETED_EVENT]);
    expect(options).toEqual([undefined]);
  });

  it('validation errors before the stream are JSON errors naming the field, through the SDK too', async () => {
    const t = setup();
    const bad = async (body: object, field: string, headers: Record<string, string> = {}) => {
      const res = await post(t, { prompt: 'a fox', ...body }, headers);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const json = await res.json();
      expect(json.error.field).toBe(field);
    };
    await bad({ stream: true, partial_images: 4 }, 'partial_images');
    await bad({ stream: true, partial_images: 1.5 }, 'partial_images');
    await bad({ partial_images: 2 }, 'partial_images');
    await bad({ stream: false, partial_images: 1 }, 'partial_images');
    await bad({ stream: 'yes' }, 'stream');
    await bad({ stream: true, n: 0 }, 'n');
    await bad({ stream: true, model: 'dall-e-3' }, 'model');
    await bad({ stream: true, size: '32x32' }, 'size');
    await bad({ stream: true, seed: 7 }, 'Idempotency-Key', { 'idempotency-key': 'k1' });
    // The same key without stream still works: the refusal claimed nothing.
    expect((await post(t, { prompt: 'a fox', seed: 7 }, { 'idempotency-key': 'k1' })).status).toBe(200);
    expect((await post(t, { prompt: 'a fox', stream: null, partial_images: null })).status).toBe(200);

    const error = await sdk(t)
      .images.generate({ prompt: 'a fox', size: SIZE, stream: true, partial_images: 9 } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('partial_images');
  });

  it('a 429 and a failed generation before the stream started are JSON errors with their status', async () => {
    const t = setup({ ANON_RPM: '1' });
    expect((await post(t, { prompt: 'an elk', seed: 1, stream: true })).status).toBe(200);
    const limited = await sdk(t)
      .images.generate({ prompt: 'an elk', seed: 2, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    // A cache hit is free even with the bucket empty, streamed or not.
    expect((await post(t, { prompt: 'an elk', seed: 1, stream: true })).status).toBe(200);

    const u = setup();
    u.gen.fail = new Error('the generator broke');
    const failed = await post(u, { prompt: 'an elk', seed: 1, stream: true });
    expect(failed.status).toBe(500);
    expect((await failed.json()).error.code).toBe('internal_error');
    const notCached = await post(u, { prompt: 'a yak', seed: 1, stream: true, cache: 'only' });
    expect(notCached.status).toBe(404);
  });

  it('a slow generation commits the stream with keep-alive comments; a failure after that is an error event the SDK throws', async () => {
    const t = setup();
    STREAM_TIMING.keepAliveMs = 40;
    let release!: () => void;
    t.gen.gate = new Promise<void>((r) => {
      release = r;
    });
    t.gen.fail = Object.assign(new Error('the generator broke'), { name: 'Boom' });
    const res = await post(t, { prompt: 'a moth', seed: 5, stream: true });
    // Committed before the generation ended: status and headers are out, the body is still coming.
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-aurora-route')).toBeNull();
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(': keep-alive\n\n');
    await new Promise((r) => setTimeout(r, 100));
    release();
    let text = first;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    const { comments, events } = parseSse(text);
    expect(comments).toBeGreaterThanOrEqual(2);
    expect(events).toHaveLength(1);
    expect(events[0].event).toBe('error');
    expect(events[0].data).toMatchObject({ type: 'error', code: 'internal_error', param: null, error: { code: 'internal_error', type: 'server_error' } });
    expect((events[0].data.error as { request_id: string }).request_id).toBe(res.headers.get('x-request-id'));

    // The same through the SDK: the events iterate until the error event, which it throws.
    t.gen.gate = new Promise<void>((r) => setTimeout(r, 150));
    const stream = await sdk(t).images.generate({ prompt: 'a moth', seed: 6, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming);
    const thrown = await collect(stream).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(OpenAI.APIError);
    expect((thrown as InstanceType<typeof OpenAI.APIError>).code).toBe('internal_error');
    expect((thrown as Error).message).toMatch(/internal error/);
  });

  it("a first partial image commits the stream; a failure of the request's next image is then an error event after it", async () => {
    const t = setup();
    await withPartials(t);
    const pipeline = (await t.deps.models.default.wasm.warm()) as { generate: (r: GenerateRequest[], o?: unknown) => Promise<GeneratedImage[]> };
    const withParts = pipeline.generate.bind(pipeline);
    pipeline.generate = async (requests, o) => {
      if (requests[0].seed === 21) throw new Error('the second image broke');
      return withParts(requests, o);
    };
    const res = await post(t, { prompt: 'a heron', seed: 20, n: 2, stream: true, partial_images: 1 });
    expect(res.status).toBe(200);
    const { events } = parseSse(await res.text());
    expect(events.map((e) => [e.event, e.data.seed ?? null, e.data.partial_size ?? null])).toEqual([
      [PARTIAL_EVENT, 20, '32x32'],
      ['error', null, null],
    ]);
    expect(events[1].data.error).toMatchObject({ code: 'internal_error', type: 'server_error' });
    // Nothing was stored: the batch failed as a whole.
    const lookup = await t.request('/v1/cache?prompt=a%20heron&seed=20');
    expect(lookup.status).toBe(404);
    expect((await lookup.json()).error.code).toBe('not_cached');
  });

  it('the OpenAPI document declares the fields and the text/event-stream answer', async () => {
    const t = setup();
    const doc = await (await t.request('/openapi.json')).json();
    const op = doc.paths['/v1/images/generations'].post;
    expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    const body = doc.components.schemas.GenerateRequest.properties;
    expect(body.stream.type).toContain('boolean');
    expect([body.partial_images.minimum, body.partial_images.maximum]).toEqual([0, 3]);
  });

  it('a slow generation that succeeds after the commit still ends with its completed events', async () => {
    const t = setup();
    STREAM_TIMING.keepAliveMs = 30;
    t.gen.gate = new Promise<void>((r) => setTimeout(r, 120));
    const res = await post(t, { prompt: 'a crab', seed: 9, n: 2, stream: true });
    const { comments, events } = parseSse(await res.text());
    expect(comments).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => [e.event, e.data.seed])).toEqual([
      [COMPLETED_EVENT, 9],
      [COMPLETED_EVENT, 10],
    ]);
  });
});

describe('upscalePartial', () => {
  it('repeats each pixel (nearest neighbour), from the PNG alone or from the pixels; the model size passes as is', () => {
    const pixels = Uint8Array.from([1, 2, 3, 4]);
    const png = encodePng(pixels, 2, 2, 1);
    const expected = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
    const fromPng = decodePng(upscalePartial({ width: 2, height: 2, png }, 4, 4));
    expect([fromPng.width, fromPng.height, fromPng.channels]).toEqual([4, 4, 1]);
    expect(Array.from(fromPng.pixels)).toEqual(expected);
    expect(Array.from(decodePng(upscalePartial({ width: 2, height: 2, png, pixels }, 4, 4)).pixels)).toEqual(expected);
    expect(upscalePartial({ width: 4, height: 4, png }, 4, 4)).toBe(png);
  });
});
