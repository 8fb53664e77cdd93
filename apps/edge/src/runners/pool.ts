import { type BundleManifest, encodePng, type PngChannels, sampleLatents } from '@aurora-edge/model';
import { AURORA_TENSORS, CONTENT_HASH_PARAMETER, type MetadataTensor, type ModelMetadata, type Tensor } from '@aurora-edge/protocol';
import { RunnerCallError, RunnerClient, type RunnerEndpoint } from './client.ts';

export interface RunnerPoolOptions {
  readonly fetch?: typeof fetch;
  /** How long a health verdict stands before /v2/health/ready is asked again. */
  readonly healthTtlMs?: number;
  /** How long a model check (metadata, and config where needed) stands before it is made again. */
  readonly modelTtlMs?: number;
  readonly probeTimeoutMs?: number;
  readonly callTimeoutMs?: number;
  readonly now?: () => number;
  /** Where a runner found ineligible for a model is reported (once per change of verdict); default console.warn. */
  readonly log?: (message: string) => void;
  /** The gateway's bundles: every health probe that finds a runner ready checks these models on it too. */
  readonly bundles?: readonly BundleRef[];
}

/** The model a batch needs: runners must serve this exact bundle content. */
export interface BundleRef {
  readonly id: string;
  readonly contentHash: string;
  readonly manifest: BundleManifest;
}

/** One batch for the runners: a prompt's token ids (the gateway's one tokenization), a seed per image, psi. */
export interface RunnerBatch {
  readonly tokenIds: Int32Array;
  readonly seeds: readonly number[];
  readonly psi: number;
}

export interface RunnerImages {
  /** One PNG per seed, in order. */
  readonly pngs: Uint8Array[];
  /** The runners' own run time (our runner reports it), else null. */
  readonly runMs: number | null;
}

export interface RunnerStatus {
  readonly url: string;
  readonly healthy: boolean;
  readonly inFlight: number;
  /** Not in the protocol: always null (kept for /v1/cache's runners field). */
  readonly queueDepth: number | null;
  /** The gateway's bundles this runner was last found to serve at their content hash. */
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

/** The verdict on one runner for one model (bundle id + content hash). */
interface ModelCheck {
  readonly eligible: boolean;
  /** Why not, when not. */
  readonly reason: string | null;
  /** The version to put in infer paths: our content hash where the runner lists it, else none (Triton's numbered versions). */
  readonly version: string | null;
  /** The model config's max_batch_size, when the runner has one. */
  readonly maxBatch: number | null;
  readonly checkedAt: number;
}

interface Member {
  readonly client: RunnerClient;
  healthy: boolean;
  checkedAt: number;
  inFlight: number;
  lastError: string | null;
  /** By `${id}@${contentHash}`. */
  readonly models: Map<string, ModelCheck>;
  readonly checking: Map<string, Promise<ModelCheck>>;
}

const keyOf = (bundle: BundleRef) => `${bundle.id}@${bundle.contentHash}`;

/** The serving tensors a bundle's runner must take and give (-1: the batch dimension). */
function expectedTensors(m: BundleManifest): { inputs: MetadataTensor[]; outputs: MetadataTensor[] } {
  const c = m.generator.config;
  return {
    inputs: [
      { name: AURORA_TENSORS.inputIds, datatype: 'INT32', shape: [-1, m.tokenizer.contextLength] },
      { name: AURORA_TENSORS.z, datatype: 'FP32', shape: [-1, c.z_dim] },
      { name: AURORA_TENSORS.psi, datatype: 'FP32', shape: [-1, 1] },
    ],
    outputs: [{ name: AURORA_TENSORS.images, datatype: 'UINT8', shape: [-1, m.resolution, m.resolution, c.image_channels] }],
  };
}

/** What is wrong with a model's metadata for this bundle, or null. */
function metadataMismatch(meta: ModelMetadata, bundle: BundleRef): string | null {
  if (meta.name !== bundle.id) return `its model is named "${meta.name}", not "${bundle.id}"`;
  const want = expectedTensors(bundle.manifest);
  for (const [kind, list, have] of [
    ['input', want.inputs, meta.inputs],
    ['output', want.outputs, meta.outputs],
  ] as const) {
    for (const t of list) {
      const got = have.find((h) => h.name === t.name);
      if (!got) return `${kind} ${t.name} is missing`;
      if (got.datatype !== t.datatype || got.shape.join() !== t.shape.join())
        return `${kind} ${t.name} is ${got.datatype} [${got.shape.join(', ')}], expected ${t.datatype} [${t.shape.join(', ')}]`;
    }
  }
  return null;
}

/**
 * The configured GPU runners: servers that speak the Open Inference Protocol v2 (ours, Triton,
 * KServe). Health comes from GET /v2/health/ready, asked lazily when a verdict is older than
 * `healthTtlMs` (no timers, so it works the same inside a Worker). Before a runner gets a model's
 * batch, its model metadata is checked (name = bundle id, the serving tensors with this bundle's
 * dimensions, and versions holding our content hash, or, where versions are numbers as on Triton,
 * the model config's `aurora_content_hash` parameter equal to it), the verdict kept for
 * `modelTtlMs`; a runner serving other content is ineligible for that model (logged), not an error.
 * A batch goes to the least-loaded eligible runner (our rows in flight); a failed call marks that
 * runner unhealthy and the batch tries the next.
 */
export class RunnerPool {
  private readonly members: Member[];
  private readonly ttl: number;
  private readonly modelTtl: number;
  private readonly probeTimeout: number;
  private readonly callTimeout: number;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private readonly bundles: readonly BundleRef[];
  private refreshing: Promise<void> | null = null;

  constructor(endpoints: readonly RunnerEndpoint[], options: RunnerPoolOptions = {}) {
    this.members = endpoints.map((e) => ({
      client: new RunnerClient(e, options.fetch),
      healthy: false,
      checkedAt: -Infinity,
      inFlight: 0,
      lastError: null,
      models: new Map(),
      checking: new Map(),
    }));
    this.ttl = options.healthTtlMs ?? 5_000;
    this.modelTtl = options.modelTtlMs ?? 30_000;
    this.probeTimeout = options.probeTimeoutMs ?? 2_000;
    this.callTimeout = options.callTimeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((message) => console.warn(message));
    this.bundles = options.bundles ?? [];
  }

  get size(): number {
    return this.members.length;
  }

  /** Re-probes runners whose verdict is stale (all of them with `force`); concurrent calls share one probe. */
  refresh(force = false): Promise<void> {
    const stale = this.members.filter((m) => force || this.now() - m.checkedAt >= this.ttl);
    if (stale.length === 0) return Promise.resolve();
    this.refreshing ??= Promise.all(stale.map((m) => this.probe(m, force))).then(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  status(): RunnerStatus[] {
    return this.members.map((m) => ({
      url: m.client.url,
      healthy: m.healthy,
      inFlight: m.inFlight,
      queueDepth: null,
      bundles: this.servedBundles(m),
      lastError: m.lastError,
    }));
  }

  /** Ids of the bundles a runner was found to serve, in the order of the gateway's bundles. */
  private servedBundles(m: Member): string[] {
    const order = (id: string) => {
      const i = this.bundles.findIndex((b) => b.id === id);
      return i < 0 ? this.bundles.length : i;
    };
    const ids = [...m.models].filter(([, check]) => check.eligible).map(([key]) => key.slice(0, key.lastIndexOf('@')));
    return [...new Set(ids)].sort((a, b) => order(a) - order(b));
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
    return (await this.eligible(bundle)).length > 0;
  }

  /**
   * Generates on the runners: batches larger than a runner's max_batch_size are split, each part
   * retried on another runner when one fails. Throws NoRunnerError when a part finds no runner.
   */
  async generate(batch: RunnerBatch, bundle: BundleRef): Promise<RunnerImages> {
    const eligible = await this.eligible(bundle);
    const n = batch.seeds.length;
    const limits = eligible.map((m) => m.models.get(keyOf(bundle))!.maxBatch).filter((b): b is number => b !== null && b > 0);
    const maxBatch = Math.min(n, ...limits);
    const parts: number[][] = [];
    for (let i = 0; i < n; i += maxBatch) parts.push(batch.seeds.slice(i, i + maxBatch));
    const results = await Promise.all(parts.map((seeds) => this.generatePart({ ...batch, seeds }, bundle)));
    const runs = results.map((r) => r.runMs);
    return { pngs: results.flatMap((r) => r.pngs), runMs: runs.every((r) => r !== null) ? Math.max(...(runs as number[])) : null };
  }

  private async generatePart(batch: RunnerBatch, bundle: BundleRef): Promise<RunnerImages> {
    const tried = new Set<Member>();
    const reasons: string[] = [];
    const inputs = tensorsOf(batch, bundle.manifest);
    for (;;) {
      const member = this.pick(bundle, tried);
      if (!member) throw new NoRunnerError([...reasons, ...this.unavailableReasons(bundle, tried)]);
      tried.add(member);
      const rows = batch.seeds.length;
      member.inFlight += rows;
      try {
        const check = member.models.get(keyOf(bundle))!;
        const { response, outputs } = await member.client.infer(bundle.id, check.version, inputs, [AURORA_TENSORS.images], this.callTimeout);
        const pngs = imagesOf(member.client.url, response.model_name, outputs, rows, bundle);
        const runMs = response.parameters?.run_ms;
        return { pngs, runMs: typeof runMs === 'number' ? runMs : null };
      } catch (error) {
        if (!(error instanceof RunnerCallError) || !error.retryable) throw error;
        reasons.push(error.message);
        // The model (or this version of it) is gone from that runner: check it again before the next batch.
        if (error.status === 404) member.models.delete(keyOf(bundle));
        // A full queue is healthy back-pressure: try the next runner now, but keep this one in rotation.
        if (!error.overloaded) this.markDown(member, error.message);
      } finally {
        member.inFlight -= rows;
      }
    }
  }

  /** Healthy runners whose model check for the bundle passed (made where missing or stale). */
  private async eligible(bundle: BundleRef): Promise<Member[]> {
    await this.refresh();
    const healthy = this.members.filter((m) => m.healthy);
    await Promise.all(healthy.map((m) => this.checkModel(m, bundle)));
    return healthy.filter((m) => this.serves(m, bundle));
  }

  private checkModel(m: Member, bundle: BundleRef): Promise<ModelCheck> {
    const key = keyOf(bundle);
    const known = m.models.get(key);
    if (known && this.now() - known.checkedAt < this.modelTtl) return Promise.resolve(known);
    let pending = m.checking.get(key);
    if (!pending) {
      pending = this.inspect(m, bundle)
        .then((check) => {
          const before = m.models.get(key);
          m.models.set(key, check);
          if (!check.eligible && check.reason !== before?.reason)
            this.log(`aurora-edge: GPU runner ${m.client.url} is not used for ${bundle.id}: ${check.reason}`);
          return check;
        })
        .finally(() => m.checking.delete(key));
      m.checking.set(key, pending);
    }
    return pending;
  }

  /** Asks the runner what it serves under the bundle's id. */
  private async inspect(m: Member, bundle: BundleRef): Promise<ModelCheck> {
    const checkedAt = this.now();
    const ineligible = (reason: string): ModelCheck => ({ eligible: false, reason, version: null, maxBatch: null, checkedAt });
    let meta: ModelMetadata;
    try {
      meta = await m.client.modelMetadata(bundle.id, this.probeTimeout);
    } catch (error) {
      if (error instanceof RunnerCallError && error.status === 404) return ineligible(`it has no model ${bundle.id}`);
      // Unreachable or broken: a health matter, checked again at the next probe.
      this.markDown(m, (error as Error).message);
      return { ...ineligible((error as Error).message), checkedAt: -Infinity };
    }
    const mismatch = metadataMismatch(meta, bundle);
    if (mismatch) return ineligible(mismatch);
    const config = await m.client.modelConfig(bundle.id, this.probeTimeout).catch(() => null);
    const maxBatch = config?.max_batch_size ?? null;
    if (meta.versions?.includes(bundle.contentHash)) return { eligible: true, reason: null, version: bundle.contentHash, maxBatch, checkedAt };
    const hash = config?.parameters?.[CONTENT_HASH_PARAMETER]?.string_value;
    if (hash === bundle.contentHash) return { eligible: true, reason: null, version: null, maxBatch, checkedAt };
    const has = hash ? `content ${hash.slice(0, 12)}` : `versions ${(meta.versions ?? []).join(', ') || 'none'} and no ${CONTENT_HASH_PARAMETER} in its config`;
    return ineligible(`it serves ${has}, this gateway's bundle is ${bundle.contentHash.slice(0, 12)}`);
  }

  private pick(bundle: BundleRef, tried: Set<Member>): Member | null {
    let best: Member | null = null;
    for (const m of this.members) {
      if (tried.has(m) || !this.serves(m, bundle)) continue;
      if (!best || m.inFlight < best.inFlight) best = m;
    }
    return best;
  }

  private serves(m: Member, bundle: BundleRef): boolean {
    return m.healthy && m.models.get(keyOf(bundle))?.eligible === true;
  }

  private unavailableReasons(bundle: BundleRef, tried: Set<Member>): string[] {
    return this.members
      .filter((m) => !tried.has(m))
      .map(
        (m) =>
          `${m.client.url}: ${m.healthy ? (m.models.get(keyOf(bundle))?.reason ?? `does not serve ${bundle.id}`) : `unhealthy (${m.lastError ?? 'not checked'})`}`,
      );
  }

  private async probe(m: Member, force: boolean): Promise<void> {
    try {
      await m.client.ready(this.probeTimeout);
      m.healthy = true;
      m.lastError = null;
    } catch (error) {
      m.healthy = false;
      m.lastError = (error as Error).message;
    }
    // A runner that was down, or a forced refresh (a restarted local runner), is asked about its models again.
    if (force || !m.healthy) m.models.clear();
    m.checkedAt = this.now();
    if (m.healthy) await Promise.all(this.bundles.map((b) => this.checkModel(m, b)));
  }

  private markDown(m: Member, reason: string): void {
    m.healthy = false;
    m.lastError = reason;
    m.checkedAt = this.now();
  }
}

/** input_ids (the prompt's ids on every row), z (sampleLatents of the seeds) and psi. */
function tensorsOf(batch: RunnerBatch, m: BundleManifest): Tensor[] {
  const n = batch.seeds.length;
  const L = m.tokenizer.contextLength;
  if (batch.tokenIds.length !== L) throw new RangeError(`token ids: expected ${L} (the bundle's context length), got ${batch.tokenIds.length}`);
  const ids = new Int32Array(n * L);
  for (let i = 0; i < n; i++) ids.set(batch.tokenIds, i * L);
  const zDim = m.generator.config.z_dim;
  return [
    { name: AURORA_TENSORS.inputIds, datatype: 'INT32', shape: [n, L], data: ids },
    { name: AURORA_TENSORS.z, datatype: 'FP32', shape: [n, zDim], data: sampleLatents(batch.seeds, zDim) },
    { name: AURORA_TENSORS.psi, datatype: 'FP32', shape: [n, 1], data: new Float32Array(n).fill(batch.psi) },
  ];
}

/** The response's NHWC images, checked against the bundle, as PNGs. */
function imagesOf(url: string, modelName: string, outputs: Map<string, Tensor>, rows: number, bundle: BundleRef): Uint8Array[] {
  if (modelName !== bundle.id) throw new RunnerCallError(url, `answered for model ${modelName}, asked ${bundle.id}`, true);
  const images = outputs.get(AURORA_TENSORS.images);
  const m = bundle.manifest;
  const [h, w, c] = [m.resolution, m.resolution, m.generator.config.image_channels];
  if (images?.datatype !== 'UINT8' || images.shape.join() !== [rows, h, w, c].join()) {
    const got = images ? `${images.datatype} [${images.shape.join(', ')}]` : 'none';
    throw new RunnerCallError(url, `${AURORA_TENSORS.images}: expected UINT8 [${[rows, h, w, c].join(', ')}], got ${got}`, true);
  }
  const data = images.data as Uint8Array;
  const size = h * w * c;
  return Array.from({ length: rows }, (_, i) => encodePng(data.subarray(i * size, (i + 1) * size), w, h, c as PngChannels));
}
