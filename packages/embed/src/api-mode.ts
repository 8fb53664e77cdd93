import { AuroraClient } from '@aurora-edge/client';
import type { LocalBackend } from './events.ts';
import type { ImageOptions } from './options.ts';

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
  /** A blob: URL the element must revoke when it replaces the image. */
  readonly ownsSrc?: boolean;
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
