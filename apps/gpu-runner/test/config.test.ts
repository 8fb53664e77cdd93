import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';

const SECRET = { RUNNER_SHARED_SECRET: 'a-long-enough-secret' };

describe('parseConfig', () => {
  it('applies the defaults', () => {
    expect(parseConfig(SECRET)).toEqual({
      port: 8788,
      host: '127.0.0.1',
      secret: 'a-long-enough-secret',
      bundles: [],
      executionProvider: 'auto',
      cudaDeviceId: 0,
      maxBatch: 16,
      maxQueueDelayMs: 5,
      preferredBatchSizes: [],
      queueLimit: 256,
      maxConcurrentBatches: 1,
      intraOpThreads: undefined,
      maxBodyBytes: 1 << 20,
      shutdownTimeoutMs: 30_000,
    });
  });

  it('reads lists and numbers, and treats empty variables as unset', () => {
    const config = parseConfig({
      ...SECRET,
      RUNNER_BUNDLES: ' /b/tiny, /b/v1 ,',
      RUNNER_PREFERRED_BATCH_SIZES: '4, 8',
      RUNNER_MAX_QUEUE_DELAY_MS: '2.5',
      PORT: '',
      RUNNER_INTRA_OP_THREADS: '2',
    });
    expect(config).toMatchObject({ bundles: ['/b/tiny', '/b/v1'], preferredBatchSizes: [4, 8], maxQueueDelayMs: 2.5, port: 8788, intraOpThreads: 2 });
  });

  it('leaves the model routes open without a secret (authentication at a proxy, as for Triton)', () => {
    expect(parseConfig({}).secret).toBeNull();
    expect(parseConfig({ RUNNER_SHARED_SECRET: '' }).secret).toBeNull();
  });

  it('lists every problem, naming the variable and its value', () => {
    const error = (() => {
      try {
        parseConfig({ RUNNER_SHARED_SECRET: 'short', RUNNER_MAX_BATCH: '0', RUNNER_PREFERRED_BATCH_SIZES: '4,x' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'RUNNER_SHARED_SECRET="short": must be at least 16 characters (use a random secret shared with the gateway)',
      'RUNNER_MAX_BATCH="0": must be an integer in [1, 64]',
      'RUNNER_PREFERRED_BATCH_SIZES="4,x": must be a comma-separated list of integers in [1, 64]',
    ]);
  });

  it('checks values against each other', () => {
    expect(() => parseConfig({ ...SECRET, RUNNER_MAX_BATCH: '8', RUNNER_PREFERRED_BATCH_SIZES: '4,16' })).toThrow('every size must be <= RUNNER_MAX_BATCH (8)');
  });

  // What the runner prints when it stops at start-up; lifecycle.e2e.test.ts checks one case as a real process.
  it.each([
    ['a malformed number', { RUNNER_MAX_BATCH: 'abc' }, 'RUNNER_MAX_BATCH="abc": must be an integer in [1, 64]'],
    ['an unknown provider', { RUNNER_EXECUTION_PROVIDER: 'tpu' }, 'RUNNER_EXECUTION_PROVIDER="tpu": must be auto, cuda, webgpu or cpu'],
    ['a short shared secret', { RUNNER_SHARED_SECRET: 'short' }, 'RUNNER_SHARED_SECRET="short": must be at least 16 characters'],
    ['a queue smaller than a batch', { RUNNER_MAX_BATCH: '32', RUNNER_QUEUE_LIMIT: '8' }, 'RUNNER_QUEUE_LIMIT=8: must be >= RUNNER_MAX_BATCH (32)'],
  ])('refuses %s with a clear message', (_name, env, message) => {
    const config = { ...SECRET, ...env };
    expect(() => parseConfig(config)).toThrow(ConfigError);
    expect(() => parseConfig(config)).toThrow(/^invalid runner configuration/);
    expect(() => parseConfig(config)).toThrow(message);
  });
});
