export { CLIP_CONTEXT_LENGTH, type ClipTextConfig, type ClipTextConfigInput, clipTextConfigSchema, parseClipTextConfig, vitL14Text } from './config.ts';
export { type ShapeSource, inferClipTextConfig } from './infer-config.ts';
export { type BuiltClipText, buildClipText } from './text-encoder.ts';
export { buildClipTextFromStateDict, clipTextCheckpointProvider } from './weights.ts';
