import { AuroraPipeline, decodePng } from '@aurora-edge/model';
import { loadOrtNode, readBundleDir } from '@aurora-edge/model/node';
import { type RunnerGenerateResponse, type RunnerItem, runnerGenerateResponseSchema } from '@aurora-edge/protocol';
import { expect } from 'vitest';
import { parityStats, withinParity } from '../../../../packages/model/test/support/parity.ts';

export { parityStats, withinParity };

/** Solo runs in this process (onnxruntime-node, batch 1): what each runner image must match. */
export async function referencePipeline(bundleDir: string): Promise<(item: Pick<RunnerItem, 'prompt' | 'seed' | 'psi'>) => Promise<Uint8Array>> {
  const pipeline = await AuroraPipeline.load(await loadOrtNode(), readBundleDir(bundleDir), { preferPaths: true });
  const cache = new Map<string, Uint8Array>();
  return async ({ prompt, seed, psi }) => {
    const key = JSON.stringify([prompt, seed, psi]);
    if (!cache.has(key)) cache.set(key, (await pipeline.generate([{ prompt, seed, psi }]))[0].pixels);
    return cache.get(key)!;
  };
}

/** Parses a 200 body and decodes its PNGs to HWC pixels. */
export async function decodeResponse(res: Response): Promise<{ body: RunnerGenerateResponse; pixels: Uint8Array[] }> {
  const body = runnerGenerateResponseSchema.parse(await res.json());
  const pixels = body.images.map((image) => {
    const png = decodePng(new Uint8Array(Buffer.from(image.pngBase64, 'base64')));
    expect([png.width, png.height, png.channels]).toEqual([image.width, image.height, 3]);
    return png.pixels;
  });
  return { body, pixels };
}

/** Every image echoes its item and matches a solo run of that item within the parity bound. */
export async function expectImagesMatch(
  items: readonly RunnerItem[],
  body: RunnerGenerateResponse,
  pixels: Uint8Array[],
  reference: (item: RunnerItem) => Promise<Uint8Array>,
): Promise<void> {
  expect(body.images.map(({ prompt, seed, psi, bundle }) => ({ prompt, seed, psi, bundle }))).toEqual(
    items.map(({ prompt, seed, psi, bundle }) => ({ prompt, seed, psi, bundle })),
  );
  for (let i = 0; i < items.length; i++) {
    const stats = parityStats(pixels[i], await reference(items[i]));
    expect(withinParity(stats), `${items[i].prompt} seed ${items[i].seed}: ${JSON.stringify(stats)}`).toBe(true);
  }
}
