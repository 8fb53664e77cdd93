import { type BundleSource, loadBundleTokenizer, promptTokenIds } from '@aurora-edge/model';

/** The parts of a request item the model itself constrains. */
export interface ModelRequest {
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
}

/**
 * The checks AuroraPipeline.validate makes, done on the HTTP thread with the bundle's tokenizer
 * only: the sessions live in worker threads, and an item that would fail there must be refused
 * before it is queued, or it would fail the whole batch, other requests' items included. Seed and
 * psi ranges are the protocol schema's; what is left is the prompt's token count.
 */
export async function createItemValidator(source: BundleSource): Promise<(request: ModelRequest) => void> {
  const tokenizer = await loadBundleTokenizer(source);
  const contextLength = source.manifest.tokenizer.contextLength;
  return ({ prompt }) => {
    promptTokenIds(tokenizer, prompt, contextLength);
  };
}
