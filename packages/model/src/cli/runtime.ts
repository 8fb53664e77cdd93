import { describeProvider, type ExecutionProviderChoice, generatorGraphFor, isExecutionProviderChoice, resolveExecutionProvider, sessionOptionsFor } from '../node/execution-providers.ts';
import { loadOrtNode, loadOrtWasm } from '../node/ort-node.ts';
import { AuroraInputError } from '../pipeline/errors.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';
import { UsageError } from './errors.ts';

/** Bad input to the model is the user's to fix: a usage error (exit 2), not a failure. */
export function inputChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof AuroraInputError) throw new UsageError(error.message);
    throw error;
  }
}

const RUNTIMES = 'cpu, webgpu, cuda, auto (onnxruntime-node execution providers; node is cpu) or wasm (onnxruntime-web)';

export function checkRuntime(name: string): void {
  if (name !== 'wasm' && name !== 'node' && !isExecutionProviderChoice(name)) throw new UsageError(`--runtime must be one of ${RUNTIMES}, got "${name}"`);
}

export interface Runtime {
  readonly ort: OrtModule;
  readonly preferPaths: boolean;
  readonly sessionOptions?: InferenceSession.SessionOptions;
  readonly generatorGraph?: 'default' | 'gpu';
}

/** onnxruntime-web, or onnxruntime-node on an execution provider (an unavailable one is an error naming what is missing). */
export async function loadRuntime(name: string): Promise<Runtime> {
  if (name === 'wasm') {
    return { ort: await loadOrtWasm(), preferPaths: false };
  }
  const ort = await loadOrtNode();
  const resolved = await resolveExecutionProvider(ort, name === 'node' ? 'cpu' : (name as ExecutionProviderChoice));
  if (resolved.provider !== 'cpu' || name === 'auto') console.error(`runtime ${describeProvider(resolved)}`);
  return { ort, preferPaths: true, sessionOptions: sessionOptionsFor(resolved.provider), generatorGraph: generatorGraphFor(resolved.provider) };
}
