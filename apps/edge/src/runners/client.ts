import {
  decodeInferResponse,
  encodeInferRequest,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type InferResponse,
  type ModelConfig,
  type ModelMetadata,
  modelConfigSchema,
  modelMetadataSchema,
  OipFormatError,
  signRequest,
  type Tensor,
} from '@aurora-edge/protocol';

/**
 * One GPU runner as configured: its base URL and, when it checks signatures, the HMAC secret it
 * shares with the gateway (null for a server that authenticates at a proxy in front, as Triton does).
 */
export interface RunnerEndpoint {
  readonly url: string;
  readonly secret: string | null;
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

const segment = encodeURIComponent;

/**
 * Talks the Open Inference Protocol v2 (KServe v2 / Triton) to one runner: health, model metadata
 * and config, and infer with JSON inputs and binary outputs. Requests are signed when the endpoint
 * has a secret.
 */
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

  /** GET /v2/health/ready: resolves when the server is ready, else a RunnerCallError. */
  async ready(timeoutMs: number): Promise<void> {
    const res = await this.call('GET', 'v2/health/ready', undefined, {}, timeoutMs);
    await res.body?.cancel();
  }

  /** GET /v2/models/{model}: the model's metadata; a 404 is a RunnerCallError with status 404. */
  async modelMetadata(model: string, timeoutMs: number): Promise<ModelMetadata> {
    const res = await this.call('GET', `v2/models/${segment(model)}`, undefined, {}, timeoutMs);
    const parsed = modelMetadataSchema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw new RunnerCallError(this.url, `invalid model metadata for ${model}: ${parsed.error.issues[0]?.message}`, true);
    return parsed.data;
  }

  /** GET /v2/models/{model}/config (Triton's model configuration extension); null where the server has none. */
  async modelConfig(model: string, timeoutMs: number): Promise<ModelConfig | null> {
    let res: Response;
    try {
      res = await this.call('GET', `v2/models/${segment(model)}/config`, undefined, {}, timeoutMs);
    } catch (error) {
      if (error instanceof RunnerCallError && (error.status === 404 || error.status === 400 || error.status === 405)) return null;
      throw error;
    }
    const parsed = modelConfigSchema.safeParse(await res.json().catch(() => null));
    return parsed.success ? parsed.data : null;
  }

  /**
   * POST /v2/models/{model}[/versions/{version}]/infer with the inputs as JSON tensors and the
   * `outputs` asked for by name, each as binary data (without a list a server returns every output
   * the model has, partial images included).
   */
  async infer(
    model: string,
    version: string | null,
    inputs: readonly Tensor[],
    outputs: readonly string[],
    timeoutMs: number,
  ): Promise<{ response: InferResponse; outputs: Map<string, Tensor> }> {
    const { body, headers } = encodeInferRequest(inputs, { binaryInputs: false, binaryOutputs: true, outputs });
    const path = `v2/models/${segment(model)}${version === null ? '' : `/versions/${segment(version)}`}/infer`;
    const res = await this.call('POST', path, body, headers, timeoutMs);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (error) {
      throw new RunnerCallError(this.url, `POST /${path}: reading the response failed: ${(error as Error).message}`, true, { cause: error });
    }
    try {
      return decodeInferResponse(bytes, res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH));
    } catch (error) {
      if (!(error instanceof OipFormatError)) throw error;
      throw new RunnerCallError(this.url, `invalid infer response: ${error.message}`, true, { cause: error });
    }
  }

  private async call(
    method: string,
    path: string,
    body: Uint8Array<ArrayBuffer> | undefined,
    extra: Record<string, string>,
    timeoutMs: number,
  ): Promise<Response> {
    const url = new URL(path, this.base);
    const signed = this.endpoint.secret === null ? {} : await signRequest(this.endpoint.secret, method, url.pathname + url.search, body ?? '');
    const headers = { ...extra, ...signed };
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
