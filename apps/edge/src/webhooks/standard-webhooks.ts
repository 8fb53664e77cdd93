/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec/standard-webhooks.md),
 * symmetric scheme only: `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
 * keyed with the base64-decoded part of a `whsec_` secret.
 *
 * Runtime-free: WebCrypto (crypto.subtle, crypto.getRandomValues), TextEncoder, atob/btoa and
 * nothing else, so the same file signs in the gateway on Node and Workers and verifies in the SDK
 * (packages/client re-exports verification from here; it imports nothing else of the gateway).
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Random bytes in a secret we generate (the spec's minimum, 192 bits). */
export const WEBHOOK_SECRET_BYTES = 24;
/** How far a message's webhook-timestamp may be from the receiver's clock (either way), in seconds. */
export const DEFAULT_WEBHOOK_TOLERANCE_S = 5 * 60;

/**
 * The three headers of a signed message (names lowercase, as HTTP/2 and fetch's Headers give them).
 * A type, not an interface, so that it is a WebhookHeaderSource as it is.
 */
export type WebhookHeaders = {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
};

/** A body as received: the exact bytes (or their UTF-8 text) that were signed, before any JSON parsing. */
export type WebhookBody = string | Uint8Array | ArrayBuffer;

/** Headers in any of the shapes receivers have them: fetch's Headers, Node's IncomingHttpHeaders, a plain object. */
export type WebhookHeaderSource = Headers | { readonly [name: string]: string | readonly string[] | undefined };

export type WebhookVerificationReason =
  | 'missing_header'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_signature'
  | 'invalid_secret'
  /** Signed correctly, but not the payload the receiver expects (the SDK's verifyWebhook checks the shape). */
  | 'invalid_payload';

/** Why a message was not accepted; `reason` is machine-readable, the message names the header or argument. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  // Standard alphabet with padding, as the spec and its libraries write secrets and signatures.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A new secret: `whsec_` and the base64 of 24 random bytes (as the spec recommends: at least 24, at most 64). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(WEBHOOK_SECRET_BYTES)));
}

/**
 * The key bytes of a secret: the base64 after `whsec_` (the prefix is optional, as in the official
 * libraries). Throws WebhookVerificationError('invalid_secret') for anything else, naming `secret`.
 */
export function decodeWebhookSecret(secret: string): Uint8Array<ArrayBuffer> {
  if (typeof secret !== 'string' || secret === '') throw new WebhookVerificationError('invalid_secret', 'secret must be a non-empty "whsec_<base64>" string');
  const b64 = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  const key = fromBase64(b64);
  if (!key || key.length === 0 || key.length > 64)
    throw new WebhookVerificationError('invalid_secret', 'secret must be "whsec_" followed by the base64 of 1..64 bytes (as the gateway prints it)');
  return key;
}

/** A new message id: `msg_` and 24 random lowercase letters and digits (no `.`, as the spec requires of ids). */
export function newWebhookMessageId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'msg_';
  while (id.length < 28) {
    // Bytes at or above 252 (= 7 * 36) are dropped so that every character is equally likely.
    for (const b of crypto.getRandomValues(new Uint8Array(32))) if (b < 252 && id.length < 28) id += alphabet[b % 36];
  }
  return id;
}

function bodyBytes(body: WebhookBody): Uint8Array {
  if (typeof body === 'string') return encoder.encode(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (Object.prototype.toString.call(body) === '[object ArrayBuffer]') return new Uint8Array(body);
  throw new TypeError('body must be the raw body: a string, Uint8Array or ArrayBuffer (not parsed JSON)');
}

async function hmac(key: Uint8Array<ArrayBuffer>, id: string, timestamp: string, body: Uint8Array): Promise<Uint8Array> {
  const head = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(head.length + body.length);
  content.set(head);
  content.set(body, head.length);
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, content));
}

function checkIdAndTimestamp(id: string, timestamp: number): void {
  if (typeof id !== 'string' || id === '' || id.includes('.') || /\s/.test(id))
    throw new TypeError(`id must be a non-empty string without "." or spaces, got "${id}"`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new TypeError(`timestamp must be unix seconds (a non-negative integer), got ${timestamp}`);
}

/** The `v1,<base64>` signature of one message. */
export async function webhookSignature(options: { secret: string; id: string; timestamp: number; body: WebhookBody }): Promise<string> {
  checkIdAndTimestamp(options.id, options.timestamp);
  const key = decodeWebhookSecret(options.secret);
  return `v1,${toBase64(await hmac(key, options.id, String(options.timestamp), bodyBytes(options.body)))}`;
}

/** The headers of one signed message: webhook-id, webhook-timestamp (unix seconds) and webhook-signature. */
export async function signWebhook(options: { secret: string; id: string; timestamp: number; body: WebhookBody }): Promise<WebhookHeaders> {
  return {
    'webhook-id': options.id,
    'webhook-timestamp': String(options.timestamp),
    'webhook-signature': await webhookSignature(options),
  };
}

function header(headers: WebhookHeaderSource, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const plain = headers as { readonly [name: string]: string | readonly string[] | undefined };
  let value = plain[name];
  if (value === undefined) {
    // Plain objects may keep the sender's capitalisation (Webhook-Id).
    const key = Object.keys(plain).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : plain[key];
  }
  if (Array.isArray(value)) return value.join(' ');
  return value as string | undefined;
}

/** Compares without an early exit, so the time taken says nothing about where two MACs differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export interface VerifyWebhookOptions {
  /** The `whsec_...` secret the messages are signed with. */
  readonly secret: string;
  readonly headers: WebhookHeaderSource;
  /** The raw body exactly as received. */
  readonly body: WebhookBody;
  /** Seconds webhook-timestamp may differ from now, either way (default 300). */
  readonly toleranceS?: number;
  /** The receiver's clock, in ms (for tests). */
  readonly now?: number;
}

/**
 * Checks one received message: the three headers are present, webhook-timestamp is within the
 * tolerance of now (replays of old messages fail), and one of the space-separated `v1,` signatures
 * in webhook-signature (several during a key rotation) is the HMAC of this id, timestamp and body.
 * Resolves with the message's id and timestamp; rejects with WebhookVerificationError.
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<{ id: string; timestamp: number }> {
  const { secret, headers, body, toleranceS = DEFAULT_WEBHOOK_TOLERANCE_S, now = Date.now() } = options;
  if (!(Number.isFinite(toleranceS) && toleranceS >= 0)) throw new TypeError(`toleranceS must be a non-negative number of seconds, got ${toleranceS}`);
  const key = decodeWebhookSecret(secret);
  if (!headers || typeof headers !== 'object') throw new TypeError('headers must be the request headers (Headers or an object)');
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  for (const [name, value] of [
    ['webhook-id', id],
    ['webhook-timestamp', ts],
    ['webhook-signature', signatures],
  ] as const) {
    if (!value) throw new WebhookVerificationError('missing_header', `the ${name} header is missing`);
  }
  if (!/^\d{1,15}$/.test(ts!)) throw new WebhookVerificationError('invalid_timestamp', `webhook-timestamp must be unix seconds, got "${ts}"`);
  const timestamp = Number(ts);
  const nowS = Math.floor(now / 1000);
  if (timestamp < nowS - toleranceS) throw new WebhookVerificationError('timestamp_too_old', `webhook-timestamp ${timestamp} is more than ${toleranceS} s old`);
  if (timestamp > nowS + toleranceS)
    throw new WebhookVerificationError('timestamp_too_new', `webhook-timestamp ${timestamp} is more than ${toleranceS} s in the future`);
  const expected = await hmac(key, id!, ts!, bodyBytes(body));
  let matched = false;
  for (const part of signatures!.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue; // Another scheme (v1a) or version: not ours to check.
    const candidate = fromBase64(part.slice(comma + 1));
    // No early exit on a match: each candidate costs the same whichever one matches.
    if (candidate && constantTimeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('invalid_signature', 'no webhook-signature matches this secret, id, timestamp and body');
  return { id: id!, timestamp };
}
