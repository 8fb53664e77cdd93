/**
 * Weight import: PyTorch checkpoints and safetensors into plain host tensors.
 *
 * Runtime-neutral (browsers, Workers, Node). Node-only helpers - reference fixtures and the
 * file-backed ByteSource for multi-GB checkpoints - live in './fixture.ts' and are imported
 * from there directly so that this entry never pulls in node:fs.
 */
export { WeightsError, type WeightsErrorCode } from './errors.ts';
export {
  type DType,
  type DTypeArrayMap,
  type HostTensor,
  type StateDict,
  type TypedHostTensor,
  DTYPES,
  createTensor,
  dtypeSize,
  formatShape,
  isDType,
  isHostTensor,
  numel,
  toFloat32,
} from './tensor.ts';
export { bfloat16BitsToFloat32, float16BitsToFloat32 } from './half.ts';
export { type ByteInput, type ByteSource, bytesSource } from './byte-source.ts';
export {
  type ReadStateDictOptions,
  extractGeneratorStateDict,
  readGeneratorStateDict,
  readStateDict,
  readTorchCheckpoint,
} from './pth.ts';
export {
  type SafetensorsContents,
  readSafetensors,
  readSafetensorsWithMetadata,
  writeSafetensors,
} from './safetensors.ts';
export {
  type StateDictDiff,
  StateDictMismatchError,
  checkStateDict,
  diffStateDict,
  formatStateDictDiff,
  isEmptyDiff,
} from './check.ts';
