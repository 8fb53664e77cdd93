import { generateViaApi, interpolateViaApi, type Rendered } from './api-mode.ts';
import { EmbedError, errorDetail } from './errors.ts';
import type { AuroraEventMap, AuroraLoadDetail, AuroraStartDetail } from './events.ts';
import { generateLocalOrApi, type Stage } from './local-mode.ts';
import { type ImageOptions, type InterpolationOptions, isInterpolation, readOptions } from './options.ts';
import { View, type ViewState } from './view.ts';

/** Where embed.js was loaded from: the default `api` (the gateway serves the script itself). */
const SCRIPT_BASE = new URL('.', import.meta.url).href;

/** Stage-based progress of mode="local": [label, stage number of 3]; the API fallback is indeterminate. */
const STAGES: Record<Stage, [label: string, step?: number]> = {
  'loading-model': ['Loading model…', 1],
  'encoding-text': ['Encoding text…', 2],
  generating: ['Generating…', 3],
  fallback: ['Generating on the server…'],
};

/**
 * `<aurora-image prompt="..." seed="..." psi="..." api="..." key="..." mode="api|local">`: shows a
 * placeholder with progress, then the image (alt = prompt), or a visible error. Regenerates
 * (debounced) when an attribute changes; a newer generation cancels the older one.
 *
 * With `from="..." to="..."` (instead of `prompt`; `steps`, `interpolate`, `centre`) it shows one
 * prompt turning into the other: the animated PNG playing, and under it a play/pause button and a
 * step slider (part "slider") that pauses on any frame.
 */
export class AuroraImageElement extends HTMLElement {
  static readonly observedAttributes = [
    'prompt',
    'seed',
    'psi',
    'model',
    'api',
    'key',
    'mode',
    'backend',
    'size',
    'bundle-url',
    'from',
    'to',
    'steps',
    'interpolate',
    'centre',
  ];
  /** Attribute changes within this many milliseconds start one generation. */
  static debounceMs = 100;

  private readonly view: View;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: AbortController | null = null;
  /** The blob: URLs of what is shown (a local image, or a local animation and its frames), revoked when replaced. */
  private owned: readonly string[] = [];

  constructor() {
    super();
    this.view = new View(this.attachShadow({ mode: 'open' }));
  }

  /** 'idle' (no prompt), 'loading', 'loaded' or 'error'. */
  get state(): ViewState {
    return this.view.state;
  }

  connectedCallback(): void {
    this.schedule();
  }

  disconnectedCallback(): void {
    clearTimeout(this.timer);
    this.current?.abort();
    this.current = null;
  }

  attributeChangedCallback(_name: string, old: string | null, value: string | null): void {
    if (old !== value && this.isConnected) this.schedule();
  }

  /** Generates now (no debounce); resolves when the image is shown or the error state is. */
  refresh(): Promise<void> {
    clearTimeout(this.timer);
    return this.generate();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    // Nothing shown yet: the placeholder appears at once, not after the debounce.
    if (this.view.state === 'idle' && (this.getAttribute('prompt')?.trim() || isInterpolation(this))) this.view.loading('Generating…');
    this.timer = setTimeout(() => void this.generate(), AuroraImageElement.debounceMs);
  }

  private emit<K extends keyof AuroraEventMap>(type: K, detail: AuroraEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private async generate(): Promise<void> {
    this.current?.abort();
    const run = new AbortController();
    this.current = run;
    let options: ImageOptions | null = null;
    try {
      options = readOptions(this, SCRIPT_BASE);
      const o = options;
      const i = o.interpolation;
      if (!i && o.prompt.trim() === '') return this.view.idle();
      const start: AuroraStartDetail = i
        ? { mode: o.mode, prompt: animationAlt(i), from: i.from, to: i.to, steps: i.steps, seed: o.seed, psi: o.psi, model: o.model }
        : { mode: o.mode, prompt: o.prompt, seed: o.seed, psi: o.psi, model: o.model };
      this.emit('aurora-start', start);
      let rendered: Rendered;
      if (o.mode === 'local') {
        const onStage = (stage: Stage) => {
          if (!run.signal.aborted) this.view.loading(STAGES[stage][0], STAGES[stage][1], 3);
        };
        rendered = await generateLocalOrApi(o, onStage, run.signal);
      } else {
        this.view.loading('Generating…');
        rendered = i ? await interpolateViaApi({ ...o, interpolation: i }, run.signal) : await generateViaApi(o, run.signal);
      }
      if (run.signal.aborted) return this.release(rendered);
      await this.show(rendered, o, run.signal);
    } catch (error) {
      if (run.signal.aborted) return;
      const detail = errorDetail(error, options?.api ?? SCRIPT_BASE);
      this.view.failed(detail);
      this.emit('aurora-error', detail);
    }
  }

  private async show(r: Rendered, o: ImageOptions, signal: AbortSignal): Promise<void> {
    let size: { width: number; height: number };
    const i = o.interpolation;
    try {
      size =
        i && r.frames
          ? await this.view.interpolation(
              r.src,
              animationAlt(i),
              r.frames.map((f) => ({ src: f.src, alt: frameAlt(i, f.index) })),
            )
          : await this.view.image(r.src, o.prompt);
    } catch {
      this.release(r);
      if (signal.aborted) return;
      throw new EmbedError('image_load_failed', `the image at ${r.src} could not be loaded`);
    }
    const owned = ownedUrls(r);
    for (const url of this.owned) if (!owned.includes(url)) URL.revokeObjectURL(url);
    this.owned = owned;
    if (signal.aborted) return;
    const detail: AuroraLoadDetail = { seed: r.seed, route: r.route, cached: r.cached, local: r.local, src: r.src, ...size };
    const local = r.backend
      ? { backend: r.backend, ...(r.adapter ? { adapter: r.adapter } : {}), ...(r.backendFallback ? { backendFallback: r.backendFallback } : {}) }
      : {};
    const frames = r.frames ? { steps: r.frames.length, frames: r.frames } : {};
    this.emit('aurora-load', { ...detail, ...(r.fallback ? { fallback: r.fallback } : {}), ...(r.pixels ? { pixels: r.pixels } : {}), ...local, ...frames });
  }

  private release(r: Rendered): void {
    for (const url of ownedUrls(r)) URL.revokeObjectURL(url);
  }
}

const ownedUrls = (r: Rendered): string[] => (r.ownsSrc ? [r.src, ...(r.frames ?? []).map((f) => f.src)] : []);

/** The animation's alt text (and `aurora-start`'s `prompt` for an interpolation). */
const animationAlt = (i: InterpolationOptions) => `${i.from} → ${i.to}`;
const frameAlt = (i: InterpolationOptions, index: number) => `${animationAlt(i)}, step ${index + 1} of ${i.steps}`;

/** Registers `<aurora-image>` (once; a second call is a no-op). */
export function defineAuroraImage(name = 'aurora-image'): void {
  if (!customElements.get(name)) customElements.define(name, AuroraImageElement);
}

declare global {
  interface HTMLElementTagNameMap {
    'aurora-image': AuroraImageElement;
  }
  interface HTMLElementEventMap {
    'aurora-start': AuroraEventMap['aurora-start'];
    'aurora-load': AuroraEventMap['aurora-load'];
    'aurora-error': AuroraEventMap['aurora-error'];
  }
}
