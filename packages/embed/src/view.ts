import type { AuroraErrorDetail } from './events.ts';

export type ViewState = 'idle' | 'loading' | 'loaded' | 'error';

const STYLE = `
:host { display: inline-block; position: relative; width: 256px; aspect-ratio: 1; vertical-align: top; contain: content;
  font: 13px/1.4 system-ui, sans-serif; color: #333; }
:host([hidden]) { display: none; }
.frame { position: absolute; inset: 0; overflow: hidden; border-radius: 6px; background: #ececec; }
img { display: block; width: 100%; height: 100%; object-fit: cover; image-rendering: pixelated; }
.placeholder, .error { position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center;
  justify-content: safe center; gap: 6px; padding: 8px; box-sizing: border-box; text-align: center; overflow: auto; }
.placeholder { background: linear-gradient(110deg, #ececec 8%, #f7f7f7 18%, #ececec 33%); background-size: 200% 100%;
  animation: shimmer 1.4s linear infinite; }
progress { width: 70%; }
.error { background: #fdecea; color: #8a1c12; font-size: 12px; overflow-wrap: anywhere; }
.error strong { font-size: 13px; }
.error code { font-size: 11px; font-weight: bold; }
[hidden] { display: none !important; }
@keyframes shimmer { to { background-position-x: -200%; } }
@media (prefers-reduced-motion: reduce) { .placeholder { animation: none; } }
`;

const TEMPLATE = `<style>${STYLE}</style>
<div class="frame" part="frame">
  <img part="image" hidden>
  <div class="placeholder" part="placeholder" hidden>
    <progress part="progress" aria-label="Generating image"></progress>
    <span class="status" part="status" role="status" aria-live="polite"></span>
  </div>
  <div class="error" part="error" role="alert" hidden><strong>Image unavailable</strong><code class="code"></code><span class="message"></span></div>
</div>`;

/** The element's shadow DOM: placeholder with progress, the image, or a visible error. */
export class View {
  readonly img: HTMLImageElement;
  private readonly placeholder: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly status: HTMLElement;
  private readonly error: HTMLElement;
  state: ViewState = 'idle';

  constructor(root: ShadowRoot) {
    root.innerHTML = TEMPLATE;
    const $ = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    this.img = $('img');
    this.placeholder = $('.placeholder');
    this.progress = $('progress');
    this.status = $('.status');
    this.error = $('.error');
  }

  private show(state: ViewState): void {
    this.state = state;
    this.img.hidden = state !== 'loaded';
    this.placeholder.hidden = state !== 'loading';
    this.error.hidden = state !== 'error';
  }

  idle(): void {
    this.show('idle');
  }

  /** Indeterminate progress (`step` absent) or step `step` of `steps`. */
  loading(label: string, step?: number, steps?: number): void {
    this.show('loading');
    this.status.textContent = label;
    if (step === undefined) {
      this.progress.removeAttribute('value');
    } else {
      this.progress.max = steps ?? 1;
      this.progress.value = step;
    }
  }

  /** Loads `src` into the image (resolves once decoded, rejects if it cannot be loaded). */
  async image(src: string, alt: string): Promise<{ width: number; height: number }> {
    this.img.alt = alt;
    this.img.src = src;
    await this.img.decode();
    this.show('loaded');
    return { width: this.img.naturalWidth, height: this.img.naturalHeight };
  }

  failed(detail: AuroraErrorDetail): void {
    this.show('error');
    const retry = detail.retryAfter !== undefined ? `${/[.!?]$/.test(detail.message) ? '' : '.'} Try again in ${detail.retryAfter} s.` : '';
    (this.error.querySelector('.message') as HTMLElement).textContent = `${detail.message}${retry}`;
    (this.error.querySelector('.code') as HTMLElement).textContent = `${detail.status ?? 'no response'} · ${detail.code}`;
  }
}
