/**
 * The torch.save zip format (PyTorch >= 1.6):
 *
 *   <prefix>/data.pkl      pickle of the saved object; tensors refer to storages by
 *                          persistent id ('storage', <torch.XStorage>, key, location, numel)
 *   <prefix>/data/<key>    raw storage bytes, one entry per storage
 *   <prefix>/byteorder     'little' | 'big' (absent before torch 2.0, meaning little)
 *   <prefix>/version ...   ignored
 *
 * Unpickling yields a tree of Maps (dicts, OrderedDicts), arrays (lists, tuples), primitives,
 * opaque objects for unknown classes, and `TensorRef` leaves. A TensorRef only records where
 * its data lives; bytes are read when it is materialised, so selecting one state dict out of a
 * checkpoint that also holds a discriminator and optimiser state reads only that state dict.
 *
 * Unpickling here never executes code from the file: every global resolves to one of the
 * functions registered below or to an inert placeholder object.
 *
 * TorchScript archives (torch.jit.save) share this layout but pickle the module object itself;
 * their root is replaced by the module's state dict (see torchscript.ts), so every reader below
 * sees a dict of tensors either way.
 *
 * pickleparser caveat: in 'Map' dictionary mode its protocol-0/1 DICT opcode assigns properties
 * instead of Map entries. torch.save uses protocol 2 (EMPTY_DICT + SETITEMS), so this only
 * matters for hand-made pickles.
 */
import { NameRegistry, Parser } from 'pickleparser';
import { type ByteInput, toByteSource } from './byte-source.ts';
import { WeightsError } from './errors.ts';
import { materializeStrided, stridedSpan } from './strided.ts';
import { flattenScriptModule, isScriptArchive, readScriptClasses, scriptClassName } from './torchscript.ts';
import { type DType, type HostTensor, dtypeSize, formatShape } from './tensor.ts';
import { type ZipArchive, type ZipEntry, looksLikeZip, openZip, readZipEntry } from './zip.ts';

/** A storage as named in data.pkl. `dtype` is null for storage types we cannot decode. */
export class StorageRef {
  constructor(
    /** Fully qualified, e.g. "torch.FloatStorage". */
    readonly typeName: string,
    readonly dtype: DType | null,
    readonly key: string,
    readonly entry: ZipEntry,
  ) {}
}

/** A tensor view of a storage, not yet read. Offsets and strides are in elements. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

export interface TorchArchive {
  readonly zip: ZipArchive;
  /** Entry-name prefix, e.g. "generator/" (torch uses the file's stem as the folder name). */
  readonly prefix: string;
  readonly bigEndian: boolean;
  /** The unpickled object, with TensorRef leaves; for TorchScript, the module's state dict. */
  readonly root: unknown;
  readonly format: 'torch.save' | 'torchscript';
}

const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

export function openTorchArchive(input: ByteInput): TorchArchive {
  const source = toByteSource(input);
  if (!looksLikeZip(source.read(0, Math.min(4, source.byteLength)))) {
    throw notAZipError(source.read(0, Math.min(16, source.byteLength)), source.byteLength);
  }
  const zip = openZip(source);
  const prefix = findPrefix(zip);
  const byteorderEntry = zip.entries.get(`${prefix}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(readZipEntry(zip, byteorderEntry)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new WeightsError('corrupt', `unknown byteorder "${byteorder}" in the checkpoint`);
  }
  const pkl = zip.entries.get(`${prefix}data.pkl`)!;
  const pickled = unpickle(zip, prefix, readZipEntry(zip, pkl));
  const bigEndian = byteorder === 'big';
  if (isScriptArchive(zip, prefix) && scriptClassName(pickled) !== null) {
    const root = flattenScriptModule(pickled as object, readScriptClasses(zip, prefix), isTensorRef);
    return { zip, prefix, bigEndian, root, format: 'torchscript' };
  }
  return { zip, prefix, bigEndian, root: pickled, format: 'torch.save' };
}

/** Reads one tensor's bytes and returns it dense, row-major and owning its memory. */
export function materializeTensor(archive: TorchArchive, ref: TensorRef): HostTensor {
  const { storage, storageOffset, shape, strides } = ref;
  if (storage.dtype === null) {
    throw new WeightsError('unsupported', `tensor storage type ${storage.typeName} is not supported`, {
      storageType: storage.typeName,
    });
  }
  const size = dtypeSize(storage.dtype);
  const span = stridedSpan(shape, strides);
  const first = storageOffset * size;
  const byteLength = span * size;
  if (first + byteLength > storage.entry.size) {
    throw new WeightsError(
      'corrupt',
      `tensor ${formatShape(shape)} at offset ${storageOffset} with strides ${formatShape(strides)} reaches past the end of storage "${storage.key}" (${storage.entry.size / size} ${storage.dtype} elements)`,
      { storage: storage.key, shape, strides, storageOffset },
    );
  }
  const bytes = readZipEntry(archive.zip, storage.entry, first, byteLength);
  const data = materializeStrided(storage.dtype, bytes, shape, strides, archive.bigEndian);
  return { dtype: storage.dtype, shape: [...shape], data } as HostTensor;
}

function findPrefix(zip: ZipArchive): string {
  const pickles = [...zip.entries.keys()].filter((name) => name === 'data.pkl' || name.endsWith('/data.pkl'));
  // Prefer the canonical "<folder>/data.pkl"; deeper paths appear when an archive was re-zipped.
  const canonical = pickles.filter((name) => name.split('/').length === 2);
  const chosen = canonical.length > 0 ? canonical : pickles;
  if (chosen.length !== 1) {
    const names = [...zip.entries.keys()];
    const sample = names.slice(0, 8).join(', ') + (names.length > 8 ? `, ... (${names.length} entries)` : '');
    throw new WeightsError(
      'bad-format',
      chosen.length === 0
        ? noPickleMessage(names, sample)
        : `zip archive holds several data.pkl files (${chosen.join(', ')}); cannot tell which one is the checkpoint`,
      { entries: names.slice(0, 100) },
    );
  }
  return chosen[0].slice(0, -'data.pkl'.length);
}

function noPickleMessage(names: readonly string[], sample: string): string {
  if (names.some((n) => n === 'model.json' || n.endsWith('/model.json'))) {
    return 'zip archive is a legacy TorchScript file (PyTorch < 1.4, model.json + attributes.pkl), which is not supported; re-save it with a recent PyTorch: torch.jit.save(torch.jit.load(path), new_path)';
  }
  return `zip archive is not a torch.save checkpoint: it has no data.pkl (entries: ${sample || 'none'})`;
}

function unpickle(zip: ZipArchive, prefix: string, pkl: Uint8Array): unknown {
  const storageTypes = new Map<unknown, string>();
  const registry = new NameRegistry();
  for (const typeName of Object.keys(STORAGE_DTYPES)) {
    const marker = function storageType(): never {
      throw new WeightsError('corrupt', `torch.${typeName} is used as a function in data.pkl`);
    };
    storageTypes.set(marker, `torch.${typeName}`);
    registry.register('torch', typeName, marker);
  }
  // Plain functions, not arrows: pickle's NEWOBJ opcode calls globals with `new`.
  registry
    .register('collections', 'OrderedDict', function orderedDict() {
      return new Map<unknown, unknown>();
    })
    .register('torch._utils', '_rebuild_tensor', rebuildTensor)
    .register('torch._utils', '_rebuild_tensor_v2', rebuildTensor)
    .register('torch._utils', '_rebuild_parameter', function rebuildParameter(data: unknown) {
      return data;
    })
    .register('torch._utils', '_rebuild_parameter_with_state', function rebuildParameterWithState(data: unknown) {
      return data;
    })
    .register('torch._tensor', '_rebuild_from_type_v2', function rebuildFromType(func: unknown, _type: unknown, args: unknown) {
      if (typeof func !== 'function' || !Array.isArray(args)) {
        throw new WeightsError('corrupt', 'malformed torch._tensor._rebuild_from_type_v2 call in data.pkl');
      }
      return (func as (...a: unknown[]) => unknown)(...args);
    })
    .register('torch', 'Size', function torchSize(dims: unknown) {
      return Array.isArray(dims) ? [...dims] : dims;
    });

  const parser = new Parser({
    nameResolver: registry,
    // Maps keep non-string keys and insertion order (state dict order matters for reporting).
    unpicklingTypeOfDictionary: 'Map',
    persistentResolver: {
      resolve(pid: unknown): StorageRef {
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 3) {
          throw new WeightsError('corrupt', `unknown persistent id in data.pkl: ${describePid(pid)}`);
        }
        const typeName = storageTypes.get(pid[1]) ?? describeGlobal(pid[1]);
        const key = String(pid[2]);
        const entry = zip.entries.get(`${prefix}data/${key}`);
        if (!entry) {
          throw new WeightsError('corrupt', `storage "${key}" is referenced by data.pkl but ${prefix}data/${key} is missing`, {
            key,
          });
        }
        // Only names registered above are decodable; anything else stays null until used.
        const known = storageTypes.has(pid[1]);
        return new StorageRef(typeName, known ? STORAGE_DTYPES[typeName.slice('torch.'.length)] : null, key, entry);
      },
    },
  });
  try {
    return parser.parse<unknown>(pkl);
  } catch (error) {
    if (error instanceof WeightsError) throw error;
    throw new WeightsError('corrupt', `${prefix}data.pkl could not be unpickled: ${(error as Error).message}`, {}, { cause: error });
  }
}

function rebuildTensor(storage: unknown, storageOffset: unknown, size: unknown, stride: unknown): TensorRef {
  if (
    !(storage instanceof StorageRef) ||
    !Number.isSafeInteger(storageOffset) ||
    !isIntArray(size) ||
    !isIntArray(stride)
  ) {
    throw new WeightsError('corrupt', 'malformed torch._utils._rebuild_tensor call in data.pkl');
  }
  // Validates ranks and signs early so errors point at the pickle, not at a later read.
  stridedSpan(size, stride);
  return new TensorRef(storage, storageOffset as number, size, stride);
}

export function isTensorRef(value: unknown): value is TensorRef {
  return value instanceof TensorRef;
}

function isIntArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v));
}

function describeGlobal(value: unknown): string {
  const proto = (typeof value === 'function' ? value.prototype : undefined) as
    | { __module__?: unknown; __name__?: unknown }
    | undefined;
  return proto?.__name__ !== undefined ? `${String(proto.__module__)}.${String(proto.__name__)}` : String(value);
}

function describePid(pid: unknown): string {
  return Array.isArray(pid) ? `(${pid.map((p) => (typeof p === 'function' ? describeGlobal(p) : String(p))).join(', ')})` : String(pid);
}

function notAZipError(head: Uint8Array, byteLength: number): WeightsError {
  const hex = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  let hint = 'it is not a zip archive';
  if (byteLength === 0) hint = 'the file is empty';
  else if (head[0] === 0x80 && head.length > 1 && head[1] <= 5) {
    hint =
      'it looks like the legacy (pre-PyTorch-1.6) torch.save format, which is not supported; ' +
      're-save it with a recent PyTorch: torch.save(torch.load(path), new_path)';
  } else if (head.length >= 9 && head[8] === 0x7b /* '{' after the 8-byte length */) {
    hint = 'it looks like a safetensors file; read it with readSafetensors';
  }
  return new WeightsError('bad-format', `not a PyTorch checkpoint (torch.save zip format): ${hint} (${byteLength} bytes, starts with ${hex || 'nothing'})`, {
    byteLength,
  });
}
