/**
 * Gateway -> runner authentication: HMAC-SHA256 over the timestamp, a random nonce, method, path
 * and body, with a shared secret. A signature older than the allowed skew is rejected, so a
 * captured request cannot be replayed later; within the window a ReplayGuard (below) rejects a
 * signature it has already accepted, and the nonce keeps two identical honest requests signed in
 * the same millisecond apart. WebCrypto only: runs on Node, Workers and browsers.
 */
export const TIMESTAMP_HEADER = 'x-aurora-timestamp';
export const NONCE_HEADER = 'x-aurora-nonce';
export const SIGNATURE_HEADER = 'x-aurora-signature';
export const MAX_SKEW_MS = 60_000;

const encoder = new TextEncoder();

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

function payload(timestamp: string, nonce: string, method: string, path: string, body: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${timestamp}\n${nonce}\n${method.toUpperCase()}\n${path}\n`);
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
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)).buffer);
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), payload(timestamp, nonce, method, path, body));
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: toHex(signature) };
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a request's signature headers; constant-time through WebCrypto's verify. */
export async function verifyRequest(
  secret: string,
  method: string,
  path: string,
  body: Uint8Array | string,
  headers: { timestamp: string | null | undefined; nonce: string | null | undefined; signature: string | null | undefined },
  now = Date.now(),
  replay?: ReplayGuard,
): Promise<VerifyResult> {
  if (!headers.timestamp || !headers.nonce || !headers.signature)
    return { ok: false, reason: `missing ${TIMESTAMP_HEADER}, ${NONCE_HEADER} or ${SIGNATURE_HEADER} header` };
  if (!/^\d{1,16}$/.test(headers.timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be unix milliseconds` };
  if (!/^[0-9a-f]{32}$/.test(headers.nonce)) return { ok: false, reason: `${NONCE_HEADER} must be 32 lower-case hex digits` };
  const timestamp = Number(headers.timestamp);
  if (Math.abs(now - timestamp) > MAX_SKEW_MS) return { ok: false, reason: 'signature timestamp outside the allowed clock skew' };
  const signature = fromHex(headers.signature.toLowerCase());
  if (!signature) return { ok: false, reason: `${SIGNATURE_HEADER} must be 64 hex digits` };
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, payload(headers.timestamp, headers.nonce, method, path, body));
  if (!valid) return { ok: false, reason: 'bad signature' };
  // Recorded only once verified: requests without the secret cannot fill the guard.
  if (replay && !replay.admit(headers.signature.toLowerCase(), timestamp, now)) return { ok: false, reason: 'signature already used (replayed request)' };
  return { ok: true };
}

/**
 * The signatures accepted within the last MAX_SKEW_MS, so a captured request cannot be sent again
 * while its timestamp is still fresh. Memory is bounded: at `maxEntries` the oldest entry is
 * dropped and the guard refuses every timestamp up to that entry's from then on, so a dropped
 * signature can never come back (an honest request that old is refused as a replay would be;
 * at the default bound that takes over 800 signed requests a second). Entries past the window are
 * dropped the same way, which also keeps a clock that steps back from re-opening them.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  /** Timestamps at or below this are refused: some signature that old is no longer remembered. */
  private floor = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxEntries = 50_000) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records a verified signature; false if it was accepted before, or is too old to tell. */
  admit(signature: string, timestampMs: number, now = Date.now()): boolean {
    for (const [key, ts] of this.seen) {
      // Map order is arrival order, close to timestamp order: stop at the first entry still fresh.
      if (ts + MAX_SKEW_MS >= now && this.seen.size < this.maxEntries) break;
      this.forget(key, ts);
    }
    if (timestampMs <= this.floor || this.seen.has(signature)) return false;
    this.seen.set(signature, timestampMs);
    return true;
  }

  private forget(key: string, ts: number): void {
    this.seen.delete(key);
    this.floor = Math.max(this.floor, ts);
  }
}
