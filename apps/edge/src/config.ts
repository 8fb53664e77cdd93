import type { CacheBound } from './cache/eviction.ts';
import type { RoutingConfig } from './generate/service.ts';
import type { RunnerEndpoint } from './runners/client.ts';

/** Gateway settings shared by every runtime, from string variables (process.env or Worker vars). */
export interface EdgeConfig {
  readonly routing: RoutingConfig;
  readonly runners: RunnerEndpoint[];
  readonly runnerHealthTtlMs: number;
  readonly runnerTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly publicUrl?: string;
  readonly auth: AuthConfig;
  /** The image cache's size bound (least recently used entries are evicted past it; 0: no bound). */
  readonly cache: CacheBound;
  /** Batch jobs (POST /v1/batches): body limit, processing bounds, webhooks. */
  readonly batches: BatchConfig;
}

export interface BatchConfig {
  /** Largest POST /v1/batches body, bytes (BATCH_MAX_BODY_BYTES; other routes keep MAX_BODY_BYTES). */
  readonly maxBodyBytes: number;
  /** Items of one owner (API key, or IP without one) running at once, across gateways (BATCH_CONCURRENCY). */
  readonly perOwner: number;
  /** Items one gateway process runs at once, all owners together (BATCH_MAX_RUNNING; 0: this gateway runs none). */
  readonly maxRunning: number;
  /** How often an idle gateway asks the database for batch work, ms (BATCH_POLL_MS). */
  readonly pollMs: number;
  /** An item's lease, ms: a gateway that dies mid-item gives it back after this (BATCH_LEASE_MS). */
  readonly leaseMs: number;
  /** The webhook secret of callers without an API key (open mode): WEBHOOK_SECRET, "whsec_<base64>". */
  readonly webhookSecret: string | null;
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may go to http:// and to private, loopback and link-local addresses. */
  readonly webhookAllowPrivate: boolean;
}

/**
 * Who may call what. `open`: no key needed (anonymous generation limited per IP); `keys`:
 * generation needs a key, lookups too unless `anonymousLookups`. A key that is sent is always
 * checked (401/403), in either mode.
 */
export interface AuthConfig {
  readonly mode: 'open' | 'keys';
  /** keys mode: GET /v1/cache, /v1/models and /v1/gallery without a key. */
  readonly anonymousLookups: boolean;
  /** Generation requests per minute per client IP without a key (open mode); 0: no limit. */
  readonly anonRpm: number;
  /** Generation requests per minute per client IP with a key, on top of the key's own rpm; 0: off. */
  readonly ipRpm: number;
  /** How many proxies of ours append to X-Forwarded-For (0: ignore the header). */
  readonly trustProxy: number;
  /** Whether GET /v1/gallery lists recent images (their prompts are visible to whoever may look up). */
  readonly gallery: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type EnvVars = Readonly<Record<string, unknown>>;

/** Reads an integer variable; an empty or absent one takes the default. */
export function intVar(env: EnvVars, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    problems.push(`${name}=${JSON.stringify(raw)}: must be an integer in [${min}, ${max}]`);
    return fallback;
  }
  return Number(text);
}

/** Reads a boolean variable (true/1/yes/on, false/0/no/off); an empty or absent one takes the default. */
export function boolVar(env: EnvVars, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const text = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  problems.push(`${name}=${JSON.stringify(raw)}: must be true or false`);
  return fallback;
}

function parseAuth(env: EnvVars, problems: string[]): AuthConfig {
  const mode = String(env.AUTH_MODE ?? '').trim() || 'open';
  if (mode !== 'open' && mode !== 'keys') problems.push(`AUTH_MODE=${JSON.stringify(env.AUTH_MODE)}: must be "open" or "keys"`);
  return {
    mode: mode === 'keys' ? 'keys' : 'open',
    anonymousLookups: boolVar(env, 'ANONYMOUS_LOOKUPS', false, problems),
    anonRpm: intVar(env, 'ANON_RPM', 30, 0, 100_000, problems),
    ipRpm: intVar(env, 'IP_RPM', 0, 0, 100_000, problems),
    trustProxy: intVar(env, 'TRUST_PROXY', 0, 0, 10, problems),
    gallery: boolVar(env, 'GALLERY', true, problems),
  };
}

/** 1 GiB: the default CACHE_MAX_BYTES, a few hundred thousand aurora-tiny images. */
export const DEFAULT_CACHE_MAX_BYTES = 1 << 30;

/**
 * Variables (all optional):
 *   WASM_MAX_BATCH (2)           misses in a batch up to this run in-process, larger go to runners
 *   WASM_FALLBACK_MAX_BATCH (4)  with no healthy runner, batches up to this still run in-process; larger get 503
 *   WASM_MAX_QUEUE (32)          images queued or running in-process at most; past it a runner, else 503 busy
 *   RUNNERS ("")                 comma-separated GPU runner base URLs
 *   RUNNER_SHARED_SECRET         HMAC secret shared with the runners (16+ characters); unset: unsigned requests (Triton behind its own auth)
 *   RUNNER_HEALTH_TTL_MS (5000)  how long a /v2/health/ready verdict stands
 *   RUNNER_TIMEOUT_MS (120000)   one runner call's limit
 *   RETRY_AFTER_S (5)            Retry-After on 503
 *   MAX_BODY_BYTES (16384)       larger request bodies get 413
 *   PUBLIC_URL                   base of image URLs in responses (default: the request's origin)
 *   AUTH_MODE (open)             open: no key needed; keys: generation needs an API key
 *   ANONYMOUS_LOOKUPS (false)    keys mode: GET /v1/cache, /v1/models, /v1/gallery without a key
 *   ANON_RPM (30)                generation requests per minute per IP without a key (0: no limit)
 *   IP_RPM (0)                   generation requests per minute per IP with a key, besides the key's rpm (0: off)
 *   TRUST_PROXY (0)              proxies of ours in front that append to X-Forwarded-For (0: ignore it)
 *   GALLERY (true)               false: GET /v1/gallery answers 404
 *   CACHE_MAX_BYTES (1073741824) image cache bound, sum of PNG bytes (inline or in R2); least recently used evicted past it (0: unbounded)
 *   CACHE_MAX_ENTRIES (0)        image cache bound in entries, besides the bytes (0: unbounded)
 *   BATCH_MAX_BODY_BYTES (4194304) POST /v1/batches body limit
 *   BATCH_CONCURRENCY (2)        batch items per owner running at once (all gateways)
 *   BATCH_MAX_RUNNING (4)        batch items one gateway runs at once (0: none)
 *   BATCH_POLL_MS (250)          idle gateways look for batch work this often
 *   BATCH_LEASE_MS (60000)       a batch item's lease (renewed while it runs)
 *   WEBHOOK_SECRET               "whsec_<base64>": signs webhooks of callers without an API key
 *   WEBHOOK_ALLOW_PRIVATE (false) webhooks may use http:// and private/loopback addresses
 */
export function parseEdgeConfig(env: EnvVars, extraRunners: readonly RunnerEndpoint[] = []): EdgeConfig {
  const problems: string[] = [];
  const wasmMaxBatch = intVar(env, 'WASM_MAX_BATCH', 2, 0, 16, problems);
  const wasmFallbackMaxBatch = Math.max(wasmMaxBatch, intVar(env, 'WASM_FALLBACK_MAX_BATCH', 4, 0, 16, problems));
  const urls = String(env.RUNNERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const secret = String(env.RUNNER_SHARED_SECRET ?? '');
  for (const url of urls) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) problems.push(`RUNNERS: "${url}" is not an http(s) URL`);
  }
  if (urls.length > 0 && secret !== '' && secret.length < 16)
    problems.push('RUNNER_SHARED_SECRET: at least 16 characters (or unset, for runners that take unsigned requests)');
  const publicUrl = env.PUBLIC_URL ? String(env.PUBLIC_URL) : undefined;
  if (publicUrl && !/^https?:\/\//.test(publicUrl)) problems.push(`PUBLIC_URL=${JSON.stringify(publicUrl)}: must be an http(s) URL`);
  const config: EdgeConfig = {
    routing: {
      wasmMaxBatch,
      wasmFallbackMaxBatch,
      // At least one full in-process batch, or WASM_FALLBACK_MAX_BATCH could never run.
      wasmMaxQueue: Math.max(wasmFallbackMaxBatch, intVar(env, 'WASM_MAX_QUEUE', 32, 1, 100_000, problems)),
      retryAfterS: intVar(env, 'RETRY_AFTER_S', 5, 1, 3600, problems),
    },
    runners: [...urls.map((url) => ({ url, secret: secret || null })), ...extraRunners],
    runnerHealthTtlMs: intVar(env, 'RUNNER_HEALTH_TTL_MS', 5_000, 0, 3_600_000, problems),
    runnerTimeoutMs: intVar(env, 'RUNNER_TIMEOUT_MS', 120_000, 100, 3_600_000, problems),
    maxBodyBytes: intVar(env, 'MAX_BODY_BYTES', 16_384, 1_024, 1 << 20, problems),
    publicUrl,
    auth: parseAuth(env, problems),
    cache: {
      maxBytes: intVar(env, 'CACHE_MAX_BYTES', DEFAULT_CACHE_MAX_BYTES, 0, Number.MAX_SAFE_INTEGER, problems),
      maxEntries: intVar(env, 'CACHE_MAX_ENTRIES', 0, 0, Number.MAX_SAFE_INTEGER, problems),
    },
    batches: parseBatches(env, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function parseBatches(env: EnvVars, problems: string[]): BatchConfig {
  const secret = env.WEBHOOK_SECRET ? String(env.WEBHOOK_SECRET).trim() : null;
  if (secret !== null && !/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) problems.push('WEBHOOK_SECRET: must be "whsec_" and base64 (at least 12 bytes)');
  return {
    maxBodyBytes: intVar(env, 'BATCH_MAX_BODY_BYTES', 4 << 20, 1_024, 64 << 20, problems),
    perOwner: intVar(env, 'BATCH_CONCURRENCY', 2, 1, 1_000, problems),
    maxRunning: intVar(env, 'BATCH_MAX_RUNNING', 4, 0, 1_000, problems),
    pollMs: intVar(env, 'BATCH_POLL_MS', 250, 10, 60_000, problems),
    leaseMs: intVar(env, 'BATCH_LEASE_MS', 60_000, 1_000, 3_600_000, problems),
    webhookSecret: secret,
    webhookAllowPrivate: boolVar(env, 'WEBHOOK_ALLOW_PRIVATE', false, problems),
  };
}
