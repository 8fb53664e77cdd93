import { MAX_SEED, sha256Hex } from '@aurora-edge/model';
import { cacheKey } from '../cache/key.ts';
import type { CachedImage, ImageStore, ImageToStore } from '../cache/store.ts';
import { EdgeError, isDatabaseBusy } from '../errors.ts';
import { NoRunnerError, type RunnerPool } from '../runners/pool.ts';
import type { ModelEntry, ModelRegistry } from './models.ts';
import { localFlight, type SharedFlight } from './shared-flight.ts';
import { SingleFlight } from './single-flight.ts';

export type Route = 'cache' | 'wasm' | 'runner';
export type CacheMode = 'use' | 'refresh' | 'only';

export interface GenerationInput {
  readonly prompt: string;
  readonly n: number;
  readonly seed?: number;
  readonly psi?: number;
  readonly model?: string;
  readonly size?: string;
  readonly cache: CacheMode;
  /** Whether the caller needs the PNG bytes (b64_json) or only ids (url). */
  readonly withPng: boolean;
  /** Runs work after the response (hit counting): ctx.waitUntil on Workers. */
  readonly defer: (work: Promise<unknown>) => void;
  /**
   * Called once the cache has been read, before anything is generated, when this request starts
   * generating `misses` (> 0) images: rate limiting charges here (and throws 429), so cache hits,
   * and requests that only join identical generations already under way, cost nothing.
   */
  readonly admit?: (misses: number) => Promise<void>;
}

export interface ImageResult {
  readonly id: string;
  readonly seed: number;
  readonly cached: boolean;
  readonly route: Route;
  /** sha256 hex of the bytes: the image's version (see api/image-version.ts). */
  readonly etag: string;
  readonly png?: Uint8Array;
}

export interface GenerationResult {
  readonly model: ModelEntry;
  readonly seed: number;
  readonly psi: number;
  readonly images: ImageResult[];
  /** Routes used, in the order cache, wasm, runner. */
  readonly routes: Route[];
}

export interface RoutingConfig {
  /** Misses in a batch at most this large run in-process (WASM); larger ones go to runners. */
  readonly wasmMaxBatch: number;
  /** With no healthy runner, batches up to this size still run in WASM; larger ones get 503. */
  readonly wasmFallbackMaxBatch: number;
  /**
   * Images queued or running in-process at most (per process or isolate). Past it a batch goes to
   * a runner even when small, or gets 503 busy: the queue is serial, so an unbounded one only
   * turns overload into timeouts and memory.
   */
  readonly wasmMaxQueue: number;
  /** Retry-After seconds on a 503. */
  readonly retryAfterS: number;
}

interface Produced {
  readonly png: Uint8Array;
  readonly etag: string;
  readonly route: Route;
}

const ROUTE_ORDER: Route[] = ['cache', 'wasm', 'runner'];

/** The request that started a batch was refused admission; its joiners were not refused. */
class NotAdmitted extends Error {
  constructor(readonly refusal: unknown) {
    super('the request that started this generation was not admitted');
  }
}

/** How often a request joins batches whose starters were refused before it gives up with that refusal. */
const MAX_JOIN_ATTEMPTS = 3;

/** A uniformly random first seed such that seed + n - 1 stays a uint32. */
export function randomSeed(n: number): number {
  const [r] = crypto.getRandomValues(new Uint32Array(1));
  return r % (MAX_SEED - n + 2);
}

/**
 * Gets the value of every missing key, starting work only for keys not already in flight (single
 * flight). Only work is charged: the request that starts a batch is admitted (one token, 429 when
 * its bucket is empty) before the batch runs, in the same tick as it registers the batch, so
 * identical requests arriving meanwhile join it for free. If a batch's starter is refused, its
 * joiners were not: they go again, starting (and paying for) the work themselves. A request is
 * charged at most once. Generations key it by image; interpolations by frame set.
 */
export async function generateMissesOnce<T>(
  flight: SingleFlight<T>,
  admit: ((misses: number) => Promise<void>) | undefined,
  misses: readonly string[],
  generate: (fresh: string[]) => Promise<T[]>,
): Promise<Map<string, T>> {
  const made = new Map<string, T>();
  let charged = false;
  for (let attempt = 1; ; attempt++) {
    const wanted = misses.filter((k) => !made.has(k));
    if (wanted.length === 0) return made;
    const started: { admission?: Promise<void> } = {};
    const pending = flight.join(wanted, (fresh) => {
      const admission = charged || !admit ? Promise.resolve() : admit(fresh.length);
      charged = true;
      started.admission = admission;
      return admission.then(
        () => generate(fresh),
        (refusal) => {
          throw new NotAdmitted(refusal);
        },
      );
    });
    // This request's own refusal (429) is its answer; nothing was generated.
    if (started.admission) await started.admission;
    let again = false;
    for (const key of wanted) {
      try {
        made.set(key, await pending.get(key)!);
      } catch (error) {
        if (!(error instanceof NotAdmitted)) throw error;
        if (attempt >= MAX_JOIN_ATTEMPTS) throw error.refusal;
        again = true;
      }
    }
    if (!again) return made;
  }
}

/**
 * A generation request from start to finish: resolve model, seeds and psi; look every image up
 * in the cache; generate the misses once (identical in-flight work is shared), in WASM when the
 * batch is small and on GPU runners otherwise; store complete images only.
 */
export class GenerationService {
  private readonly flight = new SingleFlight<Produced>();

  constructor(
    private readonly models: ModelRegistry,
    private readonly store: ImageStore,
    private readonly runners: RunnerPool,
    private readonly routing: RoutingConfig,
    private readonly options: {
      readonly now?: () => number;
      readonly onGenerated?: (route: 'wasm' | 'runner', count: number) => void;
      /** The layer after the in-process single flight: other isolates' identical generations (Workers: Durable Objects). */
      readonly shared?: SharedFlight;
      /** false: no in-process layer, every request meets the others at `shared` (tests of that layer only). */
      readonly coalesceInProcess?: boolean;
    } = {},
  ) {}

  /** Identical generations in flight right now (for health output and tests). */
  get inFlight(): number {
    return this.flight.size;
  }

  async generate(input: GenerationInput): Promise<GenerationResult> {
    try {
      return await this.lookUpAndGenerate(input);
    } catch (error) {
      // The database locked by another writer (SQLITE_BUSY, D1 "database is locked"): a clean 503
      // with this gateway's Retry-After. Nothing was stored (a batch's rows go in one transaction).
      throw !(error instanceof EdgeError) && isDatabaseBusy(error) ? EdgeError.databaseBusy(this.routing.retryAfterS, error) : error;
    }
  }

  private async lookUpAndGenerate(input: GenerationInput): Promise<GenerationResult> {
    const model = this.models.resolve(input.model);
    const { size, psi, prompt } = model.cacheKeyFields(input);
    const seed = input.seed ?? randomSeed(input.n);
    if (seed + input.n - 1 > MAX_SEED) throw EdgeError.badRequest('seed', `seed + n - 1 must be at most ${MAX_SEED} (seed ${seed}, n ${input.n})`);
    if (prompt === '') throw EdgeError.badRequest('prompt', 'is empty once whitespace is removed');
    const tokenIds = await model.checkPrompt(input.prompt);

    const seeds = Array.from({ length: input.n }, (_, i) => seed + i);
    const keys = seeds.map((s) => cacheKey({ contentHash: model.contentHash, prompt, seed: s, psi, size }));
    const hits = input.cache === 'refresh' ? new Map() : await this.store.lookup(keys, input.withPng);
    if (input.cache === 'only' && hits.size < keys.length) {
      throw new EdgeError(404, 'not_cached', `${keys.length - hits.size} of ${keys.length} images are not cached (cache: "only" never generates)`);
    }
    const misses = keys.filter((k) => !hits.has(k));
    const seedOf = new Map(keys.map((k, i) => [k, seeds[i]]));
    const flight = this.options.coalesceInProcess === false ? new SingleFlight<Produced>() : this.flight;
    const shared = this.options.shared ?? localFlight;
    const made = await generateMissesOnce(flight, input.admit && ((n) => input.admit!(n)), misses, async (fresh) => {
      const got = await shared.share(fresh, async (mine) => {
        // Claimed across processes: another gateway may have stored some of these since the lookup
        // above (it released them between our lookup and our claim); those are hits, not work. A
        // refresh regenerates regardless, and one process alone has nobody else to ask.
        const late = this.options.shared && input.cache !== 'refresh' ? await this.store.lookup(mine, true) : new Map<string, CachedImage>();
        const todo = mine.filter((k) => !late.get(k)?.png);
        const made = todo.length ? await this.generateAndStore(model, { raw: input.prompt, tokenIds }, prompt, psi, size, todo, seedOf) : [];
        const byKey = new Map(todo.map((k, i) => [k, made[i]]));
        return mine.map((k) => {
          const hit = late.get(k);
          return hit?.png ? { png: hit.png, etag: hit.etag, route: 'cache' as const } : byKey.get(k)!;
        });
      });
      return fresh.map((key) => got.get(key)!);
    });
    // Counted once the request is served: a refused one (429) leaves no trace.
    if (hits.size > 0) this.store.recordHits([...hits.keys()], input.defer);
    const images: ImageResult[] = keys.map((key, i) => {
      const hit = hits.get(key);
      if (hit) return { id: key, seed: seeds[i], cached: true, route: 'cache', etag: hit.etag, png: hit.png };
      const m = made.get(key)!;
      return { id: key, seed: seeds[i], cached: m.route === 'cache', route: m.route, etag: m.etag, png: m.png };
    });
    const used = new Set(images.map((img) => img.route));
    return { model, seed, psi, images, routes: ROUTE_ORDER.filter((r) => used.has(r)) };
  }

  /** Generates the `fresh` keys as one batch and stores them; nothing is stored if any fails. */
  private async generateAndStore(
    model: ModelEntry,
    rawPrompt: { readonly raw: string; readonly tokenIds: Int32Array },
    prompt: string,
    psi: number,
    size: string,
    fresh: string[],
    seedOf: Map<string, number>,
  ): Promise<Produced[]> {
    const started = performance.now();
    const seeds = fresh.map((k) => seedOf.get(k)!);
    const { pngs, route, runMs } = await this.runOnRoute(model, rawPrompt, psi, seeds);
    const generateMs = performance.now() - started;
    const createdAt = (this.options.now ?? Date.now)();
    const rows: ImageToStore[] = fresh.map((key, i) => ({
      key,
      model: model.id,
      contentHash: model.contentHash,
      prompt,
      seed: seeds[i],
      psi,
      size,
      png: pngs[i],
      etag: sha256Hex(pngs[i]),
      route,
      generateMs,
      runMs,
      createdAt,
    }));
    await this.store.save(rows);
    this.options.onGenerated?.(route as 'wasm' | 'runner', rows.length);
    return rows.map((row) => ({ png: row.png, etag: row.etag, route }));
  }

  /** Runs one batch on a GPU runner (large batches, a full in-process queue) or in process (WASM). */
  private async runOnRoute(
    model: ModelEntry,
    { raw: prompt, tokenIds }: { readonly raw: string; readonly tokenIds: Int32Array },
    psi: number,
    seeds: number[],
  ): Promise<{ pngs: Uint8Array[]; route: Route; runMs: number | null }> {
    const { wasmMaxBatch, wasmFallbackMaxBatch, wasmMaxQueue, retryAfterS } = this.routing;
    const wasmFull = () => model.wasm.depth + seeds.length > wasmMaxQueue;
    if (seeds.length > wasmMaxBatch || wasmFull()) {
      try {
        // The ids checkPrompt made: the runner gets them as its input_ids, never the prompt text.
        const res = await this.runners.generate({ tokenIds, seeds, psi }, model);
        return { pngs: res.pngs, route: 'runner', runMs: res.runMs };
      } catch (error) {
        if (!(error instanceof NoRunnerError)) throw error;
        if (seeds.length > wasmFallbackMaxBatch) {
          throw new EdgeError(
            503,
            'no_runner',
            // The runners' addresses and errors are in the cause, for the server log only.
            `${seeds.length} images need a GPU runner and none is available; batches of at most ${wasmFallbackMaxBatch} still run here`,
            {
              cause: error,
              headers: { 'retry-after': String(retryAfterS) },
            },
          );
        }
      }
    }
    if (wasmFull()) {
      throw new EdgeError(
        503,
        'busy',
        `${model.wasm.depth} images are queued in-process (WASM_MAX_QUEUE ${wasmMaxQueue}) and no GPU runner is available; retry later`,
        { headers: { 'retry-after': String(retryAfterS) } },
      );
    }
    const started = performance.now();
    // The ids checkPrompt made: the in-process generator encodes them without tokenizing again.
    const images = await model.wasm.generate(seeds.map((seed) => ({ prompt, seed, psi, tokenIds })));
    return { pngs: images.map((img) => img.png), route: 'wasm', runMs: performance.now() - started };
  }
}
