import { AuroraInputError, AuroraInterpolator, interpolationWeights, sha256Hex } from '@aurora-edge/model';
import { type CentreMode, canonicalFloat32, type InterpolateMode, type InterpolationKeyParts, interpolationKey, normalisePrompt } from '../cache/key.ts';
import type { CachedImage, ImageStore, ImageToStore } from '../cache/store.ts';
import { EdgeError, isDatabaseBusy } from '../errors.ts';
import type { ModelEntry, ModelRegistry } from './models.ts';
import { generateMissesOnce, type RoutingConfig, randomSeed } from './service.ts';
import { SingleFlight } from './single-flight.ts';
import type { AnimationOptions } from './wasm.ts';

/** The animation every interpolation gets: 120 ms a frame, looping forever (part of its cache key). */
export const ANIMATION: AnimationOptions = { delayMs: 120, loops: 0 };

export interface InterpolationInput {
  readonly from: string;
  readonly to: string;
  readonly steps: number;
  readonly seed?: number;
  readonly psi?: number;
  readonly interpolate: InterpolateMode;
  readonly centre: CentreMode;
  readonly model?: string;
  /** Whether the caller needs every frame's and the animation's bytes (b64_json). */
  readonly withPng: boolean;
  /** Whether the caller needs the animation's bytes (format "apng"). */
  readonly withAnimation: boolean;
  readonly defer: (work: Promise<unknown>) => void;
  /** Charges the request (429 when refused): called once, only when this request starts the frame set's work. */
  readonly admit?: (misses: number) => Promise<void>;
}

export interface StoredPart {
  /** The cache key, also the image id. */
  readonly id: string;
  readonly etag: string;
  readonly png?: Uint8Array;
}

export interface InterpolationResult {
  readonly model: ModelEntry;
  readonly seed: number;
  readonly psi: number;
  readonly steps: number;
  readonly interpolate: InterpolateMode;
  readonly centre: CentreMode;
  /** cache: every part was stored already; wasm: the frame set was made in-process by this request or one it joined. */
  readonly route: 'cache' | 'wasm';
  readonly frames: readonly (StoredPart & { readonly index: number; readonly t: number })[];
  readonly animation: StoredPart;
}

/** A frame set as made: every part's bytes and validator, frames first, the animation last. */
type Produced = readonly { readonly id: string; readonly etag: string; readonly png: Uint8Array }[];

/**
 * POST /v1/images/interpolations from start to finish: resolve the model (it must have generator
 * stages), seed and psi; look every frame and the animation up in the image cache (each under its
 * own key); when any is missing, make the whole frame set once (single flight keyed by the
 * animation's key, which names the set; one charge) in the in-process generator (WASM: on Node its
 * worker thread, on Workers the isolate; GPU runners only do generations), and store every part in
 * one write.
 */
export class InterpolationService {
  private readonly flight = new SingleFlight<Produced>();

  constructor(
    private readonly models: ModelRegistry,
    private readonly store: ImageStore,
    private readonly routing: RoutingConfig,
    private readonly options: { readonly now?: () => number; readonly onGenerated?: (route: 'wasm', count: number) => void } = {},
  ) {}

  /** Frame sets being made right now. */
  get inFlight(): number {
    return this.flight.size;
  }

  async interpolate(input: InterpolationInput): Promise<InterpolationResult> {
    try {
      return await this.lookUpAndInterpolate(input);
    } catch (error) {
      if (error instanceof AuroraInputError) {
        // The model package names psi as it calls it; the API calls it truncation_psi.
        const field = error.field === 'psi' ? 'truncation_psi' : error.field;
        throw new EdgeError(400, 'invalid_request', error.message.replace(/^psi:/, 'truncation_psi:'), { field, cause: error });
      }
      throw !(error instanceof EdgeError) && isDatabaseBusy(error) ? EdgeError.databaseBusy(this.routing.retryAfterS, error) : error;
    }
  }

  private async lookUpAndInterpolate(input: InterpolationInput): Promise<InterpolationResult> {
    const model = this.models.resolve(input.model);
    if (!AuroraInterpolator.supports(model.manifest)) {
      throw EdgeError.badRequest(
        'model',
        `${model.id} ${model.manifest.version} cannot interpolate: its bundle has no generator stages (add them with \`aurora upgrade <bundle-dir>\` and restart)`,
      );
    }
    const from = normalisePrompt(input.from);
    const to = normalisePrompt(input.to);
    if (from === '') throw EdgeError.badRequest('from', 'is empty once whitespace is removed');
    if (to === '') throw EdgeError.badRequest('to', 'is empty once whitespace is removed');
    await model.checkPrompt(input.from, 'from');
    await model.checkPrompt(input.to, 'to');
    const psi = canonicalFloat32(input.psi ?? model.manifest.sampling.defaultPsi);
    const seed = input.seed ?? randomSeed(1);
    const { steps, interpolate, centre } = input;
    const parts: InterpolationKeyParts = { contentHash: model.contentHash, from, to, steps, seed, psi, interpolate, centre };
    const frameKeys = Array.from({ length: steps }, (_, index) => interpolationKey(parts, { index }));
    const animationKey = interpolationKey(parts, { animation: ANIMATION });
    const keys = [...frameKeys, animationKey];
    const weights = interpolationWeights(steps);
    const answer = (route: 'cache' | 'wasm', part: (key: string) => StoredPart): InterpolationResult => ({
      model,
      seed,
      psi,
      steps,
      interpolate,
      centre,
      route,
      frames: frameKeys.map((key, index) => ({ ...part(key), index, t: weights[index] })),
      animation: part(animationKey),
    });

    const hits = await this.store.lookup(keys, input.withPng);
    if (hits.size === keys.length && input.withAnimation && !hits.get(animationKey)?.png) {
      // format "apng" needs the animation's bytes only; a row gone since the lookup is a miss.
      const animation = await this.store.image(animationKey);
      if (animation) hits.set(animationKey, animation);
      else hits.delete(animationKey);
    }
    if (hits.size === keys.length) {
      this.store.recordHits(keys, input.defer);
      return answer('cache', (key) => stored(hits.get(key)!));
    }
    // Any part missing (never made, or evicted): the whole set is made again, as one batch.
    const made = await generateMissesOnce(this.flight, input.admit && ((n) => input.admit!(n)), [animationKey], async () => [
      await this.interpolateAndStore(model, input, { from, to, seed, psi }, keys),
    ]);
    const byKey = new Map(made.get(animationKey)!.map((p) => [p.id, p]));
    return answer('wasm', (key) => byKey.get(key)!);
  }

  /** Makes every frame and the animation in-process and stores them in one write. */
  private async interpolateAndStore(
    model: ModelEntry,
    input: InterpolationInput,
    norm: { from: string; to: string; seed: number; psi: number },
    keys: readonly string[],
  ): Promise<Produced> {
    const { steps } = input;
    const { wasmMaxQueue, retryAfterS } = this.routing;
    // The in-process queue's bound, counted in frames; a set larger than the bound runs when the queue is empty.
    const depth = model.wasm.depth;
    if (depth > 0 && depth + steps > wasmMaxQueue) {
      throw new EdgeError(
        503,
        'busy',
        `${depth} images are queued in-process (WASM_MAX_QUEUE ${wasmMaxQueue}); interpolations run only there (not on GPU runners): retry later`,
        { headers: { 'retry-after': String(retryAfterS) } },
      );
    }
    const started = performance.now();
    const out = await model.wasm.interpolate(
      {
        from: input.from,
        to: input.to,
        steps,
        seed: norm.seed,
        psi: norm.psi,
        interpolateGlobal: input.interpolate === 'local+global',
        centerCount: input.centre === 'text' ? model.manifest.sampling.centerCount : 0,
      },
      ANIMATION,
    );
    const generateMs = performance.now() - started;
    if (out.frames.length !== steps) throw new Error(`the interpolation made ${out.frames.length} frames, expected ${steps}`);
    const createdAt = (this.options.now ?? Date.now)();
    const pngs = [...out.frames.map((f) => f.png), out.apng];
    const label = `${norm.from} → ${norm.to}`;
    const rows: ImageToStore[] = keys.map((key, i) => ({
      key,
      model: model.id,
      contentHash: model.contentHash,
      prompt: i < steps ? `${label} (frame ${i + 1} of ${steps})` : `${label} (animation, ${steps} frames)`,
      seed: norm.seed,
      psi: norm.psi,
      size: model.size,
      png: pngs[i],
      etag: sha256Hex(pngs[i]),
      route: 'wasm',
      generateMs,
      runMs: generateMs,
      createdAt,
    }));
    await this.store.save(rows);
    this.options.onGenerated?.('wasm', steps);
    return rows.map((row) => ({ id: row.key, etag: row.etag, png: row.png }));
  }
}

function stored(hit: CachedImage): StoredPart {
  return { id: hit.key, etag: hit.etag, png: hit.png };
}
