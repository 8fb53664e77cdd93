/**
 * The SDK's verifyWebhook: what a receiver of the gateway's webhooks calls. Messages are made by the
 * gateway's own signing code (apps/edge/src/webhooks), so the two sides are checked against each
 * other, and the signature against the Standard Webhooks specification's vector.
 */
import { describe, expect, it } from 'vitest';
import { webhookBody, webhookHeaders } from '../../../apps/edge/src/webhooks/deliver.ts';
import { generateWebhookSecret, signWebhook } from '../../../apps/edge/src/webhooks/standard-webhooks.ts';
import { type Batch, verifyWebhook, WebhookVerificationError } from '../src/index.ts';

const batch: Batch = {
  id: 'batch_0123456789abcdefghijklmn',
  object: 'batch',
  status: 'completed',
  model: 'aurora-tiny',
  total: 8,
  done: 7,
  failed: 1,
  cancelled: 0,
  created: 1_700_000_000,
  finished: 1_700_000_060,
  webhook: { url: 'https://shop.example/hooks/aurora', events: ['completed'] },
};

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return (error as WebhookVerificationError).reason;
}

describe('verifyWebhook (SDK)', () => {
  it("returns the payload of a message the gateway signed, from Headers or Node's req.headers, text or bytes", async () => {
    const secret = generateWebhookSecret();
    const body = webhookBody('batch.completed', batch, Date.UTC(2026, 11, 4, 19));
    const headers = await webhookHeaders({ secret, id: 'msg_abc', body });
    const expected = { type: 'batch.completed', timestamp: '2026-12-04T19:00:00.000Z', data: batch };
    expect(await verifyWebhook(secret, new Headers(headers), body)).toEqual(expected);
    // Node's IncomingHttpHeaders: lowercase names, values possibly string arrays.
    const nodeHeaders: Record<string, string | string[]> = { ...headers, 'webhook-signature': [headers['webhook-signature']] };
    expect(await verifyWebhook(secret, nodeHeaders, Buffer.from(body))).toEqual(expected);
  });

  it('throws a typed error for a tampered body, another secret, an old message or a missing header', async () => {
    const secret = generateWebhookSecret();
    const body = webhookBody('batch.progress', { ...batch, status: 'running' });
    const headers = await webhookHeaders({ secret, id: 'msg_abc', body });
    expect(await reason(verifyWebhook(secret, headers, body.replace('"done":7', '"done":8')))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(generateWebhookSecret(), headers, body))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(secret, headers, body, { now: Date.now() + 301_000 }))).toBe('timestamp_too_old');
    expect(await verifyWebhook(secret, headers, body, { now: Date.now() + 301_000, toleranceS: 600 })).toMatchObject({ type: 'batch.progress' });
    const { 'webhook-signature': _, ...unsigned } = headers;
    expect(await reason(verifyWebhook(secret, unsigned, body))).toBe('missing_header');
  });

  it('accepts the specification vector signature but refuses its payload, which is not a batch webhook', async () => {
    // github.com/standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts ("sign function works").
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const error = await verifyWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', headers, '{"test": 2432232314}', { now: 1614265330_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect([error.reason, error.message]).toEqual(['invalid_payload', 'the body is signed but is not a batch webhook ({ type: "batch.*", timestamp, data })']);
  });

  it('refuses a signed body that is not JSON', async () => {
    const secret = generateWebhookSecret();
    const headers = await signWebhook({ secret, id: 'msg_1', timestamp: Math.floor(Date.now() / 1000), body: 'not json' });
    expect(await reason(verifyWebhook(secret, headers, 'not json'))).toBe('invalid_payload');
  });
});
