/**
 * OpenAI CLIP's context length: the tokenizer pads to it, the text encoder reads it, and the
 * generator consumes every position's features. The one place the number is written; a bundle
 * states its own in manifest.tokenizer.contextLength, which serving code reads instead.
 */
export const CLIP_CONTEXT_LENGTH = 77;
