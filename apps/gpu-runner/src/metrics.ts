import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The runner's Prometheus metrics, on a registry of its own (not prom-client's global one), so two
 * runners in one process (tests, benchmarks) never share or double-register counters.
 */
export interface RunnerMetrics {
  readonly registry: Registry;
  readonly batchSize: Histogram<'bundle'>;
  readonly batchSeconds: Histogram<'bundle'>;
  /** Batches executed: one serving run (text encoder + generator session runs). */
  readonly sessionRuns: Counter<'bundle'>;
  readonly imagesGenerated: Counter<'bundle'>;
  readonly requestSeconds: Histogram<'status'>;
  readonly errors: Counter<'code'>;
  readonly requestsInFlight: Gauge;
}

export interface MetricsSources {
  /** Read at scrape time. */
  readonly queueDepth: () => number;
  readonly ready: () => boolean;
  /** The execution provider and WebGPU adapter ('none' and '' before they are known). */
  readonly executionProvider: () => { readonly provider: string; readonly adapter: string };
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createRunnerMetrics(sources: MetricsSources, options: { processMetrics?: boolean } = {}): RunnerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({ name: 'aurora_runner_queue_depth', help: 'Items waiting for a batch', registers, collect: countOf(sources.queueDepth) });
  new Gauge({
    name: 'aurora_runner_ready',
    help: '1 when bundles are loaded and warmed up and the runner is not draining',
    registers,
    collect: countOf(() => Number(sources.ready())),
  });
  new Gauge({
    name: 'aurora_runner_execution_provider',
    help: 'Always 1; the labels say which execution provider (and WebGPU adapter) the runner uses',
    labelNames: ['provider', 'adapter'],
    registers,
    collect(this: Gauge<'provider' | 'adapter'>) {
      this.reset();
      this.set(sources.executionProvider(), 1);
    },
  });
  return {
    registry,
    batchSize: new Histogram({
      name: 'aurora_runner_batch_size',
      help: 'Items per executed batch',
      labelNames: ['bundle'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'aurora_runner_batch_duration_seconds',
      help: 'Run time of one batch',
      labelNames: ['bundle'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    sessionRuns: new Counter({ name: 'aurora_runner_session_runs_total', help: 'Batches executed (one pipeline run each)', labelNames: ['bundle'], registers }),
    imagesGenerated: new Counter({ name: 'aurora_runner_images_generated_total', help: 'Images generated', labelNames: ['bundle'], registers }),
    requestSeconds: new Histogram({
      name: 'aurora_runner_request_duration_seconds',
      help: 'POST /v2/models/{m}/infer latency, queueing included',
      labelNames: ['status'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    errors: new Counter({ name: 'aurora_runner_errors_total', help: 'Error responses and failed batches, by code', labelNames: ['code'], registers }),
    requestsInFlight: new Gauge({ name: 'aurora_runner_requests_in_flight', help: 'POST /v2/models/{m}/infer requests being served', registers }),
  };
}

function countOf(read: () => number) {
  return function (this: Gauge) {
    this.set(read());
  };
}

/** Wraps a batch function so each run is counted and timed. */
export function instrumentBatches<I, R>(
  metrics: RunnerMetrics,
  run: (bundle: string, items: I[]) => Promise<R[]>,
): (bundle: string, items: I[]) => Promise<R[]> {
  return async (bundle, items) => {
    const stop = metrics.batchSeconds.startTimer({ bundle });
    metrics.sessionRuns.inc({ bundle });
    metrics.batchSize.observe({ bundle }, items.length);
    try {
      const out = await run(bundle, items);
      metrics.imagesGenerated.inc({ bundle }, out.length);
      return out;
    } catch (error) {
      metrics.errors.inc({ code: 'batch_failed' });
      throw error;
    } finally {
      stop();
    }
  };
}
