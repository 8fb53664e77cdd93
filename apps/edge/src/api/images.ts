import { createRoute, z } from '@hono/zod-openapi';
import { IMAGE_ID_RE } from '../cache/key.ts';
import { EdgeError } from '../errors.ts';
import type { EdgeApp, RouteContext } from './context.ts';
import { errorSchema } from './schemas.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** RFC 9110 If-None-Match: `*` or a list of entity tags, compared weakly. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** Documentation only: Hono's router takes the real path below (":id.png" is not a Hono pattern). */
export const imageRoute = createRoute({
  method: 'get',
  path: '/v1/images/{id}.png',
  summary: 'A generated image (immutable: strong ETag, cached for a year, 304 on If-None-Match)',
  request: { params: z.object({ id: z.string().regex(IMAGE_ID_RE) }) },
  responses: {
    200: { description: 'The PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
    304: { description: 'Not modified' },
    404: { description: 'No such image', content: { 'application/json': { schema: errorSchema } } },
  },
});

export function registerImages(app: EdgeApp, { deps }: RouteContext): void {
  app.openAPIRegistry.registerPath(imageRoute);
  app.get('/v1/images/:file{[^/]+\\.png}', async (c) => {
    const id = c.req.param('file').slice(0, -'.png'.length);
    if (!IMAGE_ID_RE.test(id)) throw EdgeError.notFound('image_not_found', `no image ${id}: ids are 64 lower-case hex digits`);
    const etag = await deps.store.etag(id);
    if (etag === null) throw EdgeError.notFound('image_not_found', `no image ${id}`);
    const quoted = `"${etag}"`;
    const headers = { etag: quoted, 'cache-control': IMMUTABLE, 'cross-origin-resource-policy': 'cross-origin' };
    if (matchesIfNoneMatch(c.req.header('if-none-match'), quoted)) return c.body(null, 304, headers);
    const image = await deps.store.image(id);
    if (!image?.png) throw EdgeError.notFound('image_not_found', `no image ${id}`);
    return c.body(image.png as Uint8Array<ArrayBuffer>, 200, { ...headers, 'content-type': 'image/png', 'content-length': String(image.png.byteLength) });
  });
}
