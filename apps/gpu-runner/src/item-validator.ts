import { type BundleSource, loadBundleTokenizer, promptTokenIds } from '@aurora-edge/model';

/** The parts of a request item the model itself constrains. */
export interface ModelRequest {
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
  /** The prompt's token ids from the validator: the model workers encode these, never tokenizing again. */
  readonly tokenIds?: Int32Array;
}

/**
 * The checks AuroraPipeline.validate makes, done on the HTTP thread with the bundle's tokenizer
 * only: the sessions live in worker threads, and an item that would fail there must be refused
 * before it is queued, or it would fail the whole batch, other requests' items included. Seed and
 * psi ranges are the protocol schema's; what is left is the prompt's token count.
 */
export async function createItemValidator(source: BundleSource): Promise<(request: ModelRequest) => Int32Array> {
  const tokenizer = await loadBundleTokenizer(source);
  const contextLength = source.manifest.tokenizer.contextLength;
  // The ids travel with the item to the model worker (AuroraPipeline takes them as tokenIds): the
  // prompt is tokenized once in this process.
  return ({ prompt }) => promptTokenIds(tokenizer, prompt, contextLength);
}
