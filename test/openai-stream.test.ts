/**
 * `stream: true` through OpenAI's own Node SDK (the `openai` package) against the real Node
 * gateway (in this process, aurora-tiny in its WASM worker thread): the SDK iterates our events,
 * the PNG bytes are those of the non-streamed generation, a cache hit streams, errors before the
 * stream are the SDK's error classes, and the raw text is well-formed SSE. The Worker's twin:
 * test/openai-stream-workerd.test.ts; the error-after-commit cases: apps/edge/test/generation-stream.test.ts.
 */
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETED_EVENT, PARTIAL_EVENT, STREAM_TIMING } from '../apps/edge/src/api/generation-stream.ts';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { removeTempDirs, startGateway, tempDir, tinyOnly } from './support/reliability.ts';
import { bundlePartials, collect, parseSse, type StreamEvent } from './support/sse.ts';

const SIZE = '64x64' as unknown as '256x256';
const PROMPT = 'a lighthouse on a cliff at dusk';
const DEFAULT_KEEP_ALIVE = STREAM_TIMING.keepAliveMs;

function client(gateway: NodeGateway): OpenAI {
  return new OpenAI({ apiKey: 'not-needed-in-open-mode', baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 60_000 });
}

describe('stream: true through the OpenAI SDK against the Node gateway', () => {
  let gateway: NodeGateway;
  // 2 asked: the bundle's last (largest) 2 partial sides per image, fewer when it makes fewer.
  const sides = bundlePartials(tinyOnly().EDGE_BUNDLES).slice(-2);
  beforeAll(async () => {
    gateway = await startGateway({ DATABASE_PATH: path.join(tempDir(), 'cache.sqlite'), WASM_FALLBACK_MAX_BATCH: '2' });
  });
  afterAll(async () => {
    await gateway?.close();
    removeTempDirs();
  });
  afterEach(() => {
    STREAM_TIMING.keepAliveMs = DEFAULT_KEEP_ALIVE;
  });

  it('images.generate({ stream: true, partial_images: 2 }) iterates partial and completed events; the PNGs are the non-streamed bytes', async () => {
    const stream = await client(gateway).images.generate({
      prompt: PROMPT,
      n: 2,
      seed: 500,
      size: SIZE,
      stream: true,
      partial_images: 2,
    } as OpenAI.ImageGenerateParamsStreaming);
    const events = await collect(stream);
    const completed = events.filter((e) => e.type === COMPLETED_EVENT);
    expect(completed.map((e) => [e.seed, e.cached, e.route])).toEqual([
      [500, false, 'wasm'],
      [501, false, 'wasm'],
    ]);
    // Each image's partials (none with a bundle that makes none) come before its completed event, indexed from 0.
    const partialEvents = events.filter((e): e is OpenAI.ImageGenPartialImageEvent & StreamEvent => e.type === PARTIAL_EVENT);
    expect(partialEvents.map((e) => [e.seed, e.partial_image_index, e.partial_size])).toEqual(
      [500, 501].flatMap((seed) => sides.map((side, i) => [seed, i, `${side}x${side}`])),
    );
    for (const e of partialEvents) {
      expect(events.indexOf(e)).toBeLessThan(events.findIndex((c) => c.type === COMPLETED_EVENT && c.seed === e.seed));
      expect(decodePng(Buffer.from(e.b64_json, 'base64'))).toMatchObject({ width: 64, height: 64 });
      expect(e.size).toBe('64x64');
    }
    for (const e of completed) expect(e).toMatchObject({ size: '64x64', output_format: 'png', background: 'opaque', quality: 'auto' });

    // The same seeds generated again without streaming (refresh: made anew, no partials asked): the same bytes.
    const plain = await client(gateway).images.generate({
      prompt: PROMPT,
      n: 2,
      seed: 500,
      size: SIZE,
      response_format: 'b64_json',
      cache: 'refresh',
    } as OpenAI.ImageGenerateParamsNonStreaming);
    expect((plain.data as { route?: string }[]).map((d) => d.route)).toEqual(['wasm', 'wasm']);
    expect(completed.map((e) => e.b64_json)).toEqual(plain.data!.map((d) => d.b64_json));
  });

  it('a cache hit streams at once: raw SSE text, x-aurora-route cache, no partials', async () => {
    await client(gateway).images.generate({ prompt: PROMPT, seed: 600, size: SIZE } as OpenAI.ImageGenerateParamsNonStreaming);
    const started = performance.now();
    const res = await fetch(`${gateway.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, seed: 600, stream: true, partial_images: 3 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-aurora-route')).toBe('cache');
    const { events, comments } = parseSse(await res.text());
    expect(performance.now() - started).toBeLessThan(2000);
    expect(comments).toBe(0);
    expect(events.map((e) => [e.event, e.data.type, e.data.cached, e.data.route, e.data.seed])).toEqual([
      [COMPLETED_EVENT, COMPLETED_EVENT, true, 'cache', 600],
    ]);
  });

  it('a generation slower than the keep-alive interval is committed with keep-alive comments, then completes', async () => {
    STREAM_TIMING.keepAliveMs = 5;
    const res = await fetch(`${gateway.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, seed: 700, n: 2, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aurora-route')).toBeNull(); // the routes were not known when the headers left
    // The comments arrive while the images are still being made: the first read holds nothing else.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = (await reader.read()).value!;
    expect(first).toMatch(/^(: keep-alive\n\n)+$/);
    let text = first;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    const { events, comments } = parseSse(text);
    expect(comments).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => [e.event, e.data.seed, e.data.route])).toEqual([
      [COMPLETED_EVENT, 700, 'wasm'],
      [COMPLETED_EVENT, 701, 'wasm'],
    ]);
  });

  it('errors before the stream are the SDK error classes: 400 naming the field, 503 when no runner can take the batch', async () => {
    const openai = client(gateway);
    const bad = await openai.images
      .generate({ prompt: PROMPT, size: SIZE, stream: true, partial_images: 4 } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('partial_images');
    const notStreamed = await openai.images
      .generate({ prompt: PROMPT, size: SIZE, partial_images: 1 } as OpenAI.ImageGenerateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect((notStreamed as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('partial_images');
    const idem = await openai.images
      .generate({ prompt: PROMPT, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming, { headers: { 'Idempotency-Key': 'stream-1' } })
      .catch((e: unknown) => e);
    expect(idem).toBeInstanceOf(OpenAI.BadRequestError);
    expect((idem as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('Idempotency-Key');
    // 4 misses: more than WASM_FALLBACK_MAX_BATCH (2) with no runner configured.
    const noRunner = await openai.images
      .generate({ prompt: PROMPT, n: 4, seed: 800, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect(noRunner).toBeInstanceOf(OpenAI.InternalServerError);
    expect((noRunner as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((noRunner as InstanceType<typeof OpenAI.APIError>).code).toBe('no_runner');
  });
});
