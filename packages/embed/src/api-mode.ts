import { AuroraClient } from '@aurora-edge/client';
import type { LocalBackend } from './events.ts';
import type { ImageOptions, InterpolationOptions } from './options.ts';

/** What a mode hands the element to show. */
export interface Rendered {
  readonly src: string;
  readonly seed: number;
  readonly route: string;
  readonly cached: boolean;
  readonly local: boolean;
  readonly fallback?: string;
  readonly pixels?: Uint8Array;
  /** Local images only: what ran the model, the WebGPU adapter, why not WebGPU. */
  readonly backend?: LocalBackend;
  readonly adapter?: string;
  readonly backendFallback?: string;
  /** A blob: URL the element must revoke when it replaces the image (the frames' too, for an interpolation). */
  readonly ownsSrc?: boolean;
  /** An interpolation: `src` is its animated PNG, these its frames in order. */
  readonly frames?: readonly RenderedFrame[];
}

/** One frame of an interpolation. */
export interface RenderedFrame {
  readonly index: number;
  /** Blend weight toward `to`, [0, 1]. */
  readonly t: number;
  /** The frame's PNG: the API's image URL, or a blob: URL of the local PNG. */
  readonly src: string;
  /** Local frames only: the raw HWC uint8 RGB samples. */
  readonly pixels?: Uint8Array;
}

/** One image from POST /v1/images/generations, shown by URL (the PNG is public and immutable). */
export async function generateViaApi(o: ImageOptions, signal: AbortSignal): Promise<Rendered> {
  const client = new AuroraClient({ baseUrl: o.api, apiKey: o.key });
  const res = await client.generate(
    { prompt: o.prompt, n: 1, seed: o.seed, truncation_psi: o.psi, model: o.model, size: o.size, response_format: 'url' },
    { signal },
  );
  const image = res.data[0];
  if (!image?.url) throw new Error('the API answered without an image URL');
  return { src: image.url, seed: image.seed, route: res.route ?? 'api', cached: image.cached, local: false };
}

/**
 * An interpolation from POST /v1/images/interpolations: its animated PNG and its frames, shown by
 * URL (public, immutable, each frame cached under its own key).
 */
export async function interpolateViaApi(o: ImageOptions & { interpolation: InterpolationOptions }, signal: AbortSignal): Promise<Rendered> {
  const client = new AuroraClient({ baseUrl: o.api, apiKey: o.key });
  const i = o.interpolation;
  const res = await client.interpolate(
    {
      from: i.from,
      to: i.to,
      steps: i.steps,
      seed: o.seed,
      truncation_psi: o.psi,
      interpolate: i.interpolate,
      centre: i.centre,
      model: o.model,
      response_format: 'url',
    },
    { signal },
  );
  const animation = res.animation.url;
  if (!animation || res.data.some((f) => !f.url)) throw new Error('the API answered without image URLs');
  const frames = res.data.map((f) => ({ index: f.index, t: f.t, src: f.url as string }));
  return { src: animation, frames, seed: res.seed, route: res.route ?? 'api', cached: res.cached ?? false, local: false };
}
