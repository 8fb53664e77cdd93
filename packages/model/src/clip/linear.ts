import type { Builder } from '../onnx/builder.ts';

/**
 * nn.Linear on [..., in]: y = x W^T + b with `weight` [out, in] and `bias` [out]. `std` only
 * matters without a checkpoint (open_clip's init_parameters gives each projection its own).
 */
export function linear(b: Builder, x: string, inFeatures: number, outFeatures: number, std: number): string {
  const weight = b.param('weight', [outFeatures, inFeatures], { kind: 'normal', std });
  const bias = b.param('bias', [outFeatures], { kind: 'constant', value: 0 });
  return b.add(b.matmul(x, b.transpose(weight, [1, 0])), bias);
}
