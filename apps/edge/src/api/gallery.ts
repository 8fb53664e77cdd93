import { createRoute, z } from '@hono/zod-openapi';
import { EdgeError } from '../errors.ts';
import { type EdgeApp, imageFields, type RouteContext } from './context.ts';
import { errorResponse, LOOKUP_AUTH_RESPONSES, LOOKUP_KEY_NOTE, OPTIONAL_KEY } from './responses.ts';

export const MAX_GALLERY = 48;

const galleryQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_GALLERY))
    .optional()
    .openapi({ description: `How many, 1..${MAX_GALLERY} (default 12).`, example: '12' }),
});

const galleryItemSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    model: z.string(),
    prompt: z.string().openapi({ description: 'The normalised prompt.' }),
    seed: z.number().int(),
    truncation_psi: z.number(),
    size: z.string(),
    route: z.enum(['wasm', 'runner']),
    created: z.number().int(),
  })
  .openapi('GalleryItem');

const galleryRoute = createRoute({
  method: 'get',
  path: '/v1/gallery',
  summary: 'The most recently generated (cached) images, newest first',
  description: LOOKUP_KEY_NOTE,
  security: OPTIONAL_KEY,
  request: { query: galleryQuerySchema },
  responses: {
    200: {
      description: 'Recent cache entries',
      content: { 'application/json': { schema: z.object({ object: z.literal('list'), data: z.array(galleryItemSchema) }).openapi('Gallery') } },
    },
    400: errorResponse('A bad query parameter'),
    ...LOOKUP_AUTH_RESPONSES,
    404: errorResponse('gallery_disabled: the gallery is turned off (GALLERY=false)'),
  },
});

export function registerGallery(app: EdgeApp, { deps }: RouteContext): void {
  app.openapi(galleryRoute, async (c) => {
    if (!deps.gallery) throw EdgeError.notFound('gallery_disabled', 'this gateway does not list recent images (GALLERY=false)');
    const rows = await deps.gallery.list(c.req.valid('query').limit ?? 12);
    return c.json(
      {
        object: 'list' as const,
        data: rows.map((r) => imageFields(c, deps, r)),
      },
      200,
    );
  });
}
