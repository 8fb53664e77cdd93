import type { Context, MiddlewareHandler } from 'hono';
import type { AuthConfig } from '../config.ts';
import { EdgeError } from '../errors.ts';
import { clientAddress } from './ip.ts';
import { type ApiKey, type KeyStore, SECRET_RE, originAllowed } from './keys.ts';
import { type Limit, type LimitDecision, type RateLimiter, rateLimitHeaders } from './rate-limit.ts';

/** Who is calling, as the guard found it: set on the context for the route handler. */
export interface Caller {
  readonly key: ApiKey | null;
}

declare module 'hono' {
  interface ContextVariableMap {
    caller: Caller;
  }
}

/** Work after the response: ctx.waitUntil where the runtime gave a context, else just caught. */
function background(c: Context, work: Promise<unknown>): void {
  const caught = work.catch(() => undefined);
  try {
    c.executionCtx.waitUntil(caught);
  } catch {
    // No ExecutionContext (an embedder calling app.fetch(request) alone): the promise still runs.
  }
}

/** `generate`: POST /v1/images/generations; `lookup`: GET /v1/cache, /v1/models, /v1/gallery. */
export type AccessKind = 'generate' | 'lookup';

const CHALLENGE = 'Bearer realm="aurora-edge"';
const unauthorized = (code: string, message: string) =>
  new EdgeError(401, code, message, { headers: { 'www-authenticate': code === 'api_key_required' ? CHALLENGE : `${CHALLENGE}, error="invalid_token"` } });

/**
 * API keys, origin allowlists and rate limits, the same on every runtime. The runtime entry
 * supplies only the address it trusts for a request (`runtimeIp`).
 */
export class AccessControl {
  constructor(
    readonly config: AuthConfig,
    readonly keys: KeyStore,
    readonly limiter: RateLimiter,
    private readonly runtimeIp: (c: Context) => string | undefined = () => undefined,
    private readonly publicUrl?: string,
  ) {}

  /**
   * Middleware for one kind of route: a key that is sent must be valid, unrevoked and allowed
   * from the page's Origin (401 / 403, in every mode; in open mode a bearer token not shaped like
   * our keys is ignored); in keys mode a key is required for generation, and for lookups unless
   * anonymous lookups are on.
   */
  guard(kind: AccessKind): MiddlewareHandler {
    return async (c, next) => {
      const key = await this.authenticate(c);
      if (!key && this.config.mode === 'keys' && (kind === 'generate' || !this.config.anonymousLookups)) {
        throw unauthorized(
          'api_key_required',
          `this gateway needs an API key for ${kind === 'generate' ? 'generation' : 'this request'}: send "Authorization: Bearer ak_..."`,
        );
      }
      c.set('caller', { key });
      await next();
    };
  }

  private async authenticate(c: Context): Promise<ApiKey | null> {
    const header = c.req.header('authorization');
    if (header === undefined) return null;
    const secret = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
    // Open mode: a bearer token that is not one of our keys is a client's placeholder (OpenAI's
    // SDKs must send some apiKey), so the call is anonymous. Anything shaped like our key is
    // checked: a revoked or mistyped key must not quietly fall back to the anonymous limits.
    if (this.config.mode === 'open' && !(secret && SECRET_RE.test(secret))) return null;
    if (!secret) throw unauthorized('invalid_api_key', 'send the API key as "Authorization: Bearer ak_..."');
    const key = await this.keys.find(secret);
    if (!key) throw unauthorized('invalid_api_key', 'unknown API key');
    if (key.revokedAt !== null) throw unauthorized('api_key_revoked', `API key ${key.id} was revoked`);
    const origin = c.req.header('origin');
    // Browsers always send Origin on cross-origin calls; servers send none and are not restricted.
    if (origin !== undefined && !originAllowed(key, origin) && !this.isOwnOrigin(c, origin)) {
      throw new EdgeError(403, 'origin_not_allowed', `this API key may not be used from ${origin}`);
    }
    return key;
  }

  /**
   * The gateway's own pages (the demo at /) may use any key. Its origin is PUBLIC_URL's when that
   * is set, and only then: behind a proxy the Host header is whatever the client sent, so a page
   * served from any name that reaches the gateway would count as its own.
   */
  private isOwnOrigin(c: Context, origin: string): boolean {
    return origin === (this.publicUrl !== undefined ? new URL(this.publicUrl).origin : new URL(c.req.url).origin);
  }

  /** Whose Idempotency-Key a request uses (api/idempotency.ts): its API key's, else its client address's (as the per-IP limits see it). */
  scopeOf(c: Context, caller: Caller = c.get('caller') ?? { key: null }): string {
    if (caller.key) return `key:${caller.key.id}`;
    return `ip:${clientAddress(this.runtimeIp(c), c.req.header('x-forwarded-for'), this.config.trustProxy)}`;
  }

  /** The limits a generation request counts against: the key's rpm (and IP_RPM per IP), or ANON_RPM per IP. */
  limitsFor(c: Context, caller: Caller): Limit[] {
    const { anonRpm, ipRpm, trustProxy } = this.config;
    const ip = clientAddress(this.runtimeIp(c), c.req.header('x-forwarded-for'), trustProxy);
    if (!caller.key) return anonRpm > 0 ? [{ bucket: `anon:${ip}`, rpm: anonRpm, policy: 'anonymous' }] : [];
    return [...(ipRpm > 0 ? [{ bucket: `ip:${ip}`, rpm: ipRpm, policy: 'ip' }] : []), { bucket: `key:${caller.key.id}`, rpm: caller.key.rpm, policy: 'key' }];
  }

  /**
   * Spends one token of each of the caller's buckets for a request that must generate (cache
   * hits are free, so this is called only when something is missing); 429 with Retry-After when
   * one is empty. The RateLimit headers describe the tightest bucket.
   */
  async admit(c: Context, caller: Caller = c.get('caller') ?? { key: null }): Promise<void> {
    const limits = this.limitsFor(c, caller);
    if (limits.length === 0) return;
    this.limiter.prune((work) => background(c, work));
    let tightest: LimitDecision | null = null;
    for (const limit of limits) {
      const d = await this.limiter.take(limit);
      if (!d.allowed) {
        const whose = { key: 'this API key', ip: 'this IP address', anonymous: 'requests without an API key from this IP address' }[d.policy];
        throw new EdgeError(429, 'rate_limited', `rate limit reached: ${d.limit} generation requests per minute for ${whose}`, {
          headers: { 'retry-after': String(d.retryAfterS), ...rateLimitHeaders(d) },
        });
      }
      if (!tightest || d.remaining < tightest.remaining) tightest = d;
    }
    for (const [name, value] of Object.entries(rateLimitHeaders(tightest!))) c.header(name, value);
  }
}
