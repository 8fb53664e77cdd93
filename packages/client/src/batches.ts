/**
 * `client.batches`: the batch API (POST /v1/batches, GET /v1/batches/{id}, its event stream and
 * cancel). A batch warms the cache with up to 10,000 images in the background; follow it with
 * `events` (Server-Sent Events, resumed after a dropped connection) or `get`, or let the gateway
 * POST a webhook (verifyWebhook checks it).
 */
import { AuroraApiError } from './errors.ts';
import { parseSse, type SseState } from './sse.ts';
import type { Batch, BatchCreateRequest, BatchCreateResult, BatchEvent, BatchEventType, BatchItem, BatchPage } from './types.ts';

/** What the client lends the batch API: its request function and URL resolution. */
export interface BatchTransport {
  send(method: string, path: string, options: { signal?: AbortSignal }, body?: string, headers?: Record<string, string>): Promise<Response>;
  absolute(url: string): string;
}

export interface BatchCreateOptions {
  /**
   * Idempotency-Key (1..255 printable ASCII characters): sending the same key and body again within
   * 24 h answers the first batch (`replayed: true`) instead of creating a second one.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export interface BatchGetOptions {
  /** Items after this index (the previous page's `next_after`). */
  readonly after?: number;
  /** Items per page, 1..1000 (gateway default 100). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface BatchEventsOptions {
  /** Resume after this event id (an id this stream gave before); omitted: the current state first. */
  readonly lastEventId?: number;
  readonly signal?: AbortSignal;
  /** Reconnections in a row without a new event before giving up (default 10). */
  readonly maxReconnects?: number;
  /** Delay before a reconnection unless the stream set `retry:` (default 1000 ms), doubled per failure in a row up to 30 s. */
  readonly reconnectDelayMs?: number;
}

const BATCH_ID_RE = /^batch_[a-z0-9]{24}$/;
const IDEMPOTENCY_KEY_RE = /^[\x20-\x7e]{1,255}$/;
const EVENT_TYPES: readonly string[] = ['progress', 'completed', 'failed', 'cancelled'] satisfies BatchEventType[];
const TERMINAL: readonly string[] = ['completed', 'failed', 'cancelled'];
const MAX_ITEMS = 10_000;

function checkId(id: string): string {
  if (typeof id !== 'string' || !BATCH_ID_RE.test(id)) throw new TypeError(`id must be a batch id (batch_ and 24 lowercase letters or digits), got "${id}"`);
  return id;
}

function checkIndex(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

export class Batches {
  constructor(private readonly transport: BatchTransport) {}

  /** POST /v1/batches: queues the batch (202). A batch whose images are all cached is `completed` at once. */
  async create(request: BatchCreateRequest, options: BatchCreateOptions = {}): Promise<BatchCreateResult> {
    if (!request || !Array.isArray(request.items)) throw new TypeError('items must be an array of { prompt, seed?, n?, truncation_psi? }');
    if (request.items.length < 1 || request.items.length > MAX_ITEMS)
      throw new RangeError(`items must hold 1..${MAX_ITEMS} entries, got ${request.items.length}`);
    request.items.forEach((item, i) => {
      if (!item || typeof item.prompt !== 'string') throw new TypeError(`items[${i}].prompt must be a string`);
    });
    if (request.webhook != null && typeof request.webhook.url !== 'string') throw new TypeError('webhook.url must be a string');
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) {
      if (typeof options.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_RE.test(options.idempotencyKey))
        throw new TypeError('idempotencyKey must be 1..255 printable ASCII characters');
      headers['idempotency-key'] = options.idempotencyKey;
    }
    const res = await this.transport.send('POST', '/v1/batches', options, JSON.stringify(request), headers);
    const batch = (await res.json()) as Batch;
    return { ...batch, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** GET /v1/batches/{id}: the batch and a page of its items (image URLs made absolute). */
  async get(id: string, options: BatchGetOptions = {}): Promise<BatchPage> {
    checkId(id);
    checkIndex('after', options.after, 0, 999_999);
    checkIndex('limit', options.limit, 1, 1000);
    const q = new URLSearchParams();
    if (options.after !== undefined) q.set('after', String(options.after));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    const res = await this.transport.send('GET', `/v1/batches/${id}${q.size > 0 ? `?${q}` : ''}`, options);
    const page = (await res.json()) as BatchPage;
    return { ...page, items: page.items.map((item) => ({ ...item, images: item.images.map((img) => ({ ...img, url: this.transport.absolute(img.url) })) })) };
  }

  /** Every item of a batch, page after page (1000 a request). */
  async *items(id: string, options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<BatchItem> {
    let after: number | undefined;
    for (;;) {
      const page = await this.get(id, { after, limit: 1000, signal: options.signal });
      yield* page.items;
      if (!page.has_more || page.next_after === null) return;
      after = page.next_after;
    }
  }

  /** POST /v1/batches/{id}/cancel: items not yet run are cancelled; 409 batch_finished when it already ended. */
  async cancel(id: string, options: { readonly signal?: AbortSignal } = {}): Promise<Batch> {
    checkId(id);
    return (await (await this.transport.send('POST', `/v1/batches/${id}/cancel`, options)).json()) as Batch;
  }

  /**
   * GET /v1/batches/{id}/events: the batch's events until its terminal one (completed, failed or
   * cancelled), after which the iteration ends. A connection that drops (or a 5xx/429 answer) is
   * reopened with Last-Event-ID, so no event is missed or repeated; 4xx answers (404, 401) throw
   * AuroraApiError. Resuming after the terminal event itself yields nothing and ends (the batch's
   * status is read to tell that from a dropped stream). Aborting `signal` rejects the iteration
   * with its reason.
   */
  async *events(id: string, options: BatchEventsOptions = {}): AsyncGenerator<BatchEvent> {
    checkId(id);
    checkIndex('lastEventId', options.lastEventId, 0, Number.MAX_SAFE_INTEGER);
    const maxReconnects = options.maxReconnects ?? 10;
    const baseDelay = options.reconnectDelayMs ?? 1000;
    const state: SseState = { lastEventId: options.lastEventId === undefined ? null : String(options.lastEventId), retryMs: null };
    let failures = 0;
    let lastError: unknown = null;
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (state.lastEventId !== null) headers['last-event-id'] = state.lastEventId;
      try {
        const res = await this.transport.send('GET', `/v1/batches/${id}/events`, options, undefined, headers);
        if (!res.body) throw new AuroraApiError(res.status, 'invalid_event_stream', `GET /v1/batches/${id}/events answered without a body`);
        for await (const message of parseSse(res.body, state)) {
          if (!EVENT_TYPES.includes(message.event)) continue; // An event type added later: not ours to interpret.
          const seq = Number(message.id);
          let data: Batch;
          try {
            data = JSON.parse(message.data) as Batch;
          } catch (cause) {
            throw new AuroraApiError(200, 'invalid_event', `batch ${id}: event ${message.id} is not JSON: ${message.data.slice(0, 200)}`, { cause });
          }
          failures = 0;
          yield { id: seq, event: message.event as BatchEventType, data };
          if (TERMINAL.includes(message.event)) return;
        }
        // The stream ended without a terminal event: dropped, or resumed after the terminal event
        // itself (the gateway then has nothing more to send). The batch's status tells which.
        if (state.lastEventId !== null && TERMINAL.includes((await this.get(id, { limit: 1, signal: options.signal })).status)) return;
        lastError = new AuroraApiError(0, 'network_error', `batch ${id}: the event stream ended before the batch did`);
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason ?? error;
        const retryable = !(error instanceof AuroraApiError) || error.status === 0 || error.status === 429 || error.status >= 500;
        if (!retryable) throw error;
        lastError = error;
      }
      failures++;
      if (failures > maxReconnects) {
        if (lastError instanceof AuroraApiError) throw lastError;
        throw new AuroraApiError(0, 'network_error', `batch ${id}: the event stream failed ${failures} times in a row`, { cause: lastError });
      }
      const retryAfter = lastError instanceof AuroraApiError && lastError.retryAfter !== undefined ? lastError.retryAfter * 1000 : null;
      const delay = retryAfter ?? Math.min(30_000, (state.retryMs ?? baseDelay) * 2 ** (failures - 1));
      await sleep(delay, options.signal);
    }
  }
}
