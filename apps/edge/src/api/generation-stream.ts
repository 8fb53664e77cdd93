/**
 * `stream: true` on POST /v1/images/generations: the answer as OpenAI's images API streams it
 * (Server-Sent Events the `openai` SDK's `images.generate({ stream: true })` iterates).
 *
 * - `event: image_generation.partial_image`: up to `partial_images` per image, from the
 *   generator's lower-resolution outputs, upscaled (nearest neighbour) to the model's size, only
 *   for images generated in-process (WASM); cache hits and runner images have none.
 * - `event: image_generation.completed`: one per image, in seed order, once every image is made
 *   and stored (the normal path: cache, single flight, charging, routing).
 * - `event: error` when the generation fails after the stream started; then the stream ends.
 *
 * The response is committed (status 200 and headers sent) at the first of: the generation's end,
 * its first partial image, or STREAM_TIMING.keepAliveMs. Until then a failure is the usual JSON
 * error with its status (400, 404, 429, 503, ...); after it, an `error` event. While a committed
 * stream waits, a `: keep-alive` comment goes out every keepAliveMs.
 */
import { checkPromptText, decodePng, encodePng } from '@aurora-edge/model';
import { bytesToBase64 } from '@aurora-edge/protocol';
import type { Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import { errorBody, toEdgeError } from '../errors.ts';
import type { ModelEntry } from '../generate/models.ts';
import { type GenerationResult, randomSeed } from '../generate/service.ts';
import type { PartialImage } from '../generate/wasm.ts';
import { defer, type RouteContext } from './context.ts';
import type { generateBodySchema } from './schemas.ts';

type GenerateBody = z.output<typeof generateBodySchema>;

/**
 * When a waiting stream is committed and how often it then says it is alive. A module setting,
 * not configuration: ~10 s keeps proxies (and the SDK's idle timers) from closing a slow stream;
 * tests shorten it.
 */
export const STREAM_TIMING = { keepAliveMs: 10_000 };

export const PARTIAL_EVENT = 'image_generation.partial_image';
export const COMPLETED_EVENT = 'image_generation.completed';

/** One SSE event: `event:` and one `data:` line of JSON (JSON.stringify never writes a newline), then a blank line. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const KEEP_ALIVE = ': keep-alive\n\n';

/**
 * The fields every event shares with OpenAI's (the SDK's types require them): our images are
 * opaque RGB PNGs, and there is no quality setting.
 */
function commonFields(model: ModelEntry) {
  return { created_at: Math.floor(Date.now() / 1000), size: model.size, quality: 'auto', background: 'opaque', output_format: 'png' } as const;
}

/** A partial image's PNG at the model's size: nearest-neighbour upscaling, as is when already that size (or not RGB/gray/RGBA). */
export function upscalePartial(partial: PartialImage, width: number, height: number): Uint8Array {
  if (partial.width === width && partial.height === height) return partial.png;
  const given = partial.pixels;
  const src = given
    ? { width: partial.width, height: partial.height, channels: given.length / (partial.width * partial.height), pixels: given }
    : decodePng(partial.png);
  const ch = src.channels;
  if (ch !== 1 && ch !== 3 && ch !== 4) return partial.png;
  const out = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y * src.height) / height);
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x * src.width) / width);
      const from = (sy * src.width + sx) * ch;
      out.set(src.pixels.subarray(from, from + ch), (y * width + x) * ch);
    }
  }
  return encodePng(out, width, height, ch);
}

/** OpenAI's usage block (its SDK types require it): the prompt's CLIP tokens in; no image tokens are metered. */
async function usageOf(model: ModelEntry, prompt: string) {
  let tokens = 0;
  try {
    tokens = (await model.tokenizer()).tokenizeWithInfo(checkPromptText(prompt, 'prompt'), model.manifest.tokenizer.contextLength).tokenCount;
  } catch {
    // Only reached for a prompt the generation accepted; a tokenizer failure here costs the count, not the stream.
  }
  return { input_tokens: tokens, input_tokens_details: { text_tokens: tokens, image_tokens: 0 }, output_tokens: 0, total_tokens: tokens };
}

async function completedEvents(model: ModelEntry, prompt: string, result: GenerationResult): Promise<string> {
  const usage = await usageOf(model, prompt);
  return result.images
    .map((img) =>
      sseEvent(COMPLETED_EVENT, {
        type: COMPLETED_EVENT,
        b64_json: bytesToBase64(img.png!),
        ...commonFields(model),
        usage,
        // Ours (the SDK passes unknown fields through): which image this is and where it came from.
        id: img.id,
        seed: img.seed,
        cached: img.cached,
        route: img.route,
        model: model.id,
      }),
    )
    .join('');
}

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // nginx and similar proxies: pass events on as they come.
  'x-accel-buffering': 'no',
};

/** A stream's text before and after commit: buffered until the response exists, then written through. */
class EventSink {
  private pending: string[] = [];
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private readonly encoder = new TextEncoder();
  closed = false;
  /** Resolves at the first write (a partial image): the moment to commit. */
  readonly firstWrite: Promise<void>;
  private wrote!: () => void;

  constructor() {
    this.firstWrite = new Promise((resolve) => {
      this.wrote = resolve;
    });
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.controller) this.controller.enqueue(this.encoder.encode(text));
    else this.pending.push(text);
    this.wrote();
  }

  /** The text written before any commit (the whole answer when the generation ended first). */
  drain(): string {
    const text = this.pending.join('');
    this.pending = [];
    return text;
  }

  attach(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
    if (this.pending.length) controller.enqueue(this.encoder.encode(this.pending.join('')));
    this.pending = [];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller?.close();
    } catch {
      // Already cancelled by the client.
    }
  }
}

/** POST /v1/images/generations with stream: true (body validated, stream-only checks done). */
export async function streamGenerations(c: Context, { deps, service }: RouteContext, body: GenerateBody): Promise<Response> {
  const model = deps.models.resolve(body.model);
  const { psi } = model.cacheKeyFields({ prompt: body.prompt, psi: body.truncation_psi, size: body.size });
  // The seed is fixed here, not in the service, so the partials watcher knows every image's seed.
  const seed = body.seed ?? randomSeed(body.n);
  const seeds = Array.from({ length: body.n }, (_, i) => seed + i);
  const sink = new EventSink();
  const wanted = body.partial_images ?? 0;
  const [width, height] = model.size.split('x').map(Number);
  const unwatch =
    wanted > 0
      ? model.wasm.watchPartials(body.prompt, psi, seeds, (imageSeed, partials) => {
          if (sink.closed) return;
          partials.slice(-wanted).forEach((p, index) => {
            sink.write(
              sseEvent(PARTIAL_EVENT, {
                type: PARTIAL_EVENT,
                b64_json: bytesToBase64(upscalePartial(p, width, height)),
                ...commonFields(model),
                partial_image_index: index,
                // Ours: which image it belongs to, and the resolution the generator made it at.
                seed: imageSeed,
                partial_size: `${p.width}x${p.height}`,
              }),
            );
          });
        })
      : () => undefined;
  const generation = service
    .generate({
      prompt: body.prompt,
      n: body.n,
      seed,
      psi: body.truncation_psi,
      model: body.model,
      size: body.size,
      cache: body.cache,
      withPng: true,
      defer: defer(c),
      admit() {
        return deps.access.admit(c);
      },
    })
    .finally(unwatch);
  // Observed at once, so a failure before the commit is not an unhandled rejection while we wait.
  const settled = generation.then(
    () => 'done' as const,
    () => 'failed' as const,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<'timer'>((resolve) => {
    timer = setTimeout(() => resolve('timer'), STREAM_TIMING.keepAliveMs);
  });
  const first = await Promise.race([settled, sink.firstWrite.then(() => 'event' as const), waited]);
  clearTimeout(timer);

  if (first !== 'event' && first !== 'timer') {
    // Finished before anything was sent: a failure is the ordinary JSON error (400/404/429/503).
    const result = await generation;
    c.header('x-aurora-route', result.routes.join(','));
    c.set(
      'imageRoutes',
      result.images.map((img) => img.route),
    );
    sink.write(await completedEvents(model, body.prompt, result));
    const text = sink.drain();
    return c.body(text, 200, HEADERS);
  }

  // Committed: from here on a failure is an `error` event.
  const requestId = c.get('requestId') as string | undefined;
  const log = deps.log ?? ((message: string, error?: unknown) => console.error(message, error ?? ''));
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      sink.attach(controller);
      if (first === 'timer') sink.write(KEEP_ALIVE);
      keepAlive = setInterval(() => sink.write(KEEP_ALIVE), STREAM_TIMING.keepAliveMs);
      generation
        .then(
          async (result) => {
            if (sink.closed) return;
            c.set(
              'imageRoutes',
              result.images.map((img) => img.route),
            );
            sink.write(await completedEvents(model, body.prompt, result));
          },
          (error: unknown) => {
            const e = toEdgeError(error);
            if (e.status >= 500) log(`request ${requestId ?? '-'}: ${c.req.method} ${c.req.path} -> stream error ${e.status} ${e.code}`, e.cause ?? e);
            const { error: err } = errorBody(e, requestId);
            // OpenAI's error event (type, code, message, param) and, under `error`, what its SDK throws as an APIError.
            sink.write(sseEvent('error', { type: 'error', code: err.code, message: err.message, param: err.param, error: err }));
          },
        )
        .finally(() => {
          clearInterval(keepAlive);
          sink.close();
        });
    },
    cancel() {
      // The client left: the generation goes on (its images are cached for the next request).
      clearInterval(keepAlive);
      sink.closed = true;
    },
  });
  return c.body(stream, 200, HEADERS);
}
