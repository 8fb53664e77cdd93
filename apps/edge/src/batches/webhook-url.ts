import { EdgeError } from '../errors.ts';

/** IPv4 ranges no webhook may reach: loopback, RFC 1918, CGNAT, link-local (metadata), unspecified, multicast and reserved. */
const V4_BLOCKED: readonly [number, number][] = [
  [0x00000000, 8],
  [0x0a000000, 8],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
  [0xac100000, 12],
  [0xc0000000, 24],
  [0xc0a80000, 16],
  [0xc6120000, 15],
  [0xe0000000, 4],
  [0xf0000000, 4],
];

function v4Number(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Whether an IP literal (v4, or v6 without brackets) is one no webhook may reach. */
export function blockedAddress(host: string): boolean {
  const v4 = v4Number(host);
  if (v4 !== null) return V4_BLOCKED.some(([base, bits]) => v4 >>> (32 - bits) === base >>> (32 - bits));
  if (!host.includes(':')) return false;
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return blockedAddress(mapped[1]);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(h)) return true; // mapped v4 in hex: refuse rather than decode
  const first = Number.parseInt(h.split(':')[0] || '0', 16);
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

/**
 * Checks a batch's webhook URL when the batch is created: https (http too, and any address, with
 * WEBHOOK_ALLOW_PRIVATE), no credentials, not a loopback, private, link-local or metadata address
 * or name. Names are resolved and checked again when a message is sent (the delivery's
 * connect-time check); this refuses what is wrong on its face. 400 naming webhook.url.
 */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): string {
  const refuse = (why: string) => EdgeError.badRequest('webhook.url', why);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('must be an absolute https URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw refuse(allowPrivate ? 'must be an http(s) URL' : 'must be an https URL');
  }
  if (url.username || url.password) throw refuse('must not hold credentials');
  if (allowPrivate) return url.toString();
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local') || blockedAddress(host)) {
    throw refuse('must not point at a loopback, private, link-local or metadata address');
  }
  return url.toString();
}
