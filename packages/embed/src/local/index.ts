/**
 * The local-mode chunk (built to dist/embed-local-<hash>.js, loaded only by mode="local"): the
 * model package's own pipeline on onnxruntime-web, reading the same bundle the server uses, so an
 * image is the server's to within the parity bound. It runs on WebGPU where the page gets a
 * (non-fallback) adapter and a session can be made on it, else on WASM SIMD; each onnxruntime-web
 * build is a lazy chunk of its own, so a page without an adapter never loads the WebGPU one.
 */
import {
  AuroraInputError,
  AuroraInterpolator,
  AuroraPipeline,
  type BundleSource,
  encodeApng,
  type OrtModule,
  type SessionLoadOptions,
  urlBundle,
} from '@aurora-edge/model';
import type * as OrtWeb from 'onnxruntime-web/wasm';
import type { BackendPreference, LocalBackend } from '../events.ts';
import { type GpuChoice, requestGpu } from './webgpu.ts';

export type LocalStage = 'loading-model' | 'encoding-text' | 'generating';

/** Where the model and runtime come from, and how to report progress. */
export interface LocalRequestBase {
  /** The bundle folder URL (manifest.json and files beside it). */
  readonly bundleUrl: string;
  /** Where onnxruntime-web's dist files are served (ort-wasm-simd-threaded[.jspi|.asyncify].{mjs,wasm}). */
  readonly ortBase: string;
  /** Default `auto`. */
  readonly backend?: BackendPreference;
  readonly onStage?: (stage: LocalStage) => void;
}

export interface LocalRequest extends LocalRequestBase {
  readonly prompt: string;
  /** uint32; random when omitted. */
  readonly seed?: number;
  readonly psi?: number;
  /** "<w>x<h>": must be the bundle's size. */
  readonly size?: string;
}

export interface LocalImage {
  readonly seed: number;
  readonly psi: number;
  readonly width: number;
  readonly height: number;
  /** HWC uint8 RGB. */
  readonly pixels: Uint8Array;
  readonly png: Uint8Array;
  readonly backend: LocalBackend;
  /** The WebGPU adapter's description, when the browser tells it. */
  readonly adapter?: string;
  /** `auto` ran on WASM: why not WebGPU (`no-webgpu`, `no-adapter`, `fallback-adapter-only`, `webgpu-error: <message>`, ...). */
  readonly backendFallback?: string;
}

interface Loaded {
  readonly pipeline: AuroraPipeline;
  /** What made the pipeline, to make its interpolator the same way (on first use). */
  readonly ort: OrtModule;
  readonly source: BundleSource;
  readonly sessionOptions: SessionLoadOptions;
  /** The bundle's interpolation stages beside the pipeline (sharing its prompt encoder), once asked for. */
  interpolator?: Promise<AuroraInterpolator>;
  readonly backend: LocalBackend;
  readonly adapter?: string;
  readonly backendFallback?: string;
  /** Frees what a WebGPU pipeline holds on the GPU. */
  readonly release?: () => void;
  /** Tail of this pipeline's queue of runs (one session runs one call at a time). */
  queue: Promise<unknown>;
}

type Ort = typeof OrtWeb;

const pipelines = new Map<string, Promise<Loaded>>();
const configured = new WeakSet<object>();

/** Each onnxruntime-web build is configured once per page, before its first session: the first base wins. */
function configureOrt(ort: Ort, ortBase: string): Ort {
  if (configured.has(ort.env)) return ort;
  configured.add(ort.env);
  ort.env.wasm.wasmPaths = ortBase;
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page; elsewhere one thread.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.proxy = false;
  return ort;
}

/** Tail of this page's WebGPU session creations. */
let creatingOnGpu: Promise<unknown> = Promise.resolve();

/**
 * onnxruntime-web's WebGPU provider registers the device of the session being created in one slot
 * per page ("another WebGPU EP inference session is being created"), so WebGPU sessions (a
 * pipeline's text encoder and generator, other bundles' pipelines) are created one at a time.
 */
function oneSessionAtATime(ort: Ort): OrtModule {
  const create = (model: Uint8Array, options?: OrtWeb.InferenceSession.SessionOptions) => {
    const run = creatingOnGpu.then(() => ort.InferenceSession.create(model, options));
    creatingOnGpu = run.catch(() => undefined);
    return run;
  };
  return { InferenceSession: { create } as unknown as OrtModule['InferenceSession'], Tensor: ort.Tensor as unknown as OrtModule['Tensor'] };
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function loadOnWebGpu(source: BundleSource, gpu: GpuChoice, ortBase: string): Promise<Loaded> {
  // JSPI's runtime is 10 MB smaller (and a Worker can serve it): used wherever the browser has JSPI.
  const build = 'Suspending' in WebAssembly ? await import('./ort-webgpu-jspi.ts') : await import('./ort-webgpu.ts');
  const ort = configureOrt(build as unknown as Ort, ortBase);
  // onnxruntime-web 1.30 makes its own device from its own default adapter unless a device is
  // passed per session; env.webgpu.adapter only spares it a failing adapter request of its own.
  ort.env.webgpu.adapter = gpu.adapter;
  const sessionOptions = { executionProviders: [{ name: 'webgpu', device: gpu.device }] } as OrtWeb.InferenceSession.SessionOptions;
  const serial = oneSessionAtATime(ort);
  const pipeline = await AuroraPipeline.load(serial, source, { sessionOptions });
  // The interpolator's image stage on a GPU: the grouped-MoE form (no NonZero, no host round trip), as GPU runtimes load it.
  const loadOptions: SessionLoadOptions = { sessionOptions, generatorGraph: 'gpu' };
  return {
    pipeline,
    ort: serial,
    source,
    sessionOptions: loadOptions,
    backend: 'webgpu',
    adapter: gpu.description,
    release: () => gpu.device.destroy(),
    queue: Promise.resolve(),
  };
}

async function load(bundleUrl: string, preference: BackendPreference, ortBase: string, gpuError?: string): Promise<Loaded> {
  const source = await urlBundle(bundleUrl);
  let why = gpuError;
  if (preference === 'auto' && why === undefined) {
    const gpu = await requestGpu();
    if (typeof gpu === 'string') why = gpu;
    else {
      try {
        return await loadOnWebGpu(source, gpu, ortBase);
      } catch (error) {
        // A kernel it cannot compile, a lost device, a runtime file the server lacks: WASM instead.
        gpu.device.destroy();
        why = `webgpu-error: ${messageOf(error)}`;
        console.warn(`<aurora-image>: WebGPU unavailable (${why}); using WASM SIMD`);
      }
    }
  }
  const ort = configureOrt((await import('./ort-wasm.ts')) as unknown as Ort, ortBase) as unknown as OrtModule;
  const loadOptions: SessionLoadOptions = { sessionOptions: { executionProviders: ['wasm'] } };
  const pipeline = await AuroraPipeline.load(ort, source, loadOptions);
  return {
    pipeline,
    ort,
    source,
    sessionOptions: loadOptions,
    backend: 'wasm',
    backendFallback: preference === 'auto' ? why : undefined,
    queue: Promise.resolve(),
  };
}

const keyOf = (bundleUrl: string, preference: BackendPreference) => `${preference} ${bundleUrl}`;

/** Caches a load under `key`; a failed load is forgotten, so the next request retries it. */
function remember(key: string, loading: Promise<Loaded>): Promise<Loaded> {
  pipelines.set(key, loading);
  loading.catch(() => {
    if (pipelines.get(key) === loading) pipelines.delete(key);
  });
  return loading;
}

function pipelineFor(bundleUrl: string, preference: BackendPreference, ortBase: string): Promise<Loaded> {
  const key = keyOf(bundleUrl, preference);
  return pipelines.get(key) ?? remember(key, load(bundleUrl, preference, ortBase));
}

/** WASM pipelines that replaced a WebGPU one which failed while running: one per failed pipeline. */
const replacements = new WeakMap<Loaded, Promise<Loaded>>();

function wasmInstead(failed: Loaded, request: LocalRequestBase, preference: BackendPreference, why: string): Promise<Loaded> {
  let p = replacements.get(failed);
  if (!p) {
    failed.release?.();
    p = remember(keyOf(request.bundleUrl, preference), load(request.bundleUrl, preference, request.ortBase, why));
    replacements.set(failed, p);
  }
  return p;
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Runs `work` after this pipeline's earlier runs (its sessions run one call at a time). */
function queued<T>(loaded: Loaded, work: () => Promise<T>): Promise<T> {
  const next = loaded.queue.then(work);
  loaded.queue = next.catch(() => undefined);
  return next;
}

/**
 * `work` on this page's pipeline for the request's bundle; a WebGPU pipeline that fails while
 * running (device lost, a shader refused) is replaced by a WASM one for good, and `work` runs again.
 */
async function onPipeline<T>(request: LocalRequestBase, work: (loaded: Loaded) => Promise<T>): Promise<{ value: T; loaded: Loaded }> {
  const preference = request.backend ?? 'auto';
  let loaded = await pipelineFor(request.bundleUrl, preference, request.ortBase);
  try {
    return { value: await work(loaded), loaded };
  } catch (error) {
    if (loaded.backend !== 'webgpu' || error instanceof AuroraInputError) throw error;
    const why = `webgpu-error: ${messageOf(error)}`;
    console.warn(`<aurora-image>: WebGPU failed (${why}); using WASM SIMD`);
    request.onStage?.('loading-model');
    loaded = await wasmInstead(loaded, request, preference, why);
    return { value: await work(loaded), loaded };
  }
}

function checkSize(loaded: Loaded, size: string | undefined): void {
  const m = loaded.pipeline.manifest;
  const made = `${m.resolution}x${m.resolution}`;
  if (size !== undefined && size !== made) throw new AuroraInputError('size', `bundle ${m.id} makes ${made} images, not ${size}`);
}

/** Prompt -> pixels and PNG in this browser. Throws AuroraInputError (field named) for bad input. */
export async function generateLocal(request: LocalRequest): Promise<LocalImage> {
  request.onStage?.('loading-model');
  const seed = request.seed ?? randomSeed();
  const { value: image, loaded } = await onPipeline(request, (loaded) => {
    checkSize(loaded, request.size);
    return queued(loaded, async () => {
      const [image] = await loaded.pipeline.generate([{ prompt: request.prompt, seed, psi: request.psi }], { onStage: request.onStage });
      return image;
    });
  });
  const { backend, adapter, backendFallback } = loaded;
  return { seed, psi: image.psi, width: image.width, height: image.height, pixels: image.pixels, png: image.png, backend, adapter, backendFallback };
}

export interface LocalInterpolationRequest extends LocalRequestBase {
  readonly from: string;
  readonly to: string;
  readonly steps: number;
  /** uint32; random when omitted. */
  readonly seed?: number;
  readonly psi?: number;
  /** Blend the global text code too (`interpolate="local+global"`). */
  readonly interpolateGlobal?: boolean;
  /** `centre="text"`: truncate toward the text-conditional centre (the bundle's centerCount latents). */
  readonly centre?: 'none' | 'text';
  readonly size?: string;
  /** Display time of each animation frame. */
  readonly delayMs: number;
}

export interface LocalInterpolation {
  readonly seed: number;
  readonly psi: number;
  readonly width: number;
  readonly height: number;
  readonly frames: readonly { readonly index: number; readonly t: number; readonly pixels: Uint8Array; readonly png: Uint8Array }[];
  /** The frames as one looping animated PNG. */
  readonly apng: Uint8Array;
  readonly backend: LocalBackend;
  readonly adapter?: string;
  readonly backendFallback?: string;
}

function interpolatorOf(loaded: Loaded): Promise<AuroraInterpolator> {
  if (!loaded.interpolator) {
    const loading = AuroraInterpolator.load(loaded.ort, loaded.source, loaded.pipeline.text, loaded.sessionOptions);
    loaded.interpolator = loading;
    // A failed load is forgotten, so the next request retries it.
    loading.catch(() => {
      if (loaded.interpolator === loading) loaded.interpolator = undefined;
    });
  }
  return loaded.interpolator;
}

/** Two prompts -> every frame's pixels and PNG, and the APNG of them, in this browser (AuroraInputError names a bad field). */
export async function interpolateLocal(request: LocalInterpolationRequest): Promise<LocalInterpolation> {
  request.onStage?.('loading-model');
  const seed = request.seed ?? randomSeed();
  const { value: result, loaded } = await onPipeline(request, async (loaded) => {
    checkSize(loaded, request.size);
    if (!AuroraInterpolator.supports(loaded.pipeline.manifest)) {
      const m = loaded.pipeline.manifest;
      throw new AuroraInputError('model', `${m.id} ${m.version} has no interpolation stages`);
    }
    return queued(loaded, async () => {
      const interpolator = await interpolatorOf(loaded);
      request.onStage?.('generating');
      return interpolator.interpolate({
        from: request.from,
        to: request.to,
        steps: request.steps,
        seed,
        psi: request.psi,
        interpolateGlobal: request.interpolateGlobal ?? false,
        centerCount: request.centre === 'text' ? interpolator.manifest.sampling.centerCount : 0,
      });
    });
  });
  const { width, height, channels } = result.frames[0];
  const apng = encodeApng(
    result.frames.map((f) => f.pixels),
    width,
    height,
    channels as 1 | 3 | 4,
    { delayMs: request.delayMs, loops: 0 },
  );
  const frames = result.frames.map(({ index, t, pixels, png }) => ({ index, t, pixels, png }));
  const { backend, adapter, backendFallback } = loaded;
  return { seed, psi: result.psi, width, height, frames, apng, backend, adapter, backendFallback };
}
