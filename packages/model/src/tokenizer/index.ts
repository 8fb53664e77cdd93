/** OpenAI CLIP BPE tokenizer (runtime-neutral: give it the vocabulary bytes). */
export { ClipTokenizer, DEFAULT_CONTEXT_LENGTH, type TokenizeResult } from './clip-tokenizer.ts';
export { parseClipVocab, CLIP_MERGE_COUNT, START_OF_TEXT, END_OF_TEXT, type ClipVocab } from './vocab.ts';
export { cleanPrompt, basicClean, whitespaceClean } from './clean.ts';
export { fixText } from './ftfy.ts';
export { htmlUnescape } from './html-unescape.ts';
