import { MAX_SEED } from '@aurora-edge/model';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ZodError } from 'zod';
import type { BatchRuntime } from '../batches/runtime.ts';
import type { BatchRow, BatchItemRow } from '../batches/schema.ts';
import { newBatchId, type NewBatchItem, type StoredImage, TERMINAL_BATCH, type BatchStatusValue } from '../batches/store.ts';
import { cacheKey } from '../cache/key.ts';
import { EdgeError } from '../errors.ts';
import { randomSeed } from '../generate/service.ts';
import { checkWebhookUrl } from '../webhooks/target.ts';
import {
  type Batch,
  batchCreateBodySchema,
  batchEventsQuerySchema,
  batchIdParamSchema,
  batchPageQuerySchema,
  batchPageSchema,
  batchSchema,
} from './batch-schemas.ts';
import { defer, type EdgeApp, imageUrl, type RouteContext } from './context.ts';
import { jsonBodyLimits } from './generations.ts';
import { idempotency, idempotencyHeaders } from './idempotency.ts';
import { errorResponse, OPTIONAL_KEY } from './responses.ts';

const error = errorResponse;
const AUTH = {
  401: error('api_key_required (keys mode), invalid_api_key or api_key_revoked'),
  403: error("origin_not_allowed: the Origin is not on the API key's allowlist"),
};
const NOT_FOUND = error('batch_not_found: no such batch, or another caller’s (batches are scoped to the API key, or the client IP without one)');

export const createBatchRoute = createRoute({
  method: 'post',
  path: '/v1/batches',
  summary: 'Queue a batch of generations (to warm the cache)',
  description:
    'Up to 10,000 items and 10,000 images in all. Items whose images are all cached complete at once; a batch with nothing to generate is `completed` ' +
    'in the answer and costs nothing. Otherwise creating it spends ONE token of the caller’s rate-limit bucket(s), however many images it holds; the ' +
    'items then run in the background, BATCH_CONCURRENCY at a time per caller. Progress: GET /v1/batches/{id} or its events stream.',
  security: OPTIONAL_KEY,
  request: { headers: idempotencyHeaders, body: { required: true, content: { 'application/json': { schema: batchCreateBodySchema } } } },
  responses: {
    202: {
      description: 'The batch (Location: /v1/batches/{id}).',
      headers: { location: { schema: { type: 'string' }, description: '/v1/batches/{id}' } },
      content: { 'application/json': { schema: batchSchema } },
    },
    400: error('A bad field, named in error.field (items[i].prompt, items[i].seed, webhook.url, ...)'),
    ...AUTH,
    409: error('idempotency_key_in_use'),
    413: error('Body over BATCH_MAX_BODY_BYTES'),
    415: error('Body is not JSON, or is compressed'),
    422: error('idempotency_key_reused'),
    429: error('rate_limited (only when the batch has something to generate)'),
  },
});

export const getBatchRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{id}',
  summary: 'A batch and a page of its items',
  security: OPTIONAL_KEY,
  request: { params: batchIdParamSchema, query: batchPageQuerySchema },
  responses: {
    200: { description: 'The batch with items after `after`, at most `limit`.', content: { 'application/json': { schema: batchPageSchema } } },
    400: error('A bad query parameter'),
    ...AUTH,
    404: NOT_FOUND,
  },
});

export const batchEventsRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{id}/events',
  summary: 'Server-sent events of a batch',
  description:
    'text/event-stream. Each event: `id: <seq>` (per batch, increasing), `event: progress | completed | failed | cancelled`, `data: <Batch>`. Without ' +
    'Last-Event-ID (or ?last_event_id=) the first event is the current state; with it, the stream resumes after that seq (events are stored, so this ' +
    'works across gateways and restarts). Progress events are coalesced (at most one per 500 ms and per 1% of the images). A `: keep-alive` comment ' +
    'goes out every 15 s; the stream ends after the terminal event.',
  security: OPTIONAL_KEY,
  request: { params: batchIdParamSchema, query: batchEventsQuerySchema },
  responses: {
    200: { description: 'The event stream.', content: { 'text/event-stream': { schema: z.string() } } },
    400: error('A bad Last-Event-ID'),
    ...AUTH,
    404: NOT_FOUND,
  },
});

export const cancelBatchRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{id}/cancel',
  summary: 'Cancel a batch',
  description: 'Items not yet run become cancelled; items running now may still finish (their images are kept and counted as done).',
  security: OPTIONAL_KEY,
  request: { params: batchIdParamSchema },
  responses: {
    200: { description: 'The batch, cancelled.', content: { 'application/json': { schema: batchSchema } } },
    ...AUTH,
    404: NOT_FOUND,
    409: error('batch_finished: the batch is already completed, failed or cancelled'),
  },
});

/** The Batch of a row (without items): the same JSON the events' data holds (built in SQL, batches/dialect.ts). */
export function toBatch(row: BatchRow): Batch {
  return {
    id: row.id,
    object: 'batch',
    status: row.status as Batch['status'],
    model: row.model,
    total: row.total,
    done: row.done,
    failed: row.failed,
    cancelled: row.cancelled,
    created: Math.floor(row.createdAt / 1000),
    finished: row.finishedAt === null ? null : Math.floor(row.finishedAt / 1000),
    webhook: row.webhookUrl === null ? null : { url: row.webhookUrl, events: JSON.parse(row.webhookEvents ?? '[]') },
  };
}

/** A zod path as the contract names fields: items[3].prompt, webhook.url. */
function fieldOf(path: readonly PropertyKey[], whole: string): string {
  if (path.length === 0) return whole;
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

function zodError(error: ZodError, target: string): EdgeError {
  const whole = target === 'json' ? 'body' : target;
  const message = error.issues.map((i) => `${fieldOf(i.path, whole)}: ${i.message}`).join('; ');
  return new EdgeError(400, 'invalid_request', message, { field: fieldOf(error.issues[0]?.path ?? [], whole), cause: error });
}

const hook = (result: { success: boolean; error?: unknown; target?: string }): undefined => {
  if (!result.success) throw zodError(result.error as ZodError, result.target ?? 'body');
  return undefined;
};

const notFound = (id: string) => EdgeError.notFound('batch_not_found', `no batch ${id}`);
const eventTypeOf = (status: string) => ((TERMINAL_BATCH as readonly string[]).includes(status) ? status : 'progress');

export function registerBatches(app: EdgeApp, { deps, service }: RouteContext): void {
  const runtime = deps.batches;
  if (!runtime) return;
  runtime.bindGenerator((input) => service.generate(input));
  app.use('/v1/batches', deps.access.guard('generate'));
  app.use('/v1/batches/*', deps.access.guard('generate'));
  app.use(createBatchRoute.path, jsonBodyLimits({ ...deps, maxBodyBytes: runtime.config.maxBodyBytes }));
  app.use(createBatchRoute.path, async (c, next) => {
    // Only the POST is idempotent (the middleware reads the body).
    if (c.req.method !== 'POST') return next();
    return idempotency(deps.idempotency, deps.access, deps.log)(c, next);
  });

  app.openapi(
    createBatchRoute,
    async (c) => {
      const body = c.req.valid('json');
      const owner = deps.access.scopeOf(c);
      const model = deps.models.resolve(body.model);
      const webhook = body.webhook ? await webhookOf(runtime, owner, body.webhook) : null;
      const items: (NewBatchItem & { keys: string[] })[] = [];
      for (const [i, item] of body.items.entries()) {
        const { size, psi, prompt } = model.cacheKeyFields({ prompt: item.prompt, psi: item.truncation_psi });
        const seed = item.seed ?? randomSeed(item.n);
        if (seed + item.n - 1 > MAX_SEED)
          throw EdgeError.badRequest(`items[${i}].seed`, `seed + n - 1 must be at most ${MAX_SEED} (seed ${seed}, n ${item.n})`);
        if (prompt === '') throw EdgeError.badRequest(`items[${i}].prompt`, 'is empty once whitespace is removed');
        await model.checkPrompt(item.prompt, `items[${i}].prompt`);
        const keys = Array.from({ length: item.n }, (_, k) => cacheKey({ contentHash: model.contentHash, prompt, seed: seed + k, psi, size }));
        items.push({ prompt: item.prompt, seed, n: item.n, psi, keys });
      }
      const all = items.flatMap((item) => item.keys);
      // One lookup per few thousand keys (the store binds them as one parameter: D1 allows 100 per statement).
      const hits = await runtime.store.cachedEtags(all);
      const ready = items.map((item) => {
        if (!item.keys.every((k) => hits.has(k))) return { ...item, cached: undefined };
        const cached: StoredImage[] = item.keys.map((k, j) => ({ id: k, seed: item.seed + j, etag: hits.get(k)! }));
        return { ...item, cached };
      });
      // One token per batch that has anything to generate; one answered wholly from the cache is free.
      if (ready.some((item) => !item.cached)) await deps.access.admit(c);
      const row = await runtime.store.create({
        id: newBatchId(),
        owner,
        model: model.id,
        items: ready.map(({ keys: _keys, ...item }) => item),
        webhook,
      });
      if (hits.size > 0) deps.store.recordHits([...hits.keys()], defer(c));
      runtime.created(
        row,
        ready.flatMap((item, index) => (item.cached ? [] : [index])),
        defer(c),
      );
      c.header('location', `/v1/batches/${row.id}`);
      return c.json(toBatch(row), 202);
    },
    hook,
  );

  app.openapi(
    getBatchRoute,
    async (c) => {
      const { id } = c.req.valid('param');
      const { after, limit } = c.req.valid('query');
      const row = await runtime.store.get(id, deps.access.scopeOf(c));
      if (!row) throw notFound(id);
      const rows = await runtime.store.items(id, after ?? -1, limit + 1);
      const page = rows.slice(0, limit);
      const hasMore = rows.length > limit;
      return c.json(
        {
          ...toBatch(row),
          items: page.map((item) => itemOf(c, item)),
          has_more: hasMore,
          next_after: hasMore ? page[page.length - 1].index : null,
        },
        200,
      );
    },
    hook,
  );

  app.openapi(
    cancelBatchRoute,
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await runtime.store.cancel(id, deps.access.scopeOf(c));
      if (result.kind === 'not_found') throw notFound(id);
      if (result.kind === 'finished') throw new EdgeError(409, 'batch_finished', `batch ${id} is already ${result.batch.status}`);
      return c.json(toBatch(result.batch), 200);
    },
    hook,
  );

  app.openapi(
    batchEventsRoute,
    async (c) => {
      const { id } = c.req.valid('param');
      const owner = deps.access.scopeOf(c);
      const header = c.req.header('last-event-id');
      const query = c.req.valid('query').last_event_id;
      if (header !== undefined && !/^\d{1,15}$/.test(header.trim()))
        throw EdgeError.badRequest('Last-Event-ID', 'must be an event id (a non-negative integer)');
      const resumeAfter = header !== undefined ? Number(header.trim()) : query;
      const first = await runtime.store.get(id, owner);
      if (!first) throw notFound(id);
      const { pollMs, keepAliveMs } = runtime.sse;
      c.header('cache-control', 'no-store');
      c.header('x-accel-buffering', 'no');
      return streamSSE(
        c,
        async (stream) => {
          let gone = false;
          stream.onAbort(() => {
            gone = true;
          });
          let seq = resumeAfter ?? -1;
          let lastWrite = Date.now();
          if (resumeAfter === undefined) {
            const type = eventTypeOf(first.status);
            await stream.writeSSE({ id: String(first.lastEventSeq), event: type, data: JSON.stringify(toBatch(first)) });
            if (type !== 'progress') return;
            seq = first.lastEventSeq;
          }
          while (!gone) {
            const events = await runtime.store.events(id, seq, 100);
            for (const e of events) {
              await stream.writeSSE({ id: String(e.seq), event: e.type, data: e.data });
              seq = e.seq;
              lastWrite = Date.now();
              if (e.type !== 'progress') return;
            }
            if (events.length > 0) continue;
            // Resumed after the terminal event (or the batch ended with no event past `seq`): nothing more will come.
            const now = await runtime.store.get(id, owner);
            if (!now || ((TERMINAL_BATCH as readonly string[]).includes(now.status) && now.lastEventSeq <= seq)) return;
            if (Date.now() - lastWrite >= keepAliveMs) {
              await stream.write(': keep-alive\n\n');
              lastWrite = Date.now();
            }
            await stream.sleep(pollMs);
          }
        },
        async (err) => {
          deps.log?.(`batch ${id}: event stream failed`, err);
        },
      ) as never;
    },
    hook,
  );

  function itemOf(c: Context, item: BatchItemRow) {
    const images = item.images ? (JSON.parse(item.images) as StoredImage[]) : [];
    return {
      index: item.index,
      prompt: item.prompt,
      seed: item.seed,
      n: item.n,
      truncation_psi: item.psi,
      status: item.status as BatchStatusValue,
      images: images.map((img) => ({ id: img.id, seed: img.seed, url: imageUrl(c, deps, img.id, img.etag) })),
      error: item.error ? (JSON.parse(item.error) as { code: string; message: string }) : null,
    };
  }
}

/** A batch's webhook: its URL checked, its events, and a secret to sign with (the key's, or WEBHOOK_SECRET without a key). */
async function webhookOf(runtime: BatchRuntime, owner: string, webhook: { url: string; events: string[] }) {
  // The webhooks module's policy (any spelling of a non-public address); names are checked again when resolved at send time.
  const checked = checkWebhookUrl(webhook.url, { allowPrivate: runtime.config.webhookAllowPrivate });
  if (!checked.ok) throw EdgeError.badRequest('webhook.url', checked.reason);
  const url = checked.url.toString();
  const secret = owner.startsWith('key:') ? await runtime.store.webhookSecret(owner) : runtime.config.webhookSecret;
  if (!secret) {
    throw EdgeError.badRequest(
      'webhook',
      owner.startsWith('key:')
        ? 'this API key has no webhook secret (keys made before webhooks existed): create a new key to use webhooks'
        : 'webhooks need a signing secret: the gateway has no WEBHOOK_SECRET (or use an API key)',
    );
  }
  return { url, events: [...new Set(webhook.events)] };
}
