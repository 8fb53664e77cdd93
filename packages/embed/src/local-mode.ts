import { generateViaApi, interpolateViaApi, type Rendered } from './api-mode.ts';
import { EmbedError } from './errors.ts';
import type { LocalStage } from './local/index.ts';
import type { ImageOptions, InterpolationOptions } from './options.ts';

/** Display time of each frame of an animation: the gateway's (and the CLI's default). */
export const FRAME_DELAY_MS = 120;

/** A module that uses one v128 SIMD instruction: it validates only where WebAssembly SIMD works. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Why this browser cannot generate locally, or null when it can. */
export function localUnsupportedReason(): string | null {
  if (typeof WebAssembly !== 'object') return 'no-webassembly';
  try {
    if (!WebAssembly.validate(SIMD_PROBE)) return 'no-wasm-simd';
  } catch {
    return 'no-wasm-simd';
  }
  return null;
}

export type Stage = LocalStage | 'fallback';

/** mode="local": the model in this browser (onnxruntime-web on WebGPU or WASM SIMD), lazily loaded as further chunks. */
export async function generateLocally(o: ImageOptions, onStage: (stage: LocalStage) => void): Promise<Rendered> {
  const reason = localUnsupportedReason();
  if (reason) throw new LocalUnavailable(reason);
  onStage('loading-model');
  // A separate chunk (dist/embed-local-<hash>.js): onnxruntime-web and the model never weigh on API mode.
  const local = await import('./local/index.ts');
  const out = await local.generateLocal({
    bundleUrl: o.bundleUrl,
    ortBase: `${o.api}/ort/`,
    prompt: o.prompt,
    seed: o.seed,
    psi: o.psi,
    size: o.size,
    backend: o.backend,
    onStage,
  });
  const src = URL.createObjectURL(new Blob([out.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const backend = { backend: out.backend, adapter: out.adapter, backendFallback: out.backendFallback };
  return { src, ownsSrc: true, seed: out.seed, route: 'local', cached: false, local: true, pixels: out.pixels, ...backend };
}

const pngUrl = (png: Uint8Array) => URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));

/** mode="local" with `from` and `to`: every frame and their animated PNG made in this browser, shown from blob: URLs. */
export async function interpolateLocally(o: ImageOptions & { interpolation: InterpolationOptions }, onStage: (stage: LocalStage) => void): Promise<Rendered> {
  const reason = localUnsupportedReason();
  if (reason) throw new LocalUnavailable(reason);
  onStage('loading-model');
  const local = await import('./local/index.ts');
  const i = o.interpolation;
  const out = await local.interpolateLocal({
    bundleUrl: o.bundleUrl,
    ortBase: `${o.api}/ort/`,
    from: i.from,
    to: i.to,
    steps: i.steps,
    seed: o.seed,
    psi: o.psi,
    interpolateGlobal: i.interpolate === 'local+global',
    centre: i.centre,
    size: o.size,
    backend: o.backend,
    delayMs: FRAME_DELAY_MS,
    onStage,
  });
  const frames = out.frames.map((f) => ({ index: f.index, t: f.t, src: pngUrl(f.png), pixels: f.pixels }));
  const backend = { backend: out.backend, adapter: out.adapter, backendFallback: out.backendFallback };
  return { src: pngUrl(out.apng), ownsSrc: true, frames, seed: out.seed, route: 'local', cached: false, local: true, ...backend };
}

/** Local generation that falls back to the API when it cannot run here, saying why. */
export function generateLocalOrApi(o: ImageOptions, onStage: (stage: Stage) => void, signal: AbortSignal): Promise<Rendered> {
  if (o.interpolation) {
    const io = o as ImageOptions & { interpolation: InterpolationOptions };
    return localOrApi(
      () => interpolateLocally(io, onStage),
      () => interpolateViaApi(io, signal),
      onStage,
      signal,
    );
  }
  return localOrApi(
    () => generateLocally(o, onStage),
    () => generateViaApi(o, signal),
    onStage,
    signal,
  );
}

async function localOrApi(
  local: () => Promise<Rendered>,
  api: () => Promise<Rendered>,
  onStage: (stage: Stage) => void,
  signal: AbortSignal,
): Promise<Rendered> {
  try {
    return await local();
  } catch (error) {
    if (signal.aborted) throw error;
    // A bad prompt or seed is the caller's to fix, not a reason to ask the server (it would refuse too).
    if (error instanceof Error && error.name === 'AuroraInputError') {
      throw new EmbedError('invalid_request', error.message, (error as Error & { field?: string }).field);
    }
    const reason = error instanceof LocalUnavailable ? error.reason : `local-error: ${error instanceof Error ? error.message : String(error)}`;
    console.warn(`<aurora-image>: local generation unavailable (${reason}); using the API`);
    onStage('fallback');
    return { ...(await api()), fallback: reason };
  }
}

class LocalUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`local generation unavailable: ${reason}`);
  }
}
