/**
 * Standard Webhooks signing and verification (apps/edge/src/webhooks/standard-webhooks.ts), against
 * the specification's published test vector and an independent HMAC (node:crypto).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEBHOOK_TOLERANCE_S,
  decodeWebhookSecret,
  generateWebhookSecret,
  newWebhookMessageId,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  webhookSignature,
} from '../src/webhooks/standard-webhooks.ts';

/**
 * The vector of the reference JavaScript library's "sign function works" test:
 * github.com/standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts
 * (the Python, Go, Rust and other libraries of that repository test the same one).
 */
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const AT_VECTOR = VECTOR.timestamp * 1000;

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return (error as WebhookVerificationError).reason;
}

const vectorHeaders = () => ({ 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature });

describe('signWebhook', () => {
  it("matches the Standard Webhooks specification's test vector", async () => {
    expect(await signWebhook(VECTOR)).toEqual(vectorHeaders());
    // The prefix is optional in the reference libraries: the same key without it.
    expect(await webhookSignature({ ...VECTOR, secret: VECTOR.secret.slice('whsec_'.length) })).toBe(VECTOR.signature);
  });

  it('is HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the decoded secret, for any body (bytes or text)', async () => {
    for (const body of ['', '{"type":"batch.completed","data":{"prompt":"caf\u00e9 \u2615"}}', 'x'.repeat(10_000)]) {
      const secret = generateWebhookSecret();
      const key = Buffer.from(secret.slice(6), 'base64');
      const expected = `v1,${createHmac('sha256', key).update(`msg_1.1700000000.${body}`).digest('base64')}`;
      expect(await webhookSignature({ secret, id: 'msg_1', timestamp: 1700000000, body })).toBe(expected);
      expect(await webhookSignature({ secret, id: 'msg_1', timestamp: 1700000000, body: new TextEncoder().encode(body) })).toBe(expected);
    }
  });

  it('refuses ids with "." or spaces and timestamps that are not unix seconds', async () => {
    await expect(webhookSignature({ ...VECTOR, id: 'msg.1' })).rejects.toThrow(/id must be/);
    await expect(webhookSignature({ ...VECTOR, id: '' })).rejects.toThrow(/id must be/);
    await expect(webhookSignature({ ...VECTOR, timestamp: 1.5 })).rejects.toThrow(/timestamp must be unix seconds/);
    await expect(webhookSignature({ ...VECTOR, timestamp: -1 })).rejects.toThrow(/timestamp must be unix seconds/);
  });
});

describe('generateWebhookSecret and message ids', () => {
  it('makes whsec_ + base64 of 24 random bytes, different each time', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(decodeWebhookSecret(a)).toHaveLength(24);
    expect(a).not.toBe(b);
  });

  it('refuses secrets that are not base64 (naming the secret)', () => {
    for (const bad of ['', 'whsec_', 'whsec_not base64!', 'whsec_abc', `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      expect(() => decodeWebhookSecret(bad), bad).toThrow(/secret must be/);
    }
  });

  it('makes msg_ ids of 24 lowercase letters and digits', () => {
    const ids = new Set(Array.from({ length: 200 }, newWebhookMessageId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^msg_[a-z0-9]{24}$/);
  });
});

describe('verifyWebhook', () => {
  it("accepts the specification's vector, as text or bytes, with any header container", async () => {
    expect(await verifyWebhook({ secret: VECTOR.secret, headers: vectorHeaders(), body: VECTOR.body, now: AT_VECTOR })).toEqual({
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
    });
    await verifyWebhook({ secret: VECTOR.secret, headers: new Headers(vectorHeaders()), body: Buffer.from(VECTOR.body), now: AT_VECTOR });
    const capitalised = { 'Webhook-Id': VECTOR.id, 'Webhook-Timestamp': String(VECTOR.timestamp), 'Webhook-Signature': VECTOR.signature };
    await verifyWebhook({ secret: VECTOR.secret, headers: capitalised, body: new TextEncoder().encode(VECTOR.body).buffer, now: AT_VECTOR });
  });

  it('rejects a tampered body, id or timestamp, and another secret', async () => {
    const base = { secret: VECTOR.secret, headers: vectorHeaders(), body: VECTOR.body, now: AT_VECTOR };
    expect(await reason(verifyWebhook({ ...base, body: '{"test": 2432232315}' }))).toBe('invalid_signature');
    expect(await reason(verifyWebhook({ ...base, body: `${VECTOR.body} ` }))).toBe('invalid_signature');
    expect(await reason(verifyWebhook({ ...base, headers: { ...vectorHeaders(), 'webhook-id': 'msg_other' } }))).toBe('invalid_signature');
    expect(await reason(verifyWebhook({ ...base, headers: { ...vectorHeaders(), 'webhook-timestamp': String(VECTOR.timestamp + 1) } }))).toBe(
      'invalid_signature',
    );
    expect(await reason(verifyWebhook({ ...base, secret: generateWebhookSecret() }))).toBe('invalid_signature');
  });

  it('rejects timestamps outside the tolerance either way (5 minutes by default), accepting its edge', async () => {
    const base = { secret: VECTOR.secret, headers: vectorHeaders(), body: VECTOR.body };
    const edge = DEFAULT_WEBHOOK_TOLERANCE_S * 1000;
    await verifyWebhook({ ...base, now: AT_VECTOR + edge });
    await verifyWebhook({ ...base, now: AT_VECTOR - edge });
    expect(await reason(verifyWebhook({ ...base, now: AT_VECTOR + edge + 1000 }))).toBe('timestamp_too_old');
    expect(await reason(verifyWebhook({ ...base, now: AT_VECTOR - edge - 1000 }))).toBe('timestamp_too_new');
    expect(await reason(verifyWebhook({ ...base, now: AT_VECTOR + 60_000, toleranceS: 30 }))).toBe('timestamp_too_old');
    // The default clock is now: the 2021 vector is far too old.
    expect(await reason(verifyWebhook(base))).toBe('timestamp_too_old');
  });

  it('accepts any one of several space-separated signatures (key rotation), and only a v1 one', async () => {
    const other = await webhookSignature({ ...VECTOR, secret: generateWebhookSecret() });
    const sig = (s: string) => ({ secret: VECTOR.secret, headers: { ...vectorHeaders(), 'webhook-signature': s }, body: VECTOR.body, now: AT_VECTOR });
    await verifyWebhook(sig(`${other} ${VECTOR.signature}`));
    await verifyWebhook(sig(`v1a,${VECTOR.signature.slice(3)} garbage v1,!!! ${VECTOR.signature}`));
    expect(await reason(verifyWebhook(sig(other)))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(sig(`v2,${VECTOR.signature.slice(3)}`)))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(sig(VECTOR.signature.slice(3))))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(sig(VECTOR.signature.slice(0, 8))))).toBe('invalid_signature');
    expect(await reason(verifyWebhook(sig('v1,')))).toBe('invalid_signature');
  });

  it('names a missing header and a timestamp that is not a number', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string> = vectorHeaders();
      delete headers[name];
      await expect(verifyWebhook({ secret: VECTOR.secret, headers, body: VECTOR.body, now: AT_VECTOR })).rejects.toThrow(`the ${name} header is missing`);
    }
    const headers = { ...vectorHeaders(), 'webhook-timestamp': 'hello' };
    expect(await reason(verifyWebhook({ secret: VECTOR.secret, headers, body: VECTOR.body, now: AT_VECTOR }))).toBe('invalid_timestamp');
    expect(await reason(verifyWebhook({ secret: 'whsec_%%', headers: vectorHeaders(), body: VECTOR.body, now: AT_VECTOR }))).toBe('invalid_secret');
  });

  it('verifies what signWebhook signs (a round trip with a fresh secret)', async () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'batch.completed', timestamp: new Date().toISOString(), data: { id: 'batch_x' } });
    const headers = await signWebhook({ secret, id: newWebhookMessageId(), timestamp: Math.floor(Date.now() / 1000), body });
    expect((await verifyWebhook({ secret, headers, body })).id).toBe(headers['webhook-id']);
  });
});
