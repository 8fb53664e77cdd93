import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { IMAGE_ID_RE } from '../cache/key.ts';
import { Lru } from '../cache/lru.ts';
import type { RecentImage } from '../cache/recent.ts';
import type { AppDeps } from '../deps.ts';
import type { InterpolationService } from '../generate/interpolation.ts';
import type { GenerationService } from '../generate/service.ts';
import { imageFileName } from './image-version.ts';

export type EdgeApp = OpenAPIHono;

/** What route modules get: the deps plus the service built from them. */
export interface RouteContext {
  readonly deps: AppDeps;
  readonly service: GenerationService;
  readonly interpolations: InterpolationService;
}

/** Root URLs by base URL: bases are the few public URLs and request URLs a gateway sees (bounded all the same). */
const roots = new Lru<string, string | null>(64);

/** `new URL('/', base)` as text when it ends in "/" (http, https and any base with a path); null otherwise or if invalid. */
function rootOf(base: string): string | null {
  try {
    const root = new URL('/', base).toString();
    return root.endsWith('/') ? root : null;
  } catch {
    return null;
  }
}

/**
 * Absolute URL of one version of an image: `/v1/images/<id>.<version>.png` (see imageFileName)
 * resolved against the public URL or the request's. Hex parts need no escaping, so the result is
 * the base's root URL (`new URL('/', base)`: scheme, credentials, host, port, then "/") followed
 * by the path, which spares a URL parse per image on the hot path; any other id (or odd base)
 * takes the full resolution.
 */
export function imageUrl(c: Context, deps: AppDeps, id: string, etag: string): string {
  const base = deps.publicUrl ?? c.req.url;
  const file = imageFileName(id, etag);
  if (!IMAGE_ID_RE.test(id)) return new URL(`/v1/images/${file}`, base).toString();
  const root = roots.getOrCompute(base, rootOf);
  return root === null ? new URL(`/v1/images/${file}`, base).toString() : `${root}v1/images/${file}`;
}

/** Work to finish after the response: the runtime's ExecutionContext (Workers' own, Node's shim). */
export function defer(c: Context): (work: Promise<unknown>) => void {
  const ctx = c.executionCtx;
  return (work) => ctx.waitUntil(work);
}

/** An image's public description, shared by GET /v1/cache and the gallery: ids, where to fetch it, what made it. */
export function imageFields(c: Context, deps: AppDeps, r: RecentImage) {
  return {
    id: r.key,
    url: imageUrl(c, deps, r.key, r.etag),
    model: r.model,
    prompt: r.prompt,
    seed: r.seed,
    truncation_psi: r.psi,
    size: r.size,
    route: r.route as 'wasm' | 'runner',
    created: Math.floor(r.createdAt / 1000),
  };
}
