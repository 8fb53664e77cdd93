import { AuroraPipeline, BundleError, type BundleSource, type OrtModule, type SessionLoadOptions } from '@aurora-edge/model';

type SessionOptions = NonNullable<SessionLoadOptions['sessionOptions']>;

export type ExecutionProvider = 'cuda' | 'cpu';

export interface ProviderOptions {
  readonly cudaDeviceId: number;
  readonly intraOpThreads?: number;
}

export class ExecutionProviderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ExecutionProviderError';
  }
}

/**
 * Session options for an execution provider. CUDA lists 'cpu' second so the few ops the CUDA EP
 * lacks still run. TF32 must stay off (it rounds fp32 matmuls/convs to a 10-bit mantissa and breaks
 * the parity bound): `use_tf32: 0` is the CUDA EP's own option, but onnxruntime-node (1.30) forwards
 * only `deviceId` to it, so the server also sets NVIDIA_TF32_OVERRIDE=0, which cuBLAS and cuDNN obey.
 */
export function sessionOptionsFor(ep: ExecutionProvider, options: ProviderOptions): SessionOptions {
  const threads = options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {};
  if (ep === 'cpu') return { ...threads, executionProviders: ['cpu'] };
  const cuda = { name: 'cuda', deviceId: options.cudaDeviceId, use_tf32: 0 };
  return { ...threads, executionProviders: [cuda, 'cpu'] };
}

async function loadAll(ort: OrtModule, sources: readonly BundleSource[], ep: ExecutionProvider, options: ProviderOptions): Promise<AuroraPipeline[]> {
  const sessionOptions = sessionOptionsFor(ep, options);
  // One at a time: loading a large bundle takes most of host and device memory on its own.
  const out: AuroraPipeline[] = [];
  for (const source of sources) out.push(await AuroraPipeline.load(ort, source, { preferPaths: true, sessionOptions }));
  return out;
}

/**
 * Loads every bundle on the chosen provider. 'auto' tries CUDA and falls back to CPU (reporting
 * why through `onFallback`); 'cuda' fails with a message saying how to get a CUDA build.
 */
export async function loadPipelines(
  ort: OrtModule,
  sources: readonly BundleSource[],
  choice: 'auto' | ExecutionProvider,
  options: ProviderOptions,
  onFallback: (reason: string) => void,
): Promise<{ executionProvider: ExecutionProvider; pipelines: AuroraPipeline[] }> {
  if (choice === 'cpu') return { executionProvider: 'cpu', pipelines: await loadAll(ort, sources, 'cpu', options) };
  try {
    return { executionProvider: 'cuda', pipelines: await loadAll(ort, sources, 'cuda', options) };
  } catch (error) {
    // A bundle that fails its checks fails on every provider: say so, not "CUDA unavailable".
    if (error instanceof BundleError) throw error;
    const reason = (error as Error).message;
    if (choice === 'cuda') {
      throw new ExecutionProviderError(
        `RUNNER_EXECUTION_PROVIDER=cuda, but the CUDA execution provider could not start: ${reason}. ` +
          'On a GPU host install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 (CUDA 12 and cuDNN 9 libraries on the library path); ' +
          'set RUNNER_EXECUTION_PROVIDER=auto or cpu to run on CPU.',
        { cause: error },
      );
    }
    onFallback(reason);
    return { executionProvider: 'cpu', pipelines: await loadAll(ort, sources, 'cpu', options) };
  }
}
