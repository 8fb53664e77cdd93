/**
 * Where webhooks may go (SSRF policy). A webhook URL is the caller's to choose, and the gateway
 * POSTs to it from inside the operator's network, so by default only public unicast addresses are
 * reachable: never loopback, private (RFC 1918), CGNAT, link-local (with the 169.254.169.254
 * metadata service), unique-local, unspecified, multicast, broadcast, documentation or other
 * special-purpose ranges, including the IPv6 forms that embed an IPv4 address (IPv4-mapped
 * ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16). The operator lifts this with
 * WEBHOOK_ALLOW_PRIVATE=1 (which also allows http).
 *
 * Runtime-free (the WHATWG URL parser does the normalising): used at batch creation on both
 * runtimes and by both senders. The Node sender also checks every address a host name resolves to
 * and connects to the one it checked (node-sender.ts).
 */

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'shared (CGNAT)'
  | 'link-local'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'not an IP address';

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** a.b.c.d as an unsigned 32-bit number, or null when it is not four decimal octets. */
function ipv4Number(dotted: string): number | null {
  const m = IPV4_RE.exec(dotted);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

const inV4 = (ip: number, base: string, bits: number): boolean => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ip & mask) >>> 0 === (ipv4Number(base)! & mask) >>> 0;
};

function classifyV4(ip: number): AddressClass {
  if (ip === 0) return 'unspecified';
  if (ip === 0xffffffff) return 'broadcast';
  if (inV4(ip, '127.0.0.0', 8)) return 'loopback';
  if (inV4(ip, '10.0.0.0', 8) || inV4(ip, '172.16.0.0', 12) || inV4(ip, '192.168.0.0', 16)) return 'private';
  if (inV4(ip, '100.64.0.0', 10)) return 'shared (CGNAT)';
  if (inV4(ip, '169.254.0.0', 16)) return 'link-local';
  if (inV4(ip, '224.0.0.0', 4)) return 'multicast';
  if (inV4(ip, '192.0.2.0', 24) || inV4(ip, '198.51.100.0', 24) || inV4(ip, '203.0.113.0', 24)) return 'documentation';
  // "This network" 0/8, IETF protocol assignments 192.0.0/24, the 6to4 relay anycast 192.88.99/24,
  // benchmarking 198.18/15, and the reserved 240/4.
  if (inV4(ip, '0.0.0.0', 8) || inV4(ip, '192.0.0.0', 24) || inV4(ip, '192.88.99.0', 24) || inV4(ip, '198.18.0.0', 15) || inV4(ip, '240.0.0.0', 4))
    return 'reserved';
  return 'public';
}

/** The eight 16-bit groups of a canonical (WHATWG-serialised) IPv6 address, or null. */
function ipv6Groups(canonical: string): number[] | null {
  const halves = canonical.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN)));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

const v4Of = (hi: number, lo: number) => ((hi << 16) | lo) >>> 0;

function classifyV6(g: number[]): AddressClass {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped): the IPv4 address is what a dual-stack socket reaches.
  if (zeroUpTo(5) && g[5] === 0xffff) return classifyV4(v4Of(g[6], g[7]));
  // 64:ff9b::/96 (NAT64, RFC 6052): the translator reaches the embedded IPv4 address.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(v4Of(g[6], g[7]));
  // 64:ff9b:1::/48 (local-use NAT64, RFC 8215): translates into the operator's own IPv4 space.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'private';
  // 2002::/16 (6to4): the relay reaches the IPv4 address in the next 32 bits.
  if (g[0] === 0x2002) return classifyV4(v4Of(g[1], g[2]));
  if ((g[0] & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0] & 0xffc0) === 0xfec0) return 'private'; // site-local, deprecated but still routed inside sites
  if ((g[0] & 0xff00) === 0xff00) return 'multicast';
  if ((g[0] === 0x2001 && g[1] === 0x0db8) || (g[0] & 0xfff0) === 0x3ff0) return 'documentation'; // 2001:db8::/32, 3fff::/20
  // 2001::/23 (IETF protocol assignments: Teredo, benchmarking, ORCHID), and everything outside
  // 2000::/3, the global unicast space (::/96 IPv4-compatible, 100::/64 discard, ...).
  if (g[0] === 0x2001 && g[1] < 0x0200) return 'reserved';
  if ((g[0] & 0xe000) !== 0x2000) return 'reserved';
  return 'public';
}

/**
 * The canonical text of an IP address as a URL parser reads it (so `2130706433`, `0177.0.0.1`,
 * `0x7f.1` and `127.1` are all 127.0.0.1; IPv6 lowercased and compressed, without brackets), or
 * null when `ip` is not an IP address (a host name, garbage).
 */
export function canonicalIp(ip: string): string | null {
  if (typeof ip !== 'string' || ip === '') return null;
  let text = ip.trim();
  if (text.includes(':')) {
    if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
    text = text.replace(/%.*$/, ''); // A zone (fe80::1%eth0) does not change the address's class.
    if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
    try {
      return new URL(`http://[${text}]/`).hostname.slice(1, -1);
    } catch {
      return null;
    }
  }
  // Only the characters of IPv4 spellings, so that a host name is never taken for an address.
  if (!/^[0-9a-fA-FxX.]+$/.test(text)) return null;
  let host: string;
  try {
    host = new URL(`http://${text}/`).hostname;
  } catch {
    return null;
  }
  return ipv4Number(host) === null ? null : host;
}

/** What kind of address `ip` is ('public' for a globally routable unicast address); any spelling canonicalIp reads. */
export function classifyAddress(ip: string): AddressClass {
  const canonical = canonicalIp(ip);
  if (canonical === null) return 'not an IP address';
  if (canonical.includes(':')) {
    const groups = ipv6Groups(canonical);
    return groups ? classifyV6(groups) : 'not an IP address';
  }
  return classifyV4(ipv4Number(canonical)!);
}

/** True only for a globally routable unicast address (false for host names and garbage too). */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

export interface WebhookTargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE=1: any address, and http as well as https. */
  readonly allowPrivate?: boolean;
}

export type WebhookUrlCheck =
  | {
      readonly ok: true;
      readonly url: URL;
      /** The host to resolve, without brackets or a trailing dot. */
      readonly hostname: string;
      /** The canonical address when the URL names an IP address literally; null for a host name. */
      readonly ip: string | null;
    }
  | { readonly ok: false; readonly reason: string };

const ALLOW_HINT = 'webhooks go to public addresses only (the operator can allow others with WEBHOOK_ALLOW_PRIVATE=1)';

/** Why an address is refused, or null when the policy lets it through. */
export function refuseAddress(ip: string, policy: WebhookTargetPolicy = {}): string | null {
  const kind = classifyAddress(ip);
  if (kind === 'public' || (policy.allowPrivate && kind !== 'not an IP address')) return null;
  return kind === 'not an IP address' ? `"${ip}" is not an IP address` : `${ip} is a ${kind} address: ${ALLOW_HINT}`;
}

/**
 * The checks a webhook URL must pass before anything is sent (and when a batch is created): an
 * absolute https URL (http too with allowPrivate), without user name or password, whose host, when
 * it is an IP address (in any spelling) or a `localhost` name, is public. Any port. A host name is
 * accepted here; the Node sender checks what it resolves to.
 */
export function checkWebhookUrl(url: string, policy: WebhookTargetPolicy = {}): WebhookUrlCheck {
  if (typeof url !== 'string' || url.trim() === '') return { ok: false, reason: 'must be an absolute https URL' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `must be an absolute https URL, got "${url.slice(0, 200)}"` };
  }
  if (parsed.protocol !== 'https:' && !(policy.allowPrivate && parsed.protocol === 'http:'))
    return {
      ok: false,
      reason: policy.allowPrivate
        ? `must be an http(s) URL, got ${parsed.protocol}`
        : `must be an https URL, got ${parsed.protocol} (http only with WEBHOOK_ALLOW_PRIVATE=1)`,
    };
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, reason: 'must not contain a user name or password' };
  let hostname = parsed.hostname;
  if (hostname.startsWith('[')) hostname = hostname.slice(1, -1);
  hostname = hostname.replace(/\.$/, '');
  if (hostname === '') return { ok: false, reason: 'must name a host' };
  const ip = canonicalIp(hostname);
  if (ip !== null) {
    const refused = refuseAddress(ip, policy);
    return refused ? { ok: false, reason: refused } : { ok: true, url: parsed, hostname: ip, ip };
  }
  // RFC 6761: localhost and its subdomains are loopback whatever DNS says (Workers cannot resolve to check).
  if (!policy.allowPrivate && (hostname === 'localhost' || hostname.endsWith('.localhost')))
    return { ok: false, reason: `${hostname} is a loopback name: ${ALLOW_HINT}` };
  return { ok: true, url: parsed, hostname, ip: null };
}
