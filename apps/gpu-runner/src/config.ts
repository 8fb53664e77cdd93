import { RUNNER_MAX_ROWS } from '@aurora-edge/protocol';
import { z } from 'zod';

/**
 * The runner's configuration, from environment variables only (12-factor: the same image runs on
 * a CPU box and a GPU host). Validated once at start; a bad value stops the process with a message
 * naming the variable, its value and what is expected, never a half-working runner.
 */
export interface RunnerConfig {
  readonly port: number;
  readonly host: string;
  /** The HMAC secret model routes require; null (unset): open, for deployments that authenticate at a proxy. */
  readonly secret: string | null;
  /** Bundle folders; empty: the built-in aurora-tiny. */
  readonly bundles: string[];
  readonly executionProvider: 'auto' | 'cuda' | 'webgpu' | 'cpu';
  readonly cudaDeviceId: number;
  readonly maxBatch: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes: number[];
  readonly queueLimit: number;
  readonly maxConcurrentBatches: number;
  readonly intraOpThreads: number | undefined;
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid runner configuration (environment variables):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isInt = (s: string, min: number, max: number) => /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max;
const intVar = (min: number, max: number) =>
  z
    .string()
    .trim()
    .refine((s) => isInt(s, min, max), `must be an integer in [${min}, ${max}]`)
    .transform(Number);
const intListVar = (min: number, max: number) =>
  z
    .string()
    .refine((s) => s.split(',').every((v) => isInt(v.trim(), min, max)), `must be a comma-separated list of integers in [${min}, ${max}]`)
    .transform((s) => s.split(',').map((v) => Number(v.trim())));

const envSchema = z.object({
  PORT: intVar(0, 65535).default(8788),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  RUNNER_SHARED_SECRET: z.string().min(16, 'must be at least 16 characters (use a random secret shared with the gateway)').optional(),
  RUNNER_BUNDLES: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .optional(),
  RUNNER_EXECUTION_PROVIDER: z.enum(['auto', 'cuda', 'webgpu', 'cpu'], 'must be auto, cuda, webgpu or cpu').default('auto'),
  RUNNER_CUDA_DEVICE_ID: intVar(0, 255).default(0),
  RUNNER_MAX_BATCH: intVar(1, RUNNER_MAX_ROWS).default(16),
  RUNNER_MAX_QUEUE_DELAY_MS: z
    .string()
    .trim()
    .refine((s) => /^\d+(\.\d+)?$/.test(s) && Number(s) <= 10_000, 'must be a number of milliseconds in [0, 10000]')
    .transform(Number)
    .default(5),
  RUNNER_PREFERRED_BATCH_SIZES: intListVar(1, RUNNER_MAX_ROWS).optional(),
  RUNNER_QUEUE_LIMIT: intVar(1, 1_000_000).default(256),
  RUNNER_MAX_CONCURRENT_BATCHES: intVar(1, 64).default(1),
  RUNNER_INTRA_OP_THREADS: intVar(1, 1024).optional(),
  RUNNER_MAX_BODY_BYTES: intVar(1024, 64 << 20).default(1 << 20),
  RUNNER_SHUTDOWN_TIMEOUT_MS: intVar(0, 3_600_000).default(30_000),
});

/** Parses an environment (process.env in the server); throws ConfigError listing every problem. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): RunnerConfig {
  // An empty variable means "unset", as shells and compose files often leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([key, v]) => key in envSchema.shape && v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(present[String(i.path[0])] ?? '')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const preferred = e.RUNNER_PREFERRED_BATCH_SIZES ?? [];
  if (preferred.some((s) => s > e.RUNNER_MAX_BATCH))
    problems.push(`RUNNER_PREFERRED_BATCH_SIZES=${preferred.join(',')}: every size must be <= RUNNER_MAX_BATCH (${e.RUNNER_MAX_BATCH})`);
  if (e.RUNNER_QUEUE_LIMIT < e.RUNNER_MAX_BATCH)
    problems.push(`RUNNER_QUEUE_LIMIT=${e.RUNNER_QUEUE_LIMIT}: must be >= RUNNER_MAX_BATCH (${e.RUNNER_MAX_BATCH}), or a full request could never be queued`);
  if (problems.length) throw new ConfigError(problems);
  return {
    port: e.PORT,
    host: e.HOST,
    secret: e.RUNNER_SHARED_SECRET ?? null,
    bundles: e.RUNNER_BUNDLES ?? [],
    executionProvider: e.RUNNER_EXECUTION_PROVIDER,
    cudaDeviceId: e.RUNNER_CUDA_DEVICE_ID,
    maxBatch: e.RUNNER_MAX_BATCH,
    maxQueueDelayMs: e.RUNNER_MAX_QUEUE_DELAY_MS,
    preferredBatchSizes: preferred,
    queueLimit: e.RUNNER_QUEUE_LIMIT,
    maxConcurrentBatches: e.RUNNER_MAX_CONCURRENT_BATCHES,
    intraOpThreads: e.RUNNER_INTRA_OP_THREADS,
    maxBodyBytes: e.RUNNER_MAX_BODY_BYTES,
    shutdownTimeoutMs: e.RUNNER_SHUTDOWN_TIMEOUT_MS,
  };
}
