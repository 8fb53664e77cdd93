import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex } from '@noble/hashes/utils';

/** SHA-256 as lowercase hex over one buffer or a sequence of chunks (files over 4 GB come as chunks). */
export function sha256Hex(data: Uint8Array | string | readonly Uint8Array[]): string {
  if (typeof data === 'string') return bytesToHex(sha256(new TextEncoder().encode(data)));
  if (data instanceof Uint8Array) return bytesToHex(sha256(data));
  const h = sha256.create();
  for (const chunk of data) h.update(chunk);
  return bytesToHex(h.digest());
}

/** JSON with object keys sorted at every level, so equal manifests hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
