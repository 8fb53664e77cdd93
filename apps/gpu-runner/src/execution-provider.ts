import { type BundleSource, type OrtModule, ServingSession } from '@aurora-edge/model';
import {
  type ExecutionProvider,
  type ExecutionProviderChoice,
  ExecutionProviderError,
  generatorGraphFor,
  type ResolvedProvider,
  resolveExecutionProvider,
  sessionOptionsFor,
} from '@aurora-edge/model/node';

// The provider concept is the model package's (one module for the runner, the CLI and the bench).
export { type ExecutionProvider, ExecutionProviderError, sessionOptionsFor };

export interface ProviderOptions {
  readonly cudaDeviceId: number;
  readonly intraOpThreads?: number;
}

/**
 * RUNNER_EXECUTION_PROVIDER to a provider, once, in the main thread before any worker starts:
 * an explicit provider that cannot run stops the runner with a message naming it and what is
 * missing; auto reports in `skipped` why it passed over CUDA and WebGPU.
 */
export async function resolveRunnerProvider(ort: OrtModule, choice: ExecutionProviderChoice, options: ProviderOptions): Promise<ResolvedProvider> {
  try {
    return await resolveExecutionProvider(ort, choice, options);
  } catch (error) {
    if (!(error instanceof ExecutionProviderError)) throw error;
    const detail = `${error.detail}; set RUNNER_EXECUTION_PROVIDER=auto or cpu to run without it`;
    // The detail already holds everything the cause said: no cause chain to repeat it in the log.
    throw Object.assign(new ExecutionProviderError(error.provider, detail), {
      message: `RUNNER_EXECUTION_PROVIDER=${choice}, but ${detail}`,
    });
  }
}

/** Loads the bundle's serving graph on the (resolved) provider: serving-gpu.onnx on GPU providers, serving.onnx on the CPU. */
export function loadServingSession(ort: OrtModule, source: BundleSource, provider: ExecutionProvider, options: ProviderOptions): Promise<ServingSession> {
  return ServingSession.load(ort, source, {
    preferPaths: true,
    sessionOptions: sessionOptionsFor(provider, options),
    generatorGraph: generatorGraphFor(provider),
  });
}
