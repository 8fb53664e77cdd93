/**
 * Verifying the gateway's webhooks in a receiver (Node, Workers, Deno, browsers: WebCrypto only).
 * The algorithm is the gateway's own (apps/edge/src/webhooks/standard-webhooks.ts, a file without
 * imports; the SDK bundles it and nothing else of the gateway: see test/bundle.test.ts).
 */
import {
  verifyWebhook as verifySignature,
  type WebhookBody,
  type WebhookHeaderSource,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from '../../../apps/edge/src/webhooks/standard-webhooks.ts';
import type { Batch, BatchWebhookEvent } from './types.ts';

export { WebhookVerificationError, type WebhookBody, type WebhookHeaderSource, type WebhookVerificationReason };

export interface VerifyWebhookOptions {
  /** Seconds webhook-timestamp may differ from now, either way (default 300: five minutes). */
  readonly toleranceS?: number;
  /** The receiver's clock in ms (tests). */
  readonly now?: number;
}

const TYPES: readonly string[] = ['batch.progress', 'batch.completed', 'batch.failed', 'batch.cancelled'];

/**
 * Checks a webhook request and returns its payload: `secret` the `whsec_...` secret of the API key
 * (or the gateway's WEBHOOK_SECRET), `headers` the request's headers (fetch Headers or Node's
 * req.headers), `rawBody` the body exactly as received (text or bytes; parse nothing first: a
 * re-serialised JSON no longer matches its signature). Rejects with WebhookVerificationError
 * (`reason`: missing_header, invalid_timestamp, timestamp_too_old, timestamp_too_new,
 * invalid_signature, invalid_secret, invalid_payload). Deduplicate on `webhook-id`: a message is
 * retried with the same id until it is answered with a 2xx.
 */
export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaderSource,
  rawBody: WebhookBody,
  options: VerifyWebhookOptions = {},
): Promise<BatchWebhookEvent> {
  await verifySignature({ secret, headers, body: rawBody, toleranceS: options.toleranceS, now: options.now });
  const text = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'the body is signed but is not JSON');
  }
  const p = payload as { type?: unknown; timestamp?: unknown; data?: unknown } | null;
  if (
    !p ||
    typeof p !== 'object' ||
    typeof p.type !== 'string' ||
    !TYPES.includes(p.type) ||
    typeof p.timestamp !== 'string' ||
    !p.data ||
    typeof p.data !== 'object'
  )
    throw new WebhookVerificationError('invalid_payload', 'the body is signed but is not a batch webhook ({ type: "batch.*", timestamp, data })');
  return { type: p.type as BatchWebhookEvent['type'], timestamp: p.timestamp, data: p.data as Batch };
}
