import { AuroraInputError } from '@aurora-edge/model';
import { bytesToBase64, type RunnerGenerateResponse, type RunnerItem, runnerGenerateRequestSchema } from '@aurora-edge/protocol';
import { BatcherClosedError, type DynamicBatcher, type ItemResult, QueueFullError } from './batcher.ts';
import { fieldName, RunnerError } from './errors.ts';
import type { RunnerState } from './state.ts';
import type { BatchImage } from './worker-protocol.ts';

/** An item that passed every check, with its prompt's token ids (the model worker encodes these). */
export type ValidatedItem = RunnerItem & { readonly tokenIds: Int32Array };

export type RunnerBatcher = DynamicBatcher<ValidatedItem, BatchImage>;

/**
 * Body text -> items, every check done before anything is queued: a bad item is refused with its
 * field named and never reaches a batch it would fail for other requests' items too.
 */
export function parseGenerateBody(text: string, state: RunnerState, maxBatch: number): ValidatedItem[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RunnerError(400, 'bad_json', `the body is not JSON: ${(error as Error).message}`);
  }
  const parsed = runnerGenerateRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldName(issue.path);
    throw new RunnerError(400, 'invalid_request', `${field || 'body'}: ${issue.message}`, { field: field || undefined });
  }
  const { items } = parsed.data;
  if (items.length > maxBatch) {
    throw new RunnerError(400, 'too_many_items', `items: ${items.length} items, this runner takes at most ${maxBatch} per request (see /v1/info maxBatch)`, {
      field: 'items',
    });
  }
  return items.map((item, i) => {
    const model = state.models.get(item.bundle);
    if (!model) {
      const loaded = [...state.models.keys()].join(', ');
      throw new RunnerError(404, 'unknown_bundle', `items[${i}].bundle: "${item.bundle}" is not loaded on this runner (loaded: ${loaded})`, {
        field: `items[${i}].bundle`,
      });
    }
    try {
      return { ...item, tokenIds: model.validate({ prompt: item.prompt, seed: item.seed, psi: item.psi }) };
    } catch (error) {
      if (!(error instanceof AuroraInputError)) throw error;
      const field = `items[${i}].${error.field}`;
      const detail = error.message.startsWith(`${error.field}: `) ? error.message.slice(error.field.length + 2) : error.message;
      throw new RunnerError(400, 'invalid_input', `${field}: ${detail}`, { field, cause: error });
    }
  });
}

/** Queues the items (all or none) and waits for their images. */
export async function generateImages(batcher: RunnerBatcher, state: RunnerState, items: ValidatedItem[], startedAt: number): Promise<RunnerGenerateResponse> {
  let pending: Promise<ItemResult<BatchImage>[]>;
  try {
    pending = batcher.submit(items);
  } catch (error) {
    if (error instanceof QueueFullError) {
      throw new RunnerError(429, 'queue_full', `runner overloaded: ${error.message}; retry in ${error.retryAfterS} s or on another runner`, {
        headers: { 'retry-after': String(error.retryAfterS) },
      });
    }
    if (error instanceof BatcherClosedError) throw new RunnerError(503, 'shutting_down', 'the runner is shutting down', { headers: { 'retry-after': '1' } });
    throw error;
  }
  let results: ItemResult<BatchImage>[];
  try {
    results = await pending;
  } catch (error) {
    throw new RunnerError(500, 'generation_failed', `generation failed: ${(error as Error).message}`, { cause: error });
  }
  const images = results.map(({ value }, i) => ({
    prompt: items[i].prompt,
    seed: items[i].seed,
    psi: value.psi,
    bundle: items[i].bundle,
    contentHash: state.models.get(items[i].bundle)!.contentHash,
    width: value.width,
    height: value.height,
    pngBase64: bytesToBase64(value.png),
  }));
  const runs = new Map(results.map((r) => [r.batch, r.runMs]));
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    images,
    timings: {
      queueMs: round(Math.max(...results.map((r) => r.queuedMs))),
      runMs: round([...runs.values()].reduce((a, b) => a + b, 0)),
      totalMs: round(performance.now() - startedAt),
    },
  };
}
