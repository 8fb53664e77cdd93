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
/* An interpolation: the square image, then its controls under it (play/pause, the step slider). */
:host([from]), :host([to]) { aspect-ratio: auto; }
:host([from]) .frame, :host([to]) .frame { position: relative; aspect-ratio: 1; }
.controls { display: flex; align-items: center; gap: 6px; margin-top: 4px; }
.controls input { flex: 1; min-width: 0; margin: 0; }
.controls button { font: inherit; font-size: 12px; padding: 1px 8px; cursor: pointer; }
.controls output { font-variant-numeric: tabular-nums; font-size: 12px; min-width: 3.5em; text-align: end; }
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
</div>
<div class="controls" part="controls" hidden>
  <button type="button" part="play">Pause</button>
  <input type="range" part="slider" min="0" max="1" step="1" value="0" aria-label="Interpolation step">
  <output part="step" aria-hidden="true"></output>
</div>`;

/** One frame of an interpolation: what the slider shows at its index. */
export interface ViewFrame {
  readonly src: string;
  readonly alt: string;
}

/** The element's shadow DOM: placeholder with progress, the image, or a visible error. */
export class View {
  readonly img: HTMLImageElement;
  private readonly placeholder: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly status: HTMLElement;
  private readonly error: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly play: HTMLButtonElement;
  readonly slider: HTMLInputElement;
  private readonly stepOut: HTMLOutputElement;
  /** The interpolation shown: its animation and frames (null for a single image). */
  private animation: { readonly src: string; readonly alt: string; readonly frames: readonly ViewFrame[] } | null = null;
  state: ViewState = 'idle';

  constructor(root: ShadowRoot) {
    root.innerHTML = TEMPLATE;
    const $ = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    this.img = $('img');
    this.placeholder = $('.placeholder');
    this.progress = $('progress');
    this.status = $('.status');
    this.error = $('.error');
    this.controls = $('.controls');
    this.play = $('button');
    this.slider = $('input');
    this.stepOut = $('output');
    this.slider.addEventListener('input', () => this.showFrame(Number(this.slider.value)));
    this.play.addEventListener('click', () => (this.playing ? this.showFrame(Number(this.slider.value)) : this.resume()));
  }

  /** Whether the interpolation's animation is playing (false when paused on a frame, or none is shown). */
  playing = false;

  private show(state: ViewState): void {
    this.state = state;
    this.img.hidden = state !== 'loaded';
    this.placeholder.hidden = state !== 'loading';
    this.error.hidden = state !== 'error';
    this.controls.hidden = state !== 'loaded' || this.animation === null;
  }

  idle(): void {
    this.animation = null;
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
    this.animation = null;
    this.playing = false;
    return this.load(src, alt);
  }

  /**
   * Loads an interpolation's animation (an animated PNG, playing), with the step slider over its
   * frames: moving the slider pauses the animation on that frame; the button plays it again.
   * Where the visitor asks for reduced motion it starts paused on the first frame.
   */
  async interpolation(src: string, alt: string, frames: readonly ViewFrame[]): Promise<{ width: number; height: number }> {
    this.animation = { src, alt, frames };
    this.slider.max = String(frames.length - 1);
    this.slider.value = '0';
    const still = globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    const size = still ? await this.load(frames[0].src, frames[0].alt) : await this.load(src, alt);
    this.label(0);
    this.setPlaying(!still);
    return size;
  }

  private async load(src: string, alt: string): Promise<{ width: number; height: number }> {
    this.img.alt = alt;
    this.img.src = src;
    await this.img.decode();
    this.show('loaded');
    return { width: this.img.naturalWidth, height: this.img.naturalHeight };
  }

  /** Pauses the animation on frame `index` (what the slider does). */
  showFrame(index: number): void {
    const frame = this.animation?.frames[index];
    if (!frame) return;
    this.slider.value = String(index);
    this.label(index);
    this.setPlaying(false);
    this.img.alt = frame.alt;
    this.img.src = frame.src;
  }

  /** Plays the animation again (from its first frame). */
  resume(): void {
    if (!this.animation) return;
    this.setPlaying(true);
    this.img.alt = this.animation.alt;
    this.img.src = this.animation.src;
  }

  private setPlaying(playing: boolean): void {
    this.playing = playing;
    this.play.textContent = playing ? 'Pause' : 'Play';
    if (playing) this.stepOut.textContent = `${this.animation?.frames.length ?? 0} steps`;
  }

  private label(index: number): void {
    const n = this.animation?.frames.length ?? 0;
    this.stepOut.textContent = `${index + 1}/${n}`;
    this.slider.setAttribute('aria-valuetext', `step ${index + 1} of ${n}`);
  }

  failed(detail: AuroraErrorDetail): void {
    this.animation = null;
    this.playing = false;
    this.show('error');
    const retry = detail.retryAfter !== undefined ? `${/[.!?]$/.test(detail.message) ? '' : '.'} Try again in ${detail.retryAfter} s.` : '';
    (this.error.querySelector('.message') as HTMLElement).textContent = `${detail.message}${retry}`;
    (this.error.querySelector('.code') as HTMLElement).textContent = `${detail.status ?? 'no response'} · ${detail.code}`;
  }
}
