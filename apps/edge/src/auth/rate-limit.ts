import { eq, lt, sql } from 'drizzle-orm';
import type { CacheDb } from '../cache/db.ts';
import { type Dialect, sqliteDialect } from '../cache/dialect.ts';

/** One limit: a bucket of `rpm` tokens that refills at rpm per minute; `policy` names it in the RateLimit headers. */
export interface Limit {
  readonly bucket: string;
  readonly rpm: number;
  readonly policy: string;
}

export interface LimitDecision {
  readonly allowed: boolean;
  readonly policy: string;
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /**
   * Seconds until the bucket is full again, allowed or refused: the RateLimit header's `t` (the
   * IETF draft's reset, when the quota is whole again) means one thing on a 200 and on a 429.
   */
  readonly resetS: number;
  /** Seconds to wait before retrying; 0 when allowed. */
  readonly retryAfterS: number;
}

const WINDOW_MS = 60_000;

/**
 * Token buckets in the database, so every process and isolate shares them: SQLite on Node, D1 on
 * Workers. A take is ONE statement, an upsert whose update runs only when the refilled bucket
 * holds the cost (`ON CONFLICT DO UPDATE ... WHERE`), so concurrent requests can never spend the
 * same token on either runtime. Refill is computed from `updated_at`; a refused take writes nothing.
 */
export class RateLimiter {
  private lastPrune = 0;

  constructor(
    private readonly db: CacheDb,
    private readonly now: () => number = Date.now,
    private readonly dialect: Dialect = sqliteDialect,
  ) {}

  async take(limit: Limit, cost = 1): Promise<LimitDecision> {
    const now = this.now();
    const { bucket, rpm, policy } = limit;
    const perMs = rpm / WINDOW_MS;
    const d = this.dialect;
    const { rateLimits } = d.tables;
    const refilled = d.min(d.float(rpm), sql`${rateLimits.tokens} + ${d.max(sql`0`, sql`${d.int(now)} - ${rateLimits.updatedAt}`)} * ${d.float(perMs)}`);
    const [row] = await this.db
      .insert(rateLimits)
      .values({ bucket, tokens: rpm - cost, updatedAt: now })
      .onConflictDoUpdate({
        target: rateLimits.bucket,
        set: { tokens: sql`${refilled} - ${d.float(cost)}`, updatedAt: now },
        setWhere: sql`${refilled} >= ${d.float(cost)}`,
      })
      .returning({ tokens: rateLimits.tokens });
    if (row && cost <= rpm) {
      return { allowed: true, policy, limit: rpm, remaining: Math.floor(row.tokens), resetS: Math.ceil((rpm - row.tokens) / perMs / 1000), retryAfterS: 0 };
    }
    // Refused: read the bucket (no write) to say when it will hold the cost again.
    const [current] = await this.db.select().from(rateLimits).where(eq(rateLimits.bucket, bucket));
    const tokens = current ? Math.min(rpm, current.tokens + Math.max(0, now - current.updatedAt) * perMs) : rpm;
    const wait = Math.max(1, Math.ceil((cost - tokens) / perMs / 1000));
    const untilFull = Math.max(wait, Math.ceil((rpm - tokens) / perMs / 1000));
    return { allowed: false, policy, limit: rpm, remaining: Math.floor(tokens), resetS: untilFull, retryAfterS: wait };
  }

  /**
   * Deletes buckets untouched for a minute: they are full again, exactly as if absent. Runs at
   * most every `everyMs` (work handed to `defer`, ctx.waitUntil on Workers).
   */
  prune(defer: (work: Promise<unknown>) => void, everyMs = 600_000): void {
    const now = this.now();
    if (now - this.lastPrune < everyMs) return;
    const { rateLimits } = this.dialect.tables;
    this.lastPrune = now;
    defer(Promise.resolve(this.db.delete(rateLimits).where(lt(rateLimits.updatedAt, now - WINDOW_MS))));
  }
}

/**
 * RateLimit headers: the IETF draft's structured `RateLimit` / `RateLimit-Policy` (`t`: seconds until
 * the bucket is full again, on every answer), mirrored as `RateLimit-Limit/-Remaining/-Reset`. A
 * refusal's "when may I retry" is Retry-After (set by the caller), not `t`.
 */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  return {
    'ratelimit-policy': `"${d.policy}";q=${d.limit};w=60`,
    ratelimit: `"${d.policy}";r=${d.remaining};t=${d.resetS}`,
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(d.resetS),
  };
}
