import type { RunnerGenerateResponse, RunnerInfo, RunnerItem } from '@aurora-edge/protocol';
import { RunnerCallError, RunnerClient, type RunnerEndpoint } from './client.ts';

export interface RunnerPoolOptions {
  readonly fetch?: typeof fetch;
  /** How long a health verdict stands before /readyz is asked again. */
  readonly healthTtlMs?: number;
  readonly probeTimeoutMs?: number;
  readonly callTimeoutMs?: number;
  readonly now?: () => number;
}

/** The model a batch needs: runners must serve this exact bundle content. */
export interface BundleRef {
  readonly id: string;
  readonly contentHash: string;
}

export interface RunnerStatus {
  readonly url: string;
  readonly healthy: boolean;
  readonly inFlight: number;
  readonly queueDepth: number | null;
  readonly bundles: string[];
  readonly lastError: string | null;
}

/** No runner could take the batch: none configured, none healthy for the bundle, or all failed. */
export class NoRunnerError extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.length ? `no GPU runner could generate: ${reasons.join('; ')}` : 'no GPU runner is configured');
    this.name = 'NoRunnerError';
  }
}

interface Member {
  readonly client: RunnerClient;
  healthy: boolean;
  info: RunnerInfo | null;
  checkedAt: number;
  inFlight: number;
  lastError: string | null;
}

/**
 * The configured GPU runners. Health comes from GET /readyz, asked lazily when a verdict is older
 * than `healthTtlMs` (no timers, so it works the same inside a Worker). A batch goes to the
 * least-loaded healthy runner serving its bundle (our in-flight items plus the queue depth the
 * runner last reported); a failed call marks that runner unhealthy and the batch tries the next.
 */
export class RunnerPool {
  private readonly members: Member[];
  private readonly ttl: number;
  private readonly probeTimeout: number;
  private readonly callTimeout: number;
  private readonly now: () => number;
  private refreshing: Promise<void> | null = null;

  constructor(endpoints: readonly RunnerEndpoint[], options: RunnerPoolOptions = {}) {
    this.members = endpoints.map((e) => ({
      client: new RunnerClient(e, options.fetch),
      healthy: false,
      info: null,
      checkedAt: -Infinity,
      inFlight: 0,
      lastError: null,
    }));
    this.ttl = options.healthTtlMs ?? 5_000;
    this.probeTimeout = options.probeTimeoutMs ?? 2_000;
    this.callTimeout = options.callTimeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.members.length;
  }

  /** Re-probes runners whose verdict is stale (all of them with `force`); concurrent calls share one probe. */
  refresh(force = false): Promise<void> {
    const stale = this.members.filter((m) => force || this.now() - m.checkedAt >= this.ttl);
    if (stale.length === 0) return Promise.resolve();
    this.refreshing ??= Promise.all(stale.map((m) => this.probe(m))).then(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  status(): RunnerStatus[] {
    return this.members.map((m) => ({
      url: m.client.url,
      healthy: m.healthy,
      inFlight: m.inFlight,
      queueDepth: m.info?.queueDepth ?? null,
      bundles: m.info?.bundles.map((b) => b.id) ?? [],
      lastError: m.lastError,
    }));
  }

  /**
   * Marks the runner at `url` down now, without waiting for its health verdict to go stale: its
   * owner saw it die (the local runner's process exited). The next probe after the TTL, or a
   * forced refresh once it is back, clears it.
   */
  reportDown(url: string, reason: string): void {
    for (const m of this.members) if (m.client.url === url) this.markDown(m, reason);
  }

  /** True when some runner is healthy and serves the bundle (after a refresh if stale). */
  async available(bundle: BundleRef): Promise<boolean> {
    await this.refresh();
    return this.members.some((m) => this.serves(m, bundle));
  }

  /**
   * Generates on the runners: batches larger than a runner's maxBatch are split, each part
   * retried on another runner when one fails. Throws NoRunnerError when a part finds no runner.
   */
  async generate(items: readonly RunnerItem[], bundle: BundleRef): Promise<RunnerGenerateResponse> {
    await this.refresh();
    const maxBatch = Math.min(...this.members.filter((m) => this.serves(m, bundle)).map((m) => m.info!.maxBatch), items.length) || items.length;
    const parts: RunnerItem[][] = [];
    for (let i = 0; i < items.length; i += maxBatch) parts.push(items.slice(i, i + maxBatch));
    const results = await Promise.all(parts.map((part) => this.generatePart(part, bundle)));
    return {
      images: results.flatMap((r) => r.images),
      timings: {
        queueMs: Math.max(...results.map((r) => r.timings.queueMs)),
        runMs: Math.max(...results.map((r) => r.timings.runMs)),
        totalMs: Math.max(...results.map((r) => r.timings.totalMs)),
      },
    };
  }

  private async generatePart(items: RunnerItem[], bundle: BundleRef): Promise<RunnerGenerateResponse> {
    const tried = new Set<Member>();
    const reasons: string[] = [];
    for (;;) {
      const member = this.pick(bundle, tried);
      if (!member) throw new NoRunnerError([...reasons, ...this.unavailableReasons(bundle, tried)]);
      tried.add(member);
      member.inFlight += items.length;
      try {
        const res = await member.client.generate(items, this.callTimeout);
        checkImages(member.client.url, items, res, bundle);
        return res;
      } catch (error) {
        if (!(error instanceof RunnerCallError) || !error.retryable) throw error;
        reasons.push(error.message);
        // A full queue is healthy back-pressure: try the next runner now, but keep this one in rotation.
        if (!error.overloaded) this.markDown(member, error.message);
      } finally {
        member.inFlight -= items.length;
      }
    }
  }

  private pick(bundle: BundleRef, tried: Set<Member>): Member | null {
    let best: Member | null = null;
    for (const m of this.members) {
      if (tried.has(m) || !this.serves(m, bundle) || m.info!.maxBatch < 1) continue;
      if (!best || load(m) < load(best)) best = m;
    }
    return best;
  }

  private serves(m: Member, bundle: BundleRef): boolean {
    return m.healthy && !!m.info?.bundles.some((b) => b.id === bundle.id && b.contentHash === bundle.contentHash);
  }

  private unavailableReasons(bundle: BundleRef, tried: Set<Member>): string[] {
    return this.members
      .filter((m) => !tried.has(m))
      .map(
        (m) =>
          `${m.client.url}: ${m.healthy ? `does not serve ${bundle.id}@${bundle.contentHash.slice(0, 12)}` : `unhealthy (${m.lastError ?? 'not checked'})`}`,
      );
  }

  private async probe(m: Member): Promise<void> {
    try {
      m.info = await m.client.ready(this.probeTimeout);
      m.healthy = true;
      m.lastError = null;
    } catch (error) {
      m.healthy = false;
      m.lastError = (error as Error).message;
    }
    m.checkedAt = this.now();
  }

  private markDown(m: Member, reason: string): void {
    m.healthy = false;
    m.lastError = reason;
    m.checkedAt = this.now();
  }
}

const load = (m: Member) => m.inFlight + (m.info?.queueDepth ?? 0);

/** A runner must answer with the bundle content we key the cache on, and the seeds we asked for. */
function checkImages(url: string, items: readonly RunnerItem[], res: RunnerGenerateResponse, bundle: BundleRef): void {
  res.images.forEach((img, i) => {
    if (img.contentHash !== bundle.contentHash)
      throw new RunnerCallError(url, `image ${i} came from bundle content ${img.contentHash}, expected ${bundle.contentHash}`, true);
    if (img.seed !== items[i].seed || img.bundle !== items[i].bundle)
      throw new RunnerCallError(url, `image ${i} is for seed ${img.seed}, expected ${items[i].seed}`, true);
  });
}
