/** The element's events. All bubble and cross the shadow boundary (composed). */

export type Mode = 'api' | 'local';

/** What generated a local image: onnxruntime-web's WebGPU provider or its WASM SIMD build. */
export type LocalBackend = 'webgpu' | 'wasm';
/** The `backend` attribute: `auto` (WebGPU when the page gets an adapter, else WASM) or `wasm`. */
export type BackendPreference = 'auto' | 'wasm';

/** `aurora-start`: a generation began (after the debounce). */
export interface AuroraStartDetail {
  readonly mode: Mode;
  /** The prompt; for an interpolation `<from> → <to>` (the animation's alt text). */
  readonly prompt: string;
  /** An interpolation's prompts and frame count. */
  readonly from?: string;
  readonly to?: string;
  readonly steps?: number;
  readonly seed?: number;
  readonly psi?: number;
  readonly model: string;
}

/** `aurora-load`: the image is shown. */
export interface AuroraLoadDetail {
  readonly seed: number;
  /** `x-aurora-route` of the API ("cache", "wasm", "runner"), or "local" when made in this browser. */
  readonly route: string;
  readonly cached: boolean;
  /** True when the image was generated in this browser. */
  readonly local: boolean;
  /** Set when mode="local" fell back to the API: why local generation was not possible. */
  readonly fallback?: string;
  /** What the <img> shows: the API's image URL, or a blob: URL of the local PNG (for an interpolation: of its animated PNG). */
  readonly src: string;
  readonly width: number;
  readonly height: number;
  /** Local images only: the raw HWC uint8 RGB samples, exactly what the PNG holds. */
  readonly pixels?: Uint8Array;
  /** Local images only: `webgpu` or `wasm`. */
  readonly backend?: LocalBackend;
  /** WebGPU only, when the browser tells it: the adapter's description (or vendor and architecture). */
  readonly adapter?: string;
  /**
   * `backend="auto"` ran on WASM: why not WebGPU. `no-webgpu` (no API: browser, flag or insecure
   * context), `no-adapter`, `fallback-adapter-only` (a software adapter such as SwiftShader),
   * `webgpu-device-error: <message>`, `webgpu-error: <message>` (no session, or the run failed).
   */
  readonly backendFallback?: string;
  /** An interpolation: its frame count, and its frames in order (URL or blob: URL of each PNG; local: `pixels` too). */
  readonly steps?: number;
  readonly frames?: readonly AuroraFrame[];
}

/** One frame of an interpolation, as the step slider shows it. */
export interface AuroraFrame {
  readonly index: number;
  /** Blend weight toward `to`, [0, 1]. */
  readonly t: number;
  readonly src: string;
  /** Local frames only: the raw HWC uint8 RGB samples. */
  readonly pixels?: Uint8Array;
}

/** `aurora-error`: shown as the element's visible error state too. */
export interface AuroraErrorDetail {
  /** HTTP status; absent when no response could be read (network, CORS) or nothing was sent. */
  readonly status?: number;
  /** The gateway's code (`invalid_api_key`, `origin_not_allowed`, `rate_limited`, ...) or the element's own (`network_error`, `invalid_attribute`, `image_load_failed`). */
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** Seconds, from Retry-After (429). */
  readonly retryAfter?: number;
}

export interface AuroraEventMap {
  'aurora-start': CustomEvent<AuroraStartDetail>;
  'aurora-load': CustomEvent<AuroraLoadDetail>;
  'aurora-error': CustomEvent<AuroraErrorDetail>;
}
