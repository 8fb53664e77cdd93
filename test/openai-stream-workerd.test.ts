/**
 * `stream: true` on the Worker in workerd (wrangler's unstable_startWorker on the real
 * wrangler.toml, local D1), read by OpenAI's own SDK: there the in-process generator runs on the
 * request's isolate, not a thread, and the stream is a Workers ReadableStream. The Node twin:
 * test/openai-stream.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodePng } from '@aurora-edge/model';
import { defaultBundlePath } from '@aurora-edge/model/node';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETED_EVENT, PARTIAL_EVENT } from '../apps/edge/src/api/generation-stream.ts';
import { bundlePartials, collect, parseSse } from './support/sse.ts';
import { startWorker, type Worker, wranglerD1 } from './support/workerd.ts';

const SIZE = '64x64' as unknown as '256x256';
const PROMPT = `a harbour at night ${Date.now()}`;

describe('stream: true on the Worker in workerd, through the OpenAI SDK', () => {
  let dir: string;
  let started: { worker: Worker; base: string };
  const client = () => new OpenAI({ apiKey: 'not-needed-in-open-mode', baseURL: `${started.base}/v1`, maxRetries: 0, timeout: 60_000 });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-stream-workerd-'));
    wranglerD1(dir, 'migrations', 'apply', 'DB');
    started = await startWorker(dir, { ANON_RPM: { type: 'plain_text', value: '0' } });
  }, 180_000);

  afterAll(async () => {
    await started?.worker.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('streams partial and completed events with the non-streamed bytes; a cache hit streams as raw SSE', async () => {
    const events = await collect(
      await client().images.generate({ prompt: PROMPT, n: 2, seed: 900, size: SIZE, stream: true, partial_images: 2 } as OpenAI.ImageGenerateParamsStreaming),
    );
    const completed = events.filter((e) => e.type === COMPLETED_EVENT);
    expect(completed.map((e) => [e.seed, e.cached, e.route])).toEqual([
      [900, false, 'wasm'],
      [901, false, 'wasm'],
    ]);
    const partials = events.filter((e) => e.type === PARTIAL_EVENT);
    const sides = bundlePartials(defaultBundlePath()).slice(-2);
    expect(partials.map((e) => [e.seed, e.partial_size])).toEqual([900, 901].flatMap((seed) => sides.map((side) => [seed, `${side}x${side}`])));
    for (const e of partials) expect(decodePng(Buffer.from(e.b64_json, 'base64'))).toMatchObject({ width: 64, height: 64 });

    const plain = await client().images.generate({
      prompt: PROMPT,
      n: 2,
      seed: 900,
      size: SIZE,
      response_format: 'b64_json',
      cache: 'refresh',
    } as OpenAI.ImageGenerateParamsNonStreaming);
    expect(completed.map((e) => e.b64_json)).toEqual(plain.data!.map((d) => d.b64_json));

    const hit = await fetch(`${started.base}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, seed: 900, stream: true }),
    });
    expect(hit.status).toBe(200);
    expect(hit.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(hit.headers.get('x-aurora-route')).toBe('cache');
    const { events: raw } = parseSse(await hit.text());
    expect(raw.map((e) => [e.event, e.data.cached, e.data.b64_json])).toEqual([[COMPLETED_EVENT, true, completed[0].b64_json]]);
  });

  it('errors before the stream stay JSON errors: 400 naming partial_images, 503 no_runner', async () => {
    const bad = await client()
      .images.generate({ prompt: PROMPT, size: SIZE, stream: true, partial_images: 5 } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('partial_images');
    // 8 misses: past WASM_FALLBACK_MAX_BATCH (4) with no runner.
    const noRunner = await client()
      .images.generate({ prompt: PROMPT, n: 8, seed: 1000, size: SIZE, stream: true } as OpenAI.ImageGenerateParamsStreaming)
      .catch((e: unknown) => e);
    expect((noRunner as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((noRunner as InstanceType<typeof OpenAI.APIError>).code).toBe('no_runner');
  });
});
