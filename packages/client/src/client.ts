import { Batches } from './batches.ts';
import { AuroraApiError } from './errors.ts';
import { parseRateLimit, parseRetryAfter } from './headers.ts';
import type {
  CacheEntry,
  ErrorBody,
  GenerateRequest,
  GenerateResponse,
  GenerateResult,
  InterpolateRequest,
  InterpolateResult,
  InterpolationResponse,
  LookupRequest,
  ModelInfo,
  ModelList,
} from './types.ts';

export interface AuroraClientOptions {
  /** The gateway's origin (and path prefix, if any), e.g. "https://images.example.com". */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** A fetch to use instead of the global one (a Worker service binding's fetch, a test double). */
  readonly fetch?: typeof fetch;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

const RESPONSE_FORMATS = ['url', 'b64_json'];
const CACHE_MODES = ['use', 'refresh', 'only'];
const INTERPOLATE_MODES = ['local', 'local+global'];
const CENTRES = ['none', 'text'];
/** The gateway's bound on frames (MAX_INTERPOLATION_STEPS). */
const MAX_STEPS = 33;
const IMAGE_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** null and absent mean the same to the gateway for its optional numbers. */
function checkUint32(field: string, v: unknown): void {
  if (v !== undefined && v !== null && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff)) {
    throw new RangeError(`${field} must be an integer in [0, 4294967295], got ${String(v)}`);
  }
}

function checkPsi(field: string, v: unknown): void {
  if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0 && v <= 1))
    throw new RangeError(`${field} must be a number in [0, 1], got ${String(v)}`);
}

/**
 * A typed client for the Aurora Edge API. Uses only the global `fetch` (or the one passed in),
 * so it runs unchanged in browsers, Workers and Node 18+. Every non-2xx answer is thrown as an
 * AuroraApiError carrying the gateway's `{error: {code, message, field}}` and Retry-After.
 */
export class AuroraClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly fetchFn: typeof fetch;
  /** The batch API: create, get (paged items), items, events (SSE, resumed), cancel. */
  readonly batches: Batches;

  constructor(options: AuroraClientOptions) {
    if (!options || typeof options.baseUrl !== 'string') throw new TypeError('baseUrl must be a string URL, e.g. "https://images.example.com"');
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an absolute URL, got "${options.baseUrl}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`baseUrl must be http(s), got "${options.baseUrl}"`);
    if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || /[\s]/.test(options.apiKey))) {
      throw new TypeError('apiKey must be a string without whitespace');
    }
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.apiKey = options.apiKey || undefined;
    // Called as a plain function: browsers throw "Illegal invocation" when fetch loses its `this`.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.batches = new Batches({
      send: (method, path, callOptions, body, headers) => this.send(method, path, callOptions, body, headers),
      absolute: (url) => new URL(url, `${this.baseUrl}/`).href,
    });
  }

  /** POST /v1/images/generations. Relative image URLs in the answer are made absolute. */
  async generate(request: GenerateRequest, options: CallOptions = {}): Promise<GenerateResult> {
    if (!request || typeof request.prompt !== 'string') throw new TypeError('prompt must be a string');
    // A JavaScript caller can still pass them: a streamed answer is SSE, which this method cannot read.
    const extra = request as { stream?: unknown; partial_images?: unknown };
    for (const field of ['stream', 'partial_images'] as const) {
      if (extra[field] !== undefined && extra[field] !== null && extra[field] !== false && extra[field] !== 0)
        throw new TypeError(`${field} is not supported by generate(): stream with the openai SDK's images.generate({ stream: true }) or fetch`);
    }
    if (request.n !== undefined && !(Number.isInteger(request.n) && request.n >= 1 && request.n <= 16))
      throw new RangeError(`n must be an integer in [1, 16], got ${request.n}`);
    checkUint32('seed', request.seed);
    checkPsi('truncation_psi', request.truncation_psi);
    if (request.response_format !== undefined && !RESPONSE_FORMATS.includes(request.response_format))
      throw new RangeError(`response_format must be "url" or "b64_json", got "${request.response_format}"`);
    if (request.cache !== undefined && !CACHE_MODES.includes(request.cache))
      throw new RangeError(`cache must be "use", "refresh" or "only", got "${request.cache}"`);
    const res = await this.send('POST', '/v1/images/generations', options, JSON.stringify(request));
    const body = (await res.json()) as GenerateResponse;
    return {
      ...body,
      data: body.data.map((d) => this.absolute(d)),
      route: res.headers.get('x-aurora-route'),
      rateLimit: parseRateLimit(res.headers),
    };
  }

  /**
   * POST /v1/images/interpolations (format "frames"): `from` turning into `to` over `steps`
   * frames, each with its image id and url (or b64_json), plus the animated PNG of them all.
   * Relative URLs in the answer are made absolute.
   */
  async interpolate(request: InterpolateRequest, options: CallOptions = {}): Promise<InterpolateResult> {
    if (!request || typeof request.from !== 'string') throw new TypeError('from must be a string');
    if (typeof request.to !== 'string') throw new TypeError('to must be a string');
    if (request.steps !== undefined && !(Number.isInteger(request.steps) && request.steps >= 2 && request.steps <= MAX_STEPS))
      throw new RangeError(`steps must be an integer in [2, ${MAX_STEPS}], got ${request.steps}`);
    checkUint32('seed', request.seed);
    checkPsi('truncation_psi', request.truncation_psi);
    if (request.interpolate !== undefined && !INTERPOLATE_MODES.includes(request.interpolate))
      throw new RangeError(`interpolate must be "local" or "local+global", got "${request.interpolate}"`);
    if (request.centre !== undefined && !CENTRES.includes(request.centre)) throw new RangeError(`centre must be "none" or "text", got "${request.centre}"`);
    if (request.response_format !== undefined && !RESPONSE_FORMATS.includes(request.response_format))
      throw new RangeError(`response_format must be "url" or "b64_json", got "${request.response_format}"`);
    const res = await this.send('POST', '/v1/images/interpolations', options, JSON.stringify({ ...request, format: 'frames' }));
    const body = (await res.json()) as InterpolationResponse;
    const route = res.headers.get('x-aurora-route');
    return {
      ...body,
      data: body.data.map((d) => this.absolute(d)),
      animation: this.absolute(body.animation),
      route,
      cached: route === 'cache',
      rateLimit: parseRateLimit(res.headers),
    };
  }

  /** GET /v1/cache: the cached image for this exact key, or null when it is not cached (404). */
  async lookup(request: LookupRequest, options: CallOptions = {}): Promise<CacheEntry | null> {
    if (!request || typeof request.prompt !== 'string') throw new TypeError('prompt must be a string');
    checkUint32('seed', request.seed);
    if (request.seed === undefined) throw new TypeError('seed is required for a cache lookup');
    checkPsi('psi', request.psi);
    const q = new URLSearchParams({ prompt: request.prompt, seed: String(request.seed) });
    if (request.model !== undefined) q.set('model', request.model);
    if (request.psi !== undefined) q.set('psi', String(request.psi));
    if (request.size !== undefined) q.set('size', request.size);
    if (request.response_format !== undefined) {
      if (!RESPONSE_FORMATS.includes(request.response_format))
        throw new RangeError(`response_format must be "url" or "b64_json", got "${request.response_format}"`);
      q.set('response_format', request.response_format);
    }
    let res: Response;
    try {
      res = await this.send('GET', `/v1/cache?${q}`, options);
    } catch (error) {
      if (error instanceof AuroraApiError && error.status === 404) return null;
      throw error;
    }
    return this.absolute((await res.json()) as CacheEntry);
  }

  /** GET /v1/models. */
  async models(options: CallOptions = {}): Promise<ModelInfo[]> {
    const body = (await (await this.send('GET', '/v1/models', options)).json()) as ModelList;
    return body.data;
  }

  /** The URL of an image by id: GET /v1/images/{id}.png (public; its current bytes, which caches revalidate; a response's `url` names the immutable version). */
  imageUrl(id: string): string {
    if (typeof id !== 'string' || !IMAGE_ID_RE.test(id)) throw new TypeError(`id must be an image id (letters, digits, - and _), got "${id}"`);
    return `${this.baseUrl}/v1/images/${id}.png`;
  }

  private absolute<T extends { readonly url?: string }>(image: T): T {
    return image.url === undefined ? image : { ...image, url: new URL(image.url, `${this.baseUrl}/`).href };
  }

  private async send(method: string, path: string, options: CallOptions, body?: string, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new AuroraApiError(0, 'network_error', `${method} ${url} failed: no readable response (network error, or blocked by CORS): ${detail}`, {
        url,
        cause: error,
      });
    }
    if (!res.ok) throw await toApiError(res, method, url);
    return res;
  }
}

async function toApiError(res: Response, method: string, url: string): Promise<AuroraApiError> {
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const rateLimit = parseRateLimit(res.headers);
  const text = await res.text().catch(() => '');
  let parsed: Partial<ErrorBody> | null = null;
  try {
    parsed = JSON.parse(text) as Partial<ErrorBody>;
  } catch {
    // Not the gateway's JSON (a proxy's HTML page, an empty body): reported by status below.
  }
  const e = parsed?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new AuroraApiError(res.status, e.code, e.message, { field: typeof e.field === 'string' ? e.field : undefined, retryAfter, rateLimit, url });
  }
  const snippet = text.trim().slice(0, 200);
  return new AuroraApiError(res.status, `http_${res.status}`, `${method} ${url} answered ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`, {
    retryAfter,
    rateLimit,
    url,
  });
}
