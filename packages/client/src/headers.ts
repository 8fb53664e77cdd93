import type { RateLimitInfo } from './types.ts';

/** Retry-After as seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined);

/**
 * The rate-limit headers of the IETF drafts: separate `RateLimit-Limit/-Remaining/-Reset`
 * (draft 6), one `RateLimit: limit=10, remaining=9, reset=30` (draft 7), or
 * `RateLimit: "policy";r=9;t=30` with `RateLimit-Policy: "policy";q=10;w=60` (draft 8+).
 */
export function parseRateLimit(headers: Headers): RateLimitInfo | null {
  const combined = headers.get('ratelimit');
  if (combined) {
    const params = new Map<string, string>();
    for (const m of combined.matchAll(/(?:^|[;,\s])([a-z]+)=("?)([^",;\s]*)\2/gi)) params.set(m[1].toLowerCase(), m[3]);
    const policy = headers.get('ratelimit-policy')?.match(/[;,\s]q=(\d+)/)?.[1];
    return {
      limit: num(params.get('limit') ?? policy),
      remaining: num(params.get('remaining') ?? params.get('r')),
      reset: num(params.get('reset') ?? params.get('t')),
      raw: combined,
    };
  }
  const limit = headers.get('ratelimit-limit');
  const remaining = headers.get('ratelimit-remaining');
  const reset = headers.get('ratelimit-reset');
  if (limit === null && remaining === null && reset === null) return null;
  return {
    limit: num(limit ?? undefined),
    remaining: num(remaining ?? undefined),
    reset: num(reset ?? undefined),
    raw: [limit, remaining, reset].map((v) => v ?? '').join(', '),
  };
}
