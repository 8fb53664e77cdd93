/** Load shedding on the real runner process: a burst over the queue bound gets 429s, not a pile-up. */
import { oipErrorSchema } from '@aurora-edge/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImages, expectImagesMatch, type InferRow, referencePipeline, useBundle } from './support/oip.ts';
import { metric, type RunnerProcess, removeTinyBundleDirs, startRunner, tinyBundleDir } from './support/runner-process.ts';

const IMAGES = 'aurora_runner_images_generated_total{bundle="aurora-tiny"}';

describe('gpu-runner under overload', () => {
  let runner: RunnerProcess;
  let reference: (row: InferRow) => Promise<Uint8Array>;

  beforeAll(async () => {
    const dir = tinyBundleDir();
    await useBundle(dir);
    [runner, reference] = await Promise.all([
      startRunner({ RUNNER_BUNDLES: dir, RUNNER_EXECUTION_PROVIDER: 'cpu', RUNNER_MAX_BATCH: '4', RUNNER_QUEUE_LIMIT: '8' }),
      referencePipeline(dir),
    ]);
  });
  afterAll(async () => {
    await runner?.stop();
    removeTinyBundleDirs();
  });

  it('answers 429 + Retry-After beyond the queue bound, and every 200 carries its own images', async () => {
    const before = metric(await (await runner.get('/metrics')).text(), IMAGES);
    // 40 requests of a full batch (4 rows) each, against room for 2 queued requests and 1 running.
    const requests = Array.from({ length: 40 }, (_, r): InferRow[] =>
      [0, 1, 2, 3].map((i) => ({ prompt: ['a red apple', 'a blue door', 'a green field'][(r + i) % 3], seed: 4 * r + i, psi: 0.7 })),
    );
    // Every request must come back (the helper aborts after 120 s: a hang fails the test).
    const responses = await Promise.all(requests.map((rows) => runner.infer(rows)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    for (let r = 0; r < requests.length; r++) {
      if (responses[r].status === 429) {
        expect(Number(responses[r].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(oipErrorSchema.parse(await responses[r].json()).error).toMatch(/^runner overloaded: the queue holds \d+ of at most 8 items/);
        continue;
      }
      const { pixels } = await decodeImages(responses[r]);
      await expectImagesMatch(requests[r], pixels, reference);
    }
    // Exactly the accepted items were generated: nothing refused ran, nothing ran twice.
    const generated = metric(await (await runner.get('/metrics')).text(), IMAGES) - before;
    expect(generated).toBe(4 * statuses.filter((s) => s === 200).length);
    console.log(`burst of ${requests.length} requests: ${statuses.filter((s) => s === 200).length} served, ${statuses.filter((s) => s === 429).length} shed`);

    // Still healthy afterwards: a refused request succeeds when retried.
    const refused = requests[statuses.indexOf(429)];
    const { pixels } = await decodeImages(await runner.infer(refused));
    await expectImagesMatch(refused, pixels, reference);
  });
});
