/**
 * The local-mode chunk (built to dist/embed-local-<hash>.js, loaded only by mode="local"): the
 * model package's own pipeline on onnxruntime-web's WASM SIMD build, reading the same bundle the
 * server uses, so an image is the server's to within the parity bound.
 */
import { AuroraInputError, AuroraPipeline, type OrtModule, urlBundle } from '@aurora-edge/model';
import * as ort from 'onnxruntime-web/wasm';

export type LocalStage = 'loading-model' | 'encoding-text' | 'generating';

export interface LocalRequest {
  /** The bundle folder URL (manifest.json and files beside it). */
  readonly bundleUrl: string;
  /** Where onnxruntime-web's dist files are served (ort-wasm-simd-threaded.{mjs,wasm}). */
  readonly ortBase: string;
  readonly prompt: string;
  /** uint32; random when omitted. */
  readonly seed?: number;
  readonly psi?: number;
  /** "<w>x<h>": must be the bundle's size. */
  readonly size?: string;
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
}

interface Loaded {
  readonly pipeline: AuroraPipeline;
  /** Tail of this pipeline's queue of runs (one WASM session runs one call at a time). */
  queue: Promise<unknown>;
}

const pipelines = new Map<string, Promise<Loaded>>();
let ortBaseInUse: string | null = null;

/** onnxruntime-web is configured once per page, before its first session: the first base wins. */
function configureOrt(ortBase: string): void {
  if (ortBaseInUse !== null) return;
  ortBaseInUse = ortBase;
  ort.env.wasm.wasmPaths = ortBase;
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page; elsewhere one thread.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.proxy = false;
}

async function load(bundleUrl: string): Promise<Loaded> {
  const source = await urlBundle(bundleUrl);
  const pipeline = await AuroraPipeline.load(ort as unknown as OrtModule, source, { sessionOptions: { executionProviders: ['wasm'] } });
  return { pipeline, queue: Promise.resolve() };
}

function pipelineFor(bundleUrl: string): Promise<Loaded> {
  let p = pipelines.get(bundleUrl);
  if (!p) {
    p = load(bundleUrl);
    pipelines.set(bundleUrl, p);
    p.catch(() => pipelines.delete(bundleUrl)); // a failed load is retried by the next request
  }
  return p;
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Prompt -> pixels and PNG in this browser. Throws AuroraInputError (field named) for bad input. */
export async function generateLocal(request: LocalRequest): Promise<LocalImage> {
  configureOrt(request.ortBase);
  request.onStage?.('loading-model');
  const loaded = await pipelineFor(request.bundleUrl);
  const m = loaded.pipeline.manifest;
  const size = `${m.resolution}x${m.resolution}`;
  if (request.size !== undefined && request.size !== size) throw new AuroraInputError('size', `bundle ${m.id} makes ${size} images, not ${request.size}`);
  const seed = request.seed ?? randomSeed();
  const run = loaded.queue.then(async () => {
    const [image] = await loaded.pipeline.generate([{ prompt: request.prompt, seed, psi: request.psi }], { onStage: request.onStage });
    return image;
  });
  loaded.queue = run.catch(() => undefined);
  const image = await run;
  return { seed, psi: image.psi, width: image.width, height: image.height, pixels: image.pixels, png: image.png };
}
