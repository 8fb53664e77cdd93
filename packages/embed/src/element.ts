import { generateViaApi, type Rendered } from './api-mode.ts';
import { EmbedError, errorDetail } from './errors.ts';
import type { AuroraEventMap, AuroraLoadDetail, AuroraStartDetail } from './events.ts';
import { generateLocalOrApi, type Stage } from './local-mode.ts';
import { type ImageOptions, readOptions } from './options.ts';
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
 */
export class AuroraImageElement extends HTMLElement {
  static readonly observedAttributes = ['prompt', 'seed', 'psi', 'model', 'api', 'key', 'mode', 'backend', 'size', 'bundle-url'];
  /** Attribute changes within this many milliseconds start one generation. */
  static debounceMs = 100;

  private readonly view: View;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: AbortController | null = null;
  private blobUrl: string | null = null;

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
    if (this.view.state === 'idle' && this.getAttribute('prompt')?.trim()) this.view.loading('Generating…');
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
      if (options.prompt.trim() === '') return this.view.idle();
      const o = options;
      this.emit('aurora-start', { mode: o.mode, prompt: o.prompt, seed: o.seed, psi: o.psi, model: o.model } satisfies AuroraStartDetail);
      let rendered: Rendered;
      if (o.mode === 'local') {
        const onStage = (stage: Stage) => {
          if (!run.signal.aborted) this.view.loading(STAGES[stage][0], STAGES[stage][1], 3);
        };
        rendered = await generateLocalOrApi(o, onStage, run.signal);
      } else {
        this.view.loading('Generating…');
        rendered = await generateViaApi(o, run.signal);
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
    try {
      size = await this.view.image(r.src, o.prompt);
    } catch {
      this.release(r);
      if (signal.aborted) return;
      throw new EmbedError('image_load_failed', `the image at ${r.src} could not be loaded`);
    }
    if (this.blobUrl && this.blobUrl !== r.src) URL.revokeObjectURL(this.blobUrl);
    this.blobUrl = r.ownsSrc ? r.src : null;
    if (signal.aborted) return;
    const detail: AuroraLoadDetail = { seed: r.seed, route: r.route, cached: r.cached, local: r.local, src: r.src, ...size };
    const local = r.backend
      ? { backend: r.backend, ...(r.adapter ? { adapter: r.adapter } : {}), ...(r.backendFallback ? { backendFallback: r.backendFallback } : {}) }
      : {};
    this.emit('aurora-load', { ...detail, ...(r.fallback ? { fallback: r.fallback } : {}), ...(r.pixels ? { pixels: r.pixels } : {}), ...local });
  }

  private release(r: Rendered): void {
    if (r.ownsSrc) URL.revokeObjectURL(r.src);
  }
}

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
