import { z } from '@hono/zod-openapi';
import { generateBodySchema } from './schemas.ts';

/**
 * The batch API's schemas (POST /v1/batches, GET /v1/batches/{id}, its events and cancel). The
 * SDK imports their types (z.input / z.output) from here: keep the names stable.
 */

/** Items in one batch at most, and images in one batch at most (the sum of the items' n). */
export const MAX_BATCH_ITEMS = 10_000;
export const MAX_BATCH_IMAGES = 10_000;
/** Items per page of GET /v1/batches/{id}: at most, and when `limit` is omitted. */
export const MAX_BATCH_PAGE = 1000;
export const DEFAULT_BATCH_PAGE = 100;

/** The generations' own field checks (prompt, n, seed, psi, model): one rule for both routes. */
const gen = generateBodySchema.shape;

export const batchItemInputSchema = z
  .object({
    prompt: gen.prompt,
    seed: gen.seed.openapi({ description: 'First seed (uint32). Omitted: a random one, fixed at creation and shown on the item.' }),
    n: gen.n,
    truncation_psi: gen.truncation_psi,
  })
  .openapi('BatchItemRequest');

export const webhookEventSchema = z.enum(['progress', 'completed']);

export const batchWebhookInputSchema = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2048)
      .openapi({ description: 'https URL (http too when the operator sets WEBHOOK_ALLOW_PRIVATE=1).', example: 'https://example.com/hook' }),
    events: z
      .array(webhookEventSchema)
      .min(1)
      .max(2)
      .default(['completed'])
      .openapi({ description: 'progress: batch.progress messages (coalesced); completed: the terminal message (batch.completed, .failed or .cancelled).' }),
  })
  .openapi('BatchWebhookRequest');

export const batchCreateBodySchema = z
  .object({
    items: z
      .array(batchItemInputSchema)
      .min(1, 'must hold at least one item')
      .max(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} items`)
      .superRefine((items, ctx) => {
        let images = 0;
        for (const item of items) images += item.n;
        if (images > MAX_BATCH_IMAGES) ctx.addIssue({ code: 'custom', message: `ask for at most ${MAX_BATCH_IMAGES} images in all (sum of n), got ${images}` });
      })
      .openapi({ description: `1..${MAX_BATCH_ITEMS} generations, ${MAX_BATCH_IMAGES} images in all at most.` }),
    model: gen.model,
    webhook: batchWebhookInputSchema
      .nullish()
      .transform((v) => v ?? undefined)
      .openapi({ description: 'Where to POST Standard Webhooks messages about this batch (signed with the API key’s webhook secret).' }),
  })
  .openapi('BatchRequest');

export const batchStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);
export const batchItemStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);

export const batchWebhookSchema = z.object({ url: z.string(), events: z.array(webhookEventSchema) }).openapi('BatchWebhook');

export const batchSchema = z
  .object({
    id: z.string().openapi({ example: 'batch_0123456789abcdefghijklmn' }),
    object: z.literal('batch'),
    status: batchStatusSchema.openapi({
      description: 'queued -> running -> completed (also when some items failed: see failed) | cancelled; failed only when the batch could not run at all.',
    }),
    model: z.string(),
    total: z.number().int().openapi({ description: 'Images in the batch (the sum of the items’ n).' }),
    done: z.number().int().openapi({ description: 'Images completed (generated or found in the cache).' }),
    failed: z.number().int().openapi({ description: 'Images whose item failed.' }),
    cancelled: z.number().int().openapi({ description: 'Images whose item was cancelled before it ran.' }),
    created: z.number().int().openapi({ description: 'Unix seconds.' }),
    finished: z.number().int().nullable().openapi({ description: 'Unix seconds, once the batch is completed, failed or cancelled.' }),
    webhook: batchWebhookSchema.nullable(),
  })
  .openapi('Batch');

export const batchImageSchema = z
  .object({
    id: z.string().openapi({ description: 'The cache key, also the image id in /v1/images/{id}.png.' }),
    seed: z.number().int(),
    url: z.string().openapi({ description: 'This version of the image, /v1/images/{id}.{version}.png.' }),
  })
  .openapi('BatchImage');

export const batchItemSchema = z
  .object({
    index: z.number().int().openapi({ description: 'Position in the request’s items, from 0.' }),
    prompt: z.string(),
    seed: z.number().int().openapi({ description: 'The first seed (the one chosen at creation when the request gave none).' }),
    n: z.number().int(),
    truncation_psi: z.number(),
    status: batchItemStatusSchema,
    images: z.array(batchImageSchema).openapi({ description: 'In seed order, once the item is completed; [] before.' }),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .openapi('BatchItem');

export const batchPageSchema = batchSchema
  .extend({
    items: z.array(batchItemSchema),
    has_more: z.boolean(),
    next_after: z.number().int().nullable().openapi({ description: 'Pass as ?after= for the next page; null on the last one.' }),
  })
  .openapi('BatchPage');

const queryIndex = z
  .string()
  .regex(/^\d{1,6}$/, 'must be a non-negative integer')
  .transform(Number);

export const batchPageQuerySchema = z.object({
  after: queryIndex.optional().openapi({ description: 'Items after this index (the previous page’s next_after); omitted: from the first.' }),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be an integer in [1, ${MAX_BATCH_PAGE}]`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_BATCH_PAGE))
    .optional()
    .transform((v) => v ?? DEFAULT_BATCH_PAGE)
    .openapi({ description: `Items per page, 1..${MAX_BATCH_PAGE} (default ${DEFAULT_BATCH_PAGE}).` }),
});

export const batchIdParamSchema = z.object({
  id: z
    .string()
    .regex(/^batch_[a-z0-9]{24}$/, 'must look like batch_<24 lowercase letters or digits>')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'batch_0123456789abcdefghijklmn' }),
});

export const batchEventsQuerySchema = z.object({
  last_event_id: queryIndex.optional().openapi({ description: 'Resume after this event id (the same as the Last-Event-ID header).' }),
});

/** SSE event names on GET /v1/batches/{id}/events; every event's data is a Batch (without items). */
export const batchEventTypeSchema = z.enum(['progress', 'completed', 'failed', 'cancelled']);
export const batchEventDataSchema = batchSchema;

export type BatchCreateBody = z.output<typeof batchCreateBodySchema>;
export type Batch = z.output<typeof batchSchema>;
export type BatchItem = z.output<typeof batchItemSchema>;
export type BatchPage = z.output<typeof batchPageSchema>;
export type BatchStatus = z.output<typeof batchStatusSchema>;
export type BatchItemStatus = z.output<typeof batchItemStatusSchema>;
export type BatchEventType = z.output<typeof batchEventTypeSchema>;
