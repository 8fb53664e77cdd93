import { checkpointProvider } from '../onnx/providers.ts';
import type { ParamProvider } from '../onnx/params.ts';
import { type StateDict, toFloat32 } from '../weights/tensor.ts';
import type { ClipTextConfig } from './config.ts';
import { inferClipTextConfig } from './infer-config.ts';
import { type BuiltClipText, buildClipText } from './text-encoder.ts';

/**
 * Serves a text-tower state dict (any float dtype; OpenAI's checkpoints are float16) as float32.
 * Missing, unexpected and mis-shaped keys are reported together when the build finishes.
 */
export function clipTextCheckpointProvider(stateDict: StateDict): ParamProvider {
  const float32 = new Map([...stateDict].map(([k, t]) => [k, toFloat32(t)] as const));
  return checkpointProvider(float32);
}

/** Infers the config from the state dict's shapes (heads: width/64 unless given) and builds. */
export function buildClipTextFromStateDict(stateDict: StateDict, overrides: { readonly heads?: number } = {}): BuiltClipText & { readonly config: ClipTextConfig } {
  const config = inferClipTextConfig(stateDict, overrides);
  return { ...buildClipText(config, clipTextCheckpointProvider(stateDict)), config };
}
