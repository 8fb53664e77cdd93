/**
 * Webhook delivery, runtime-free: what a sender is given and answers, the retry schedule, the
 * message body and headers, and `fetchSender` (Workers, or any runtime with fetch). The Node
 * gateway uses node-sender.ts instead, which also checks what a host name resolves to and pins
 * the connection to the checked address.
 */
import { newWebhookMessageId, signWebhook } from './standard-webhooks.ts';
import { checkWebhookUrl } from './target.ts';

/** Per attempt: the whole exchange (connect, send, status, reading the answer) within this. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** At most this much of a receiver's answer is read; the connection is closed after it. */
export const WEBHOOK_MAX_RESPONSE_BYTES = 65_536;
/** A message body larger than this is not sent (ours are a Batch without its items: about 400 bytes). */
export const WEBHOOK_MAX_BODY_BYTES = 256 * 1024;
/** Attempts per message, the first included; then it is given up. */
export const WEBHOOK_MAX_ATTEMPTS = 6;
/** Delay before attempt 2, 3, ... 6 (before jitter). */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 1_800_000];
/** Each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER], so that failed receivers are not hit in waves. */
export const WEBHOOK_RETRY_JITTER = 0.2;
export const WEBHOOK_USER_AGENT = 'AuroraEdge-Webhooks/1 (+https://www.standardwebhooks.com)';

export interface WebhookDelivery {
  readonly url: string;
  /** The signed headers (webhook-id, webhook-timestamp, webhook-signature) and any others; content-type defaults to JSON. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact body that was signed. */
  readonly body: string;
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** WEBHOOK_ALLOW_PRIVATE=1: any address and http too. */
  readonly allowPrivate?: boolean;
}

/**
 * Why an attempt failed: `refused` (the URL or an address it resolves to is not allowed; the URL
 * is not worth retrying unless DNS changes), `body_too_large` (never worth retrying), `timeout`,
 * `network` (DNS, connect, TLS, reset), `status` (a non-2xx, non-3xx answer), `redirect` (3xx:
 * never followed).
 */
export type WebhookFailure = 'refused' | 'body_too_large' | 'timeout' | 'network' | 'status' | 'redirect';

export interface WebhookDeliveryResult {
  /** True for a 2xx answer. */
  readonly ok: boolean;
  /** The receiver's status, when it answered. */
  readonly status?: number;
  /** What went wrong, for the delivery log (a non-2xx answer's first bytes included). */
  readonly error?: string;
  readonly failure?: WebhookFailure;
  /** Bytes of the answer's body read (at most maxResponseBytes). */
  readonly responseBytes?: number;
}

export type WebhookSender = (delivery: WebhookDelivery) => Promise<WebhookDeliveryResult>;

/** Whether a failed attempt is worth another (refusals and oversized bodies would fail the same way). */
export function isRetryable(result: WebhookDeliveryResult): boolean {
  return !result.ok && result.failure !== 'refused' && result.failure !== 'body_too_large';
}

/**
 * The delay before the next attempt after `attempt` attempts have failed (1 after the first):
 * 5 s, 30 s, 2 min, 10 min, 30 min, each with +-20% jitter; null once WEBHOOK_MAX_ATTEMPTS
 * attempts have been made (give up). `random` in [0, 1) (Math.random by default).
 */
export function nextAttemptDelay(attempt: number, random: () => number = Math.random): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be the number of attempts made (an integer >= 1), got ${attempt}`);
  if (attempt >= WEBHOOK_MAX_ATTEMPTS) return null;
  const base = WEBHOOK_RETRY_DELAYS_MS[attempt - 1];
  return Math.round(base * (1 - WEBHOOK_RETRY_JITTER + 2 * WEBHOOK_RETRY_JITTER * random()));
}

/** The batch events a webhook message is about (the Standard Webhooks `type`). */
export type WebhookEventType = 'batch.progress' | 'batch.completed' | 'batch.failed' | 'batch.cancelled';

/**
 * A message's body: `{ type, timestamp, data }` as the spec recommends, `timestamp` being when
 * the event happened (ISO 8601), which stays the same across retries (webhook-timestamp does not).
 */
export function webhookBody(type: WebhookEventType, data: unknown, occurredAt: number | Date = Date.now()): string {
  return JSON.stringify({ type, timestamp: new Date(occurredAt).toISOString(), data });
}

/**
 * One attempt's headers: signed with the attempt's own time (the receiver's replay window is
 * measured from it), the message id unchanged across attempts so that receivers can deduplicate.
 */
export async function webhookHeaders(options: { secret: string; id: string; body: string; now?: number }): Promise<Record<string, string>> {
  const signed = await signWebhook({ secret: options.secret, id: options.id, timestamp: Math.floor((options.now ?? Date.now()) / 1000), body: options.body });
  return { ...signed, 'content-type': 'application/json', 'user-agent': WEBHOOK_USER_AGENT };
}

/** A new message: its id (kept for every retry) and its body. */
export function newWebhookMessage(type: WebhookEventType, data: unknown, occurredAt?: number | Date): { id: string; body: string } {
  return { id: newWebhookMessageId(), body: webhookBody(type, data, occurredAt) };
}

/** The delivery's limits with defaults, or a failure result when the body is over the bound. */
export function deliveryLimits(d: WebhookDelivery): { timeoutMs: number; maxResponseBytes: number } | WebhookDeliveryResult {
  const bytes = new TextEncoder().encode(d.body).length;
  if (bytes > WEBHOOK_MAX_BODY_BYTES) return { ok: false, failure: 'body_too_large', error: `body is ${bytes} bytes, over ${WEBHOOK_MAX_BODY_BYTES}` };
  return { timeoutMs: d.timeoutMs ?? WEBHOOK_TIMEOUT_MS, maxResponseBytes: d.maxResponseBytes ?? WEBHOOK_MAX_RESPONSE_BYTES };
}

/** The result for a received status: 2xx ok, 3xx a redirect (not followed), anything else a failure with the answer's first bytes. */
export function statusResult(status: number, location: string | null, head: string, responseBytes: number): WebhookDeliveryResult {
  if (status >= 200 && status < 300) return { ok: true, status, responseBytes };
  if (status >= 300 && status < 400)
    return {
      ok: false,
      status,
      responseBytes,
      failure: 'redirect',
      error: `answered ${status}${location ? ` to ${location.slice(0, 200)}` : ''}: redirects are not followed`,
    };
  const snippet = head.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { ok: false, status, responseBytes, failure: 'status', error: `answered ${status}${snippet ? `: ${snippet}` : ''}` };
}

/** How much of a failed answer's body goes into the error text. */
const HEAD_BYTES = 512;

/** Reads at most `max` bytes of a body, then cancels it; resolves with the count and the first bytes as text. */
async function readBounded(body: ReadableStream<Uint8Array> | null, max: number): Promise<{ bytes: number; head: string }> {
  if (!body) return { bytes: 0, head: '' };
  const reader = body.getReader();
  const head = new Uint8Array(Math.min(HEAD_BYTES, max));
  let bytes = 0;
  try {
    while (bytes < max) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = value.subarray(0, max - bytes);
      if (bytes < head.length) head.set(take.subarray(0, head.length - bytes), bytes);
      bytes += take.length;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return { bytes, head: new TextDecoder().decode(head.subarray(0, Math.min(bytes, head.length))) };
}

/**
 * A sender over fetch (Workers; any runtime). It checks the URL itself (scheme, credentials, an IP
 * or localhost host) but cannot see what a host name resolves to: on Workers, fetch reaches the
 * public internet only, never the operator's private network. Redirects are returned, not followed.
 */
export function fetchSender(fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init)): WebhookSender {
  return async (delivery) => {
    const limits = deliveryLimits(delivery);
    if ('ok' in limits) return limits;
    const target = checkWebhookUrl(delivery.url, { allowPrivate: delivery.allowPrivate });
    if (!target.ok) return { ok: false, failure: 'refused', error: `webhook url ${target.reason}` };
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limits.timeoutMs);
    try {
      const res = await fetchFn(target.url.href, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': WEBHOOK_USER_AGENT, ...delivery.headers },
        body: delivery.body,
        redirect: 'manual',
        signal: controller.signal,
      });
      // A browser-style fetch hides a manual redirect as an opaque one (status 0).
      if (res.type === 'opaqueredirect' || res.status === 0)
        return { ok: false, failure: 'redirect', error: 'answered a redirect: redirects are not followed' };
      let read = { bytes: 0, head: '' };
      try {
        read = await readBounded(res.body, limits.maxResponseBytes);
      } catch {
        // The status is what counts; a body cut short (by the timeout, a reset) changes nothing.
      }
      return statusResult(res.status, res.headers.get('location'), read.head, read.bytes);
    } catch (error) {
      if (timedOut) return { ok: false, failure: 'timeout', error: `no answer within ${limits.timeoutMs} ms` };
      return { ok: false, failure: 'network', error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  };
}
