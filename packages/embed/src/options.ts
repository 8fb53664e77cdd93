import type { InterpolateRequest } from '@aurora-edge/client';
import { AttributeError } from './errors.ts';
import type { BackendPreference, Mode } from './events.ts';

export const DEFAULT_MODEL = 'aurora-tiny';
export const DEFAULT_SIZE = '64x64';
/** Frames of an interpolation when `steps` is absent, and the bounds the API takes. */
export const DEFAULT_STEPS = 9;
export const MIN_STEPS = 2;
export const MAX_STEPS = 33;

/** `interpolate`: blend the local text codes only (the reference's default), or the global code too (the API's field). */
export type InterpolateCodes = NonNullable<InterpolateRequest['interpolate']>;
/** `centre`: no centre (the reference's default), or the text-conditional centre generations use (the API's field). */
export type Centre = NonNullable<InterpolateRequest['centre']>;

/** `from` and `to` set: the element shows one prompt turning into the other. */
export interface InterpolationOptions {
  readonly from: string;
  readonly to: string;
  readonly steps: number;
  readonly interpolate: InterpolateCodes;
  readonly centre: Centre;
}

/** The element's attributes, parsed and checked. */
export interface ImageOptions {
  readonly prompt: string;
  readonly seed?: number;
  readonly psi?: number;
  readonly model: string;
  /** The gateway's base URL, no trailing slash. */
  readonly api: string;
  readonly key?: string;
  readonly mode: Mode;
  /** Local mode: `auto` (WebGPU where the page gets an adapter, else WASM SIMD) or `wasm`. */
  readonly backend: BackendPreference;
  readonly size: string;
  /** Where local mode loads the bundle: `bundle-url`, else `${api}/bundles/${model}/`. */
  readonly bundleUrl: string;
  /** Set when `from` and `to` are (instead of `prompt`): an interpolation. */
  readonly interpolation?: InterpolationOptions;
}

function absoluteUrl(attribute: string, value: string, base: string): string {
  try {
    return new URL(value, base).href;
  } catch {
    throw new AttributeError(attribute, `must be a URL, got "${value}"`);
  }
}

/** Reads the attributes; `defaultApi` is where embed.js itself was loaded from. */
export function readOptions(el: Element, defaultApi: string): ImageOptions {
  const attr = (name: string) => el.getAttribute(name)?.trim() ?? '';
  const prompt = el.getAttribute('prompt') ?? '';
  let seed: number | undefined;
  if (attr('seed') !== '') {
    seed = Number(attr('seed'));
    if (!/^\d+$/.test(attr('seed')) || seed > 0xffffffff) throw new AttributeError('seed', `must be an integer in [0, 4294967295], got "${attr('seed')}"`);
  }
  let psi: number | undefined;
  if (attr('psi') !== '') {
    psi = Number(attr('psi'));
    if (!(psi >= 0 && psi <= 1)) throw new AttributeError('psi', `must be a number in [0, 1], got "${attr('psi')}"`);
  }
  const mode = (attr('mode') || 'api') as Mode;
  if (mode !== 'api' && mode !== 'local') throw new AttributeError('mode', `must be "api" or "local", got "${mode}"`);
  const backend = (attr('backend') || 'auto') as BackendPreference;
  if (backend !== 'auto' && backend !== 'wasm') throw new AttributeError('backend', `must be "auto" or "wasm", got "${backend}"`);
  const model = attr('model') || DEFAULT_MODEL;
  if (!/^[A-Za-z0-9._-]+$/.test(model)) throw new AttributeError('model', `must be a bundle id (letters, digits, . _ -), got "${model}"`);
  const size = attr('size') || DEFAULT_SIZE;
  if (!/^\d+x\d+$/.test(size)) throw new AttributeError('size', `must be "<width>x<height>", got "${size}"`);
  const api = absoluteUrl('api', attr('api') || defaultApi, document.baseURI).replace(/\/+$/, '');
  const bundle = attr('bundle-url') || `${api}/bundles/${model}/`;
  const interpolation = readInterpolation(el);
  return {
    prompt,
    seed,
    psi,
    model,
    api,
    key: attr('key') || undefined,
    mode,
    backend,
    size,
    bundleUrl: absoluteUrl('bundle-url', bundle, document.baseURI),
    ...(interpolation ? { interpolation } : {}),
  };
}

/** Whether the element is in interpolation mode: `from` or `to` is set (both must be). */
export function isInterpolation(el: Element): boolean {
  return el.hasAttribute('from') || el.hasAttribute('to');
}

function readInterpolation(el: Element): InterpolationOptions | undefined {
  if (!isInterpolation(el)) return undefined;
  const attr = (name: string) => el.getAttribute(name)?.trim() ?? '';
  const from = el.getAttribute('from') ?? '';
  const to = el.getAttribute('to') ?? '';
  if (from.trim() === '') throw new AttributeError('from', 'must be set (a prompt) when "to" is');
  if (to.trim() === '') throw new AttributeError('to', 'must be set (a prompt) when "from" is');
  let steps = DEFAULT_STEPS;
  if (attr('steps') !== '') {
    steps = Number(attr('steps'));
    if (!/^\d+$/.test(attr('steps')) || steps < MIN_STEPS || steps > MAX_STEPS) {
      throw new AttributeError('steps', `must be an integer in [${MIN_STEPS}, ${MAX_STEPS}], got "${attr('steps')}"`);
    }
  }
  const interpolate = (attr('interpolate') || 'local') as InterpolateCodes;
  if (interpolate !== 'local' && interpolate !== 'local+global')
    throw new AttributeError('interpolate', `must be "local" or "local+global", got "${interpolate}"`);
  const centre = (attr('centre') || 'none') as Centre;
  if (centre !== 'none' && centre !== 'text') throw new AttributeError('centre', `must be "none" or "text", got "${centre}"`);
  return { from, to, steps, interpolate, centre };
}
