import { createRoute, z } from '@hono/zod-openapi';
import { IMAGE_ID_RE } from '../cache/key.ts';
import { EdgeError } from '../errors.ts';
import type { EdgeApp, RouteContext } from './context.ts';
import { parseImageFileName } from './image-version.ts';
import { errorSchema } from './schemas.ts';

/** A versioned URL's bytes never change: caches may keep them for a year without asking again. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The bare id's bytes may be replaced (refresh, or eviction then a regeneration on the other route): revalidate every use. */
const REVALIDATE = 'public, no-cache';

/** RFC 9110 If-None-Match: `*` or a list of entity tags, compared weakly. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

const pngResponses = {
  200: { description: 'The PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
  304: { description: 'Not modified' },
} as const;

/** Documentation only: Hono's router takes the real path below (":id.png" is not a Hono pattern). */
export const imageRoute = createRoute({
  method: 'get',
  path: '/v1/images/{id}.png',
  summary: "An image's current bytes (strong ETag; Cache-Control: no-cache, so caches revalidate: 304 on If-None-Match)",
  description:
    'The id is the cache key (model, prompt, seed, psi, size). Its bytes can be replaced by a refresh, or by a regeneration on the other route after eviction (the routes agree within the parity bound, not bit for bit), so this URL is not immutable; responses link the versioned URL instead.',
  request: { params: z.object({ id: z.string().regex(IMAGE_ID_RE) }) },
  responses: { ...pngResponses, 404: { description: 'No such image', content: { 'application/json': { schema: errorSchema } } } },
});

export const versionedImageRoute = createRoute({
  method: 'get',
  path: '/v1/images/{id}.{version}.png',
  summary: 'One version of an image (immutable: cached for a year; 404 once those bytes are no longer stored)',
  description:
    'The url in every response. version = the first 16 hex digits of the sha256 of the bytes (the ETag), so the bytes behind this URL never change; when the image was regenerated with other bytes, this URL answers 404 and never the new bytes.',
  request: { params: z.object({ id: z.string().regex(IMAGE_ID_RE), version: z.string().regex(/^[0-9a-f]{16}$/) }) },
  responses: { ...pngResponses, 404: { description: 'No such image, or not this version of it', content: { 'application/json': { schema: errorSchema } } } },
});

export function registerImages(app: EdgeApp, { deps }: RouteContext): void {
  app.openAPIRegistry.registerPath(imageRoute);
  app.openAPIRegistry.registerPath(versionedImageRoute);
  app.get('/v1/images/:file{[^/]+\\.png}', async (c) => {
    const file = c.req.param('file');
    const name = parseImageFileName(file);
    if (!name) throw EdgeError.notFound('image_not_found', `no image ${file}: ids are 64 lower-case hex digits, versions 16`);
    const { id, version } = name;
    const etag = await deps.store.etag(id);
    if (etag === null) throw EdgeError.notFound('image_not_found', `no image ${id}`);
    if (version !== null && !etag.startsWith(version)) {
      throw EdgeError.notFound(
        'image_not_found',
        `image ${id} was regenerated: version ${version} is no longer stored (GET /v1/images/${id}.png for the current one)`,
      );
    }
    const quoted = `"${etag}"`;
    const headers = { etag: quoted, 'cache-control': version === null ? REVALIDATE : IMMUTABLE, 'cross-origin-resource-policy': 'cross-origin' };
    if (matchesIfNoneMatch(c.req.header('if-none-match'), quoted)) return c.body(null, 304, headers);
    const image = await deps.store.image(id);
    // The bytes read must be the version checked above (a refresh may land in between).
    if (!image?.png || (version !== null && image.etag !== etag)) throw EdgeError.notFound('image_not_found', `no image ${id}`);
    return c.body(image.png as Uint8Array<ArrayBuffer>, 200, {
      ...headers,
      etag: `"${image.etag}"`,
      'content-type': 'image/png',
      'content-length': String(image.png.byteLength),
    });
  });
}
