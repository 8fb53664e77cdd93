/**
 * Gateway -> runner authentication: HMAC-SHA256 over the timestamp, method, path and body, with
 * a shared secret. A signature older than the allowed skew is rejected, so a captured request
 * cannot be replayed later. WebCrypto only: runs on Node, Workers and browsers.
 */
export const TIMESTAMP_HEADER = 'x-aurora-timestamp';
export const SIGNATURE_HEADER = 'x-aurora-signature';
export const MAX_SKEW_MS = 60_000;

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

function payload(timestamp: string, method: string, path: string, body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${timestamp}\n${method.toUpperCase()}\n${path}\n`);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

const toHex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[0-9a-f]{64}$/.test(hex)) return null;
  return Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** Headers to add to a request (`path` includes the query string, if any). */
export async function signRequest(secret: string, method: string, path: string, body: Uint8Array | string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(now);
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), payload(timestamp, method, path, body));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: toHex(signature) };
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a request's signature headers; constant-time through WebCrypto's verify. */
export async function verifyRequest(
  secret: string,
  method: string,
  path: string,
  body: Uint8Array | string,
  headers: { timestamp: string | null | undefined; signature: string | null | undefined },
  now = Date.now(),
): Promise<VerifyResult> {
  if (!headers.timestamp || !headers.signature) return { ok: false, reason: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header` };
  if (!/^\d{1,16}$/.test(headers.timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be unix milliseconds` };
  if (Math.abs(now - Number(headers.timestamp)) > MAX_SKEW_MS) return { ok: false, reason: 'signature timestamp outside the allowed clock skew' };
  const signature = fromHex(headers.signature.toLowerCase());
  if (!signature) return { ok: false, reason: `${SIGNATURE_HEADER} must be 64 hex digits` };
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, payload(headers.timestamp, method, path, body));
  return valid ? { ok: true } : { ok: false, reason: 'bad signature' };
}
