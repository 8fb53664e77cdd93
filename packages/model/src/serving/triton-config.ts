import type { ServingTensor, ServingTensors } from './tensors.ts';

/**
 * A Triton Inference Server model configuration (config.pbtxt, protobuf text format of
 * inference.ModelConfig) for a bundle's serving graph on the ONNX Runtime backend. With
 * max_batch_size > 0, Triton adds the batch dimension itself: dims are given without it.
 */
export interface TritonConfigSpec {
  readonly name: string;
  readonly tensors: ServingTensors;
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayUs: number;
  /** Instances on GPUs (KIND_GPU) or on the CPU (KIND_CPU). */
  readonly gpu: boolean;
  /** String parameters, e.g. aurora_content_hash: a gateway checks which bundle a model is. */
  readonly parameters: Readonly<Record<string, string>>;
}

const quote = (s: string) => JSON.stringify(s); // protobuf text strings: the same escapes for what we write

function tensorBlock(t: ServingTensor): string {
  const dims = t.shape.slice(1); // the batch dimension is Triton's (max_batch_size > 0)
  if (t.shape[0] !== -1 || dims.some((d) => d < 1)) throw new RangeError(`tensor ${t.name}: shape [${t.shape}] must be [-1 (batch), fixed dims...]`);
  return `  {\n    name: ${quote(t.name)}\n    data_type: ${t.tritonType}\n    dims: [ ${dims.join(', ')} ]\n  }`;
}

export function tritonConfig(spec: TritonConfigSpec): string {
  if (!Number.isInteger(spec.maxBatchSize) || spec.maxBatchSize < 1) throw new RangeError('max_batch_size must be a positive integer');
  const bad = spec.preferredBatchSizes.filter((n) => !Number.isInteger(n) || n < 1 || n > spec.maxBatchSize);
  if (bad.length) throw new RangeError(`preferred batch sizes must be integers in [1, ${spec.maxBatchSize}] (max batch size), got ${bad.join(', ')}`);
  const lines = [
    `name: ${quote(spec.name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${spec.maxBatchSize}`,
    'version_policy: { latest: { num_versions: 1 } }',
    `input [\n${spec.tensors.inputs.map(tensorBlock).join(',\n')}\n]`,
    `output [\n${spec.tensors.outputs.map(tensorBlock).join(',\n')}\n]`,
    'dynamic_batching {',
    ...(spec.preferredBatchSizes.length ? [`  preferred_batch_size: [ ${spec.preferredBatchSizes.join(', ')} ]`] : []),
    `  max_queue_delay_microseconds: ${spec.maxQueueDelayUs}`,
    '}',
    `instance_group [\n  {\n    count: 1\n    kind: ${spec.gpu ? 'KIND_GPU' : 'KIND_CPU'}\n  }\n]`,
    ...Object.entries(spec.parameters).map(([key, value]) => `parameters {\n  key: ${quote(key)}\n  value: { string_value: ${quote(value)} }\n}`),
  ];
  return `${lines.join('\n')}\n`;
}
