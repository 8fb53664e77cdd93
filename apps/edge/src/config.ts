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

/**
 * Variables (all optional):
 *   WASM_MAX_BATCH (2)           misses in a batch up to this run in-process, larger go to runners
 *   WASM_FALLBACK_MAX_BATCH (4)  with no healthy runner, batches up to this still run in-process; larger get 503
 *   RUNNERS ("")                 comma-separated GPU runner base URLs
 *   RUNNER_SHARED_SECRET         HMAC secret shared with the runners (required when RUNNERS is set)
 *   RUNNER_HEALTH_TTL_MS (5000)  how long a /readyz verdict stands
 *   RUNNER_TIMEOUT_MS (120000)   one runner call's limit
 *   RETRY_AFTER_S (5)            Retry-After on 503
 *   MAX_BODY_BYTES (16384)       larger request bodies get 413
 *   PUBLIC_URL                   base of image URLs in responses (default: the request's origin)
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
  if (urls.length > 0 && secret.length < 16) problems.push('RUNNER_SHARED_SECRET: required with RUNNERS, at least 16 characters');
  const publicUrl = env.PUBLIC_URL ? String(env.PUBLIC_URL) : undefined;
  if (publicUrl && !/^https?:\/\//.test(publicUrl)) problems.push(`PUBLIC_URL=${JSON.stringify(publicUrl)}: must be an http(s) URL`);
  const config: EdgeConfig = {
    routing: { wasmMaxBatch, wasmFallbackMaxBatch, retryAfterS: intVar(env, 'RETRY_AFTER_S', 5, 1, 3600, problems) },
    runners: [...urls.map((url) => ({ url, secret })), ...extraRunners],
    runnerHealthTtlMs: intVar(env, 'RUNNER_HEALTH_TTL_MS', 5_000, 0, 3_600_000, problems),
    runnerTimeoutMs: intVar(env, 'RUNNER_TIMEOUT_MS', 120_000, 100, 3_600_000, problems),
    maxBodyBytes: intVar(env, 'MAX_BODY_BYTES', 16_384, 1_024, 1 << 20, problems),
    publicUrl,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}
