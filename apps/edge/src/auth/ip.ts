/**
 * The client address a per-IP limit counts against. The runtime supplies the address it trusts
 * (Node: the socket's peer; Workers: CF-Connecting-IP, which Cloudflare sets); X-Forwarded-For is
 * read only when TRUST_PROXY says how many proxies of ours append to it.
 */
export function clientAddress(runtimeIp: string | undefined, forwardedFor: string | undefined, trustProxy: number): string {
  if (trustProxy > 0 && forwardedFor) {
    const hops = forwardedFor
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // Each trusted proxy appends the address it saw: the client is trustProxy entries from the right.
    const ip = hops[Math.max(0, hops.length - trustProxy)];
    if (ip) return bucketAddress(ip);
  }
  return runtimeIp ? bucketAddress(runtimeIp) : 'unknown';
}

/**
 * The address as a bucket name: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64
 * prefix, since one subscriber usually holds a whole /64 and could rotate through it.
 */
export function bucketAddress(ip: string): string {
  const text = ip
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped) return mapped[1];
  if (!text.includes(':')) return text;
  const [head, tail = ''] = text.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = text.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
