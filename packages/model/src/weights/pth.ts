/**
 * Reading PyTorch checkpoints (torch.save zip format) into host tensors.
 *
 * Memory: with a Uint8Array input, peak memory is the file plus the tensors returned (each
 * tensor is copied out of the file once). Node 20 cannot hold files over 4 GiB in one typed
 * array, so for the full Aurora checkpoint (~4.7 GB fp32) pass a file-backed ByteSource
 * (fixture.ts `openFileByteSource`): then only the selected tensors are in memory.
 */
import type { ByteInput } from './byte-source.ts';
import { type HostTensor, type StateDict, formatShape, isHostTensor } from './tensor.ts';
import { type LeafKind, collectStateDict, selectEntry, selectGeneratorEntry } from './select.ts';
import { type TorchArchive, TensorRef, isTensorRef, materializeTensor, openTorchArchive } from './torch-archive.ts';

export interface ReadStateDictOptions {
  /**
   * Path of dict keys leading to the state dict, e.g. ['generator_smooth']. Omitted: the saved
   * object itself must be a flat dict of tensors.
   */
  entry?: readonly string[];
}

const lazyLeaf: LeafKind<TensorRef> = {
  is: isTensorRef,
  describe: (ref) => `a ${ref.storage.dtype ?? ref.storage.typeName} tensor ${formatShape(ref.shape)}`,
};

const hostLeaf: LeafKind<HostTensor> = {
  is: isHostTensor,
  describe: (t) => `a ${t.dtype} tensor ${formatShape(t.shape)}`,
};

/**
 * The whole saved object, every tensor materialised. Python dicts/OrderedDicts become Maps,
 * lists and tuples arrays, tensors HostTensors, and instances of other classes inert objects.
 * Prefer readStateDict / readGeneratorStateDict, which read only the tensors they return.
 */
export function readTorchCheckpoint(input: ByteInput): unknown {
  const archive = openTorchArchive(input);
  return materializeTree(archive, archive.root);
}

/** One flat state dict from a checkpoint; only its tensors are read. */
export function readStateDict(input: ByteInput, options: ReadStateDictOptions = {}): StateDict {
  const archive = openTorchArchive(input);
  const path = options.entry ?? [];
  return toStateDict(archive, selectEntry(archive.root, path, lazyLeaf), path);
}

/**
 * The generator state dict of an Aurora checkpoint ('generator_smooth', else 'generator', else
 * a bare state dict), reading only its tensors.
 */
export function readGeneratorStateDict(input: ByteInput): StateDict {
  const archive = openTorchArchive(input);
  const { path, value } = selectGeneratorEntry(archive.root, lazyLeaf);
  return toStateDict(archive, value, path);
}

/** Same rules as readGeneratorStateDict, applied to a tree from readTorchCheckpoint. */
export function extractGeneratorStateDict(checkpoint: unknown): StateDict {
  const { path, value } = selectGeneratorEntry(checkpoint, hostLeaf);
  return collectStateDict(value, path, hostLeaf);
}

function toStateDict(archive: TorchArchive, value: unknown, path: readonly string[]): StateDict {
  const refs = collectStateDict(value, path, lazyLeaf);
  // Views sharing one storage are read separately: each tensor owns exactly its own elements.
  const out: StateDict = new Map();
  for (const [key, ref] of refs) out.set(key, materializeTensor(archive, ref));
  return out;
}

/** Replaces TensorRef leaves in place; shared refs materialise once, cycles are tolerated. */
function materializeTree(archive: TorchArchive, root: unknown): unknown {
  const done = new Map<TensorRef, HostTensor>();
  const seen = new Set<object>();
  const resolve = (value: unknown): unknown => {
    if (value instanceof TensorRef) {
      let tensor = done.get(value);
      if (!tensor) done.set(value, (tensor = materializeTensor(archive, value)));
      return tensor;
    }
    if (typeof value === 'object' && value !== null && !seen.has(value) && !ArrayBuffer.isView(value)) {
      seen.add(value);
      if (value instanceof Map) {
        for (const [k, v] of value) value.set(k, resolve(v));
      } else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) value[i] = resolve(value[i]);
      } else if (value instanceof Set) {
        const items = [...value];
        value.clear();
        for (const item of items) value.add(resolve(item));
      } else {
        const record = value as Record<string, unknown>;
        for (const k of Object.keys(record)) record[k] = resolve(record[k]);
      }
    }
    return value;
  };
  return resolve(root);
}
