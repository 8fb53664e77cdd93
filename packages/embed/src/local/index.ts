/**
 * The local-mode chunk (built to dist/embed-local-<hash>.js, loaded only by mode="local"): the
 * model package's own pipeline on onnxruntime-web, reading the same bundle the server uses, so an
 * image is the server's to within the parity bound. It runs on WebGPU where the page gets a
 * (non-fallback) adapter and a session can be made on it, else on WASM SIMD; each onnxruntime-web
 * build is a lazy chunk of its own, so a page without an adapter never loads the WebGPU one.
 */
import { AuroraInputError, AuroraPipeline, type BundleSource, type OrtModule, urlBundle } from '@aurora-edge/model';
import type * as OrtWeb from 'onnxruntime-web/wasm';
import type { BackendPreference, LocalBackend } from '../events.ts';
import { type GpuChoice, requestGpu } from './webgpu.ts';

export type LocalStage = 'loading-model' | 'encoding-text' | 'generating';

export interface LocalRequest {
  /** The bundle folder URL (manifest.json and files beside it). */
  readonly bundleUrl: string;
  /** Where onnxruntime-web's dist files are served (ort-wasm-simd-threaded[.jspi|.asyncify].{mjs,wasm}). */
  readonly ortBase: string;
  readonly prompt: string;
  /** uint32; random when omitted. */
  readonly seed?: number;
  readonly psi?: number;
  /** "<w>x<h>": must be the bundle's size. */
  readonly size?: string;
  /** Default `auto`. */
  readonly backend?: BackendPreference;
  readonly onStage?: (stage: LocalStage) => void;
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
  const pipeline = await AuroraPipeline.load(oneSessionAtATime(ort), source, { sessionOptions });
  return { pipeline, backend: 'webgpu', adapter: gpu.description, release: () => gpu.device.destroy(), queue: Promise.resolve() };
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
  const ort = configureOrt((await import('./ort-wasm.ts')) as unknown as Ort, ortBase);
  const pipeline = await AuroraPipeline.load(ort as unknown as OrtModule, source, { sessionOptions: { executionProviders: ['wasm'] } });
  return { pipeline, backend: 'wasm', backendFallback: preference === 'auto' ? why : undefined, queue: Promise.resolve() };
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

function wasmInstead(failed: Loaded, request: LocalRequest, preference: BackendPreference, why: string): Promise<Loaded> {
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

async function run(loaded: Loaded, request: LocalRequest, seed: number) {
  const next = loaded.queue.then(async () => {
    const [image] = await loaded.pipeline.generate([{ prompt: request.prompt, seed, psi: request.psi }], { onStage: request.onStage });
    return image;
  });
  loaded.queue = next.catch(() => undefined);
  return next;
}

/** Prompt -> pixels and PNG in this browser. Throws AuroraInputError (field named) for bad input. */
export async function generateLocal(request: LocalRequest): Promise<LocalImage> {
  const preference = request.backend ?? 'auto';
  request.onStage?.('loading-model');
  let loaded = await pipelineFor(request.bundleUrl, preference, request.ortBase);
  const m = loaded.pipeline.manifest;
  const size = `${m.resolution}x${m.resolution}`;
  if (request.size !== undefined && request.size !== size) throw new AuroraInputError('size', `bundle ${m.id} makes ${size} images, not ${request.size}`);
  const seed = request.seed ?? randomSeed();
  let image: Awaited<ReturnType<typeof run>>;
  try {
    image = await run(loaded, request, seed);
  } catch (error) {
    if (loaded.backend !== 'webgpu' || error instanceof AuroraInputError) throw error;
    // Created, then failed on the GPU (device lost, a shader refused): this page uses WASM from now on.
    const why = `webgpu-error: ${messageOf(error)}`;
    console.warn(`<aurora-image>: WebGPU failed (${why}); using WASM SIMD`);
    request.onStage?.('loading-model');
    loaded = await wasmInstead(loaded, request, preference, why);
    image = await run(loaded, request, seed);
  }
  const { backend, adapter, backendFallback } = loaded;
  return { seed, psi: image.psi, width: image.width, height: image.height, pixels: image.pixels, png: image.png, backend, adapter, backendFallback };
}
