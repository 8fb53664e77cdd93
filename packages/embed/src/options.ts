import { AttributeError } from './errors.ts';
import type { BackendPreference, Mode } from './events.ts';

export const DEFAULT_MODEL = 'aurora-tiny';
export const DEFAULT_SIZE = '64x64';

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
  return { prompt, seed, psi, model, api, key: attr('key') || undefined, mode, backend, size, bundleUrl: absoluteUrl('bundle-url', bundle, document.baseURI) };
}
