/**
 * The serving tensors' names live in two packages that must not depend on each other:
 * @aurora-edge/protocol (AURORA_TENSORS, PARTIAL_IMAGES_PREFIX: what the gateway sends and reads)
 * and @aurora-edge/model (SERVING_*, partialImagesName: the serving graph, ServingSession, the
 * Triton export). The runner depends on both, so it holds them equal here.
 */
import { partialImagesName, SERVING_IMAGES, SERVING_INPUT_IDS, SERVING_PSI, SERVING_Z, servingTensors } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { AURORA_TENSORS, PARTIAL_IMAGES_PREFIX } from '@aurora-edge/protocol';
import { describe, expect, it } from 'vitest';
import { servingTensorMetadata } from '../src/serving.ts';

describe('serving tensor names', () => {
  it('are the same in @aurora-edge/protocol and @aurora-edge/model', () => {
    expect(AURORA_TENSORS).toEqual({ inputIds: SERVING_INPUT_IDS, z: SERVING_Z, psi: SERVING_PSI, images: SERVING_IMAGES });
    for (const res of [4, 8, 16, 32, 64, 128, 1024]) expect(partialImagesName(res)).toBe(`${PARTIAL_IMAGES_PREFIX}${res}`);
  });

  it('name every tensor of the serving graph, and the runner metadata is servingTensors in OIP terms', () => {
    const m = buildTinyBundle().manifest;
    const { inputs, outputs } = servingTensors(m);
    expect(m.serving?.partials.length).toBeGreaterThan(0);
    expect(inputs.map((t) => t.name)).toEqual([AURORA_TENSORS.inputIds, AURORA_TENSORS.z, AURORA_TENSORS.psi]);
    expect(outputs.map((t) => t.name)).toEqual([AURORA_TENSORS.images, ...(m.serving?.partials ?? []).map((r) => `${PARTIAL_IMAGES_PREFIX}${r}`)]);
    const oip = (t: (typeof inputs)[number]) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
    expect(servingTensorMetadata(m)).toEqual({ inputs: inputs.map(oip), outputs: outputs.map(oip) });
    expect(servingTensorMetadata(m).inputs.map((t) => [t.datatype, t.shape])).toEqual([
      ['INT32', [-1, m.tokenizer.contextLength]],
      ['FP32', [-1, m.generator.config.z_dim]],
      ['FP32', [-1, 1]],
    ]);
  });
});
