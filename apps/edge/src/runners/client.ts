import {
  type RunnerGenerateResponse,
  type RunnerInfo,
  type RunnerItem,
  runnerGenerateResponseSchema,
  runnerInfoSchema,
  signRequest,
} from '@aurora-edge/protocol';

/** One GPU runner as configured: its base URL and the HMAC secret it shares with the gateway. */
export interface RunnerEndpoint {
  readonly url: string;
  readonly secret: string;
}

/** A runner call that failed; `retryable` false means another runner would fail the same way. */
export class RunnerCallError extends Error {
  constructor(
    readonly runner: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`runner ${runner}: ${message}`, options);
    this.name = 'RunnerCallError';
    this.status = options?.status;
  }

  /** The runner's HTTP status, when it answered at all. */
  readonly status: number | undefined;

  /** A full queue (429) is back-pressure from a healthy runner, not a failure. */
  get overloaded(): boolean {
    return this.status === 429;
  }
}

/** Talks the protocol of packages/protocol to one runner (signed requests, validated answers). */
export class RunnerClient {
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;

  constructor(
    readonly endpoint: RunnerEndpoint,
    fetchFn?: typeof fetch,
  ) {
    // Never call the global fetch as a method of this object: Workers throw "Illegal invocation".
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
    this.base = new URL(endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`);
  }

  get url(): string {
    return this.endpoint.url;
  }

  /** GET /readyz: the runner's info when it is ready, else a RunnerCallError. */
  async ready(timeoutMs: number): Promise<RunnerInfo> {
    const res = await this.call('GET', 'readyz', undefined, timeoutMs);
    const info = runnerInfoSchema.safeParse(await res.json().catch(() => null));
    if (!info.success || !info.data.ready) throw new RunnerCallError(this.url, 'readyz answered without a ready RunnerInfo', true);
    return info.data;
  }

  /** POST /v1/generate: one image per item, in item order. */
  async generate(items: readonly RunnerItem[], timeoutMs: number): Promise<RunnerGenerateResponse> {
    const res = await this.call('POST', 'v1/generate', JSON.stringify({ items }), timeoutMs);
    const parsed = runnerGenerateResponseSchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new RunnerCallError(this.url, `invalid generate response: ${parsed.error.issues[0]?.message}`, true);
    if (parsed.data.images.length !== items.length)
      throw new RunnerCallError(this.url, `sent ${items.length} items, got ${parsed.data.images.length} images`, true);
    return parsed.data;
  }

  private async call(method: string, path: string, body: string | undefined, timeoutMs: number): Promise<Response> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = await signRequest(this.endpoint.secret, method, url.pathname + url.search, body ?? '');
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(url.toString(), { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new RunnerCallError(this.url, `${method} /${path} failed: ${(error as Error).message}`, true, { cause: error });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    // 4xx other than 404/408/429 means the request itself is wrong: no other runner would take it.
    const retryable = res.status >= 500 || res.status === 404 || res.status === 408 || res.status === 429;
    throw new RunnerCallError(this.url, `${method} /${path} answered ${res.status}: ${text.slice(0, 300)}`, retryable, { status: res.status });
  }
}
