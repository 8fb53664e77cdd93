import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps } from '../deps.ts';
import type { GenerationService } from '../generate/service.ts';

export type EdgeApp = OpenAPIHono;

/** What route modules get: the deps plus the service built from them. */
export interface RouteContext {
  readonly deps: AppDeps;
  readonly service: GenerationService;
}

/** Absolute URL of an image (image ids are cache keys). */
export function imageUrl(c: Context, deps: AppDeps, id: string): string {
  return new URL(`/v1/images/${id}.png`, deps.publicUrl ?? c.req.url).toString();
}

/** Work to finish after the response: the runtime's ExecutionContext (Workers' own, Node's shim). */
export function defer(c: Context): (work: Promise<unknown>) => void {
  const ctx = c.executionCtx;
  return (work) => ctx.waitUntil(work);
}
