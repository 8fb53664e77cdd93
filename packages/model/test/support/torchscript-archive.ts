/**
 * Writes a state dict as a TorchScript archive the way torch.jit.save lays one out (OpenAI's
 * released CLIP `.pt` files are such archives): a tree of `__torch__` module objects in data.pkl,
 * each with every attribute (training flag, parameters, buffers, plain tensors, submodules),
 * class declarations under code/ that list `__parameters__` and `__buffers__`, a constants.pkl,
 * and one storage per tensor under data/.
 */
import type { HostTensor, StateDict } from '../../src/weights/index.ts';
import { PickleWriter, archive } from './pickle-writer.ts';

export interface ScriptArchiveOptions {
  /** Dotted names of state-dict entries that are buffers rather than parameters. */
  readonly buffers?: ReadonlySet<string>;
  /** Tensor attributes outside the state dict (OpenAI CLIP's `attn_mask`), by dotted name. */
  readonly plain?: ReadonlyMap<string, HostTensor>;
  /** Store float32 tensors as float16, as OpenAI's jit checkpoints do. */
  readonly half?: boolean;
  /** Device string recorded with each storage (OpenAI's files say 'cuda:0'). */
  readonly location?: string;
  /** Omit code/: then nothing says which tensor attributes are parameters. */
  readonly withoutCode?: boolean;
  /** Declare classes the pre-1.6 way, with `__parameters__` but no `__buffers__` line. */
  readonly withoutBuffersList?: boolean;
  /** Folder name inside the zip (torch uses the file's stem). */
  readonly name?: string;
}

interface ModuleNode {
  readonly id: number;
  readonly parameters: Array<[string, HostTensor]>;
  readonly buffers: Array<[string, HostTensor]>;
  readonly plain: Array<[string, HostTensor]>;
  readonly children: Map<string, ModuleNode>;
}

export function scriptModuleArchive(stateDict: StateDict, options: ScriptArchiveOptions = {}): Uint8Array {
  let ids = 0;
  const node = (): ModuleNode => ({ id: ids++, parameters: [], buffers: [], plain: [], children: new Map() });
  const root = node();
  const place = (dotted: string, tensor: HostTensor, kind: 'parameters' | 'buffers' | 'plain') => {
    const parts = dotted.split('.');
    let at = root;
    for (const part of parts.slice(0, -1)) {
      let child = at.children.get(part);
      if (!child) at.children.set(part, (child = node()));
      at = child;
    }
    at[kind].push([parts.at(-1)!, tensor]);
  };
  for (const [key, tensor] of stateDict) place(key, tensor, options.buffers?.has(key) ? 'buffers' : 'parameters');
  for (const [key, tensor] of options.plain ?? []) place(key, tensor, 'plain');

  // Mangled names, as TorchScript gives each specialised class: __torch__.model.___torch_mangle_N.ModuleN
  const qualifier = (n: ModuleNode) => `__torch__.model.___torch_mangle_${n.id}`;
  const className = (n: ModuleNode) => `Module${n.id}`;
  const storages: Record<string, Uint8Array> = {};
  const code: Record<string, Uint8Array> = {};
  const writeTensor = (w: PickleWriter, tensor: HostTensor) => {
    const key = String(Object.keys(storages).length);
    const { storageType, bytes } = storageOf(tensor, options.half ?? false);
    storages[key] = bytes;
    const numel = tensor.shape.reduce((a, b) => a * b, 1);
    w.tensor({ storageType, key, numel, offset: 0, size: [...tensor.shape], stride: contiguousStrides(tensor.shape), location: options.location });
  };
  const writeModule = (w: PickleWriter, n: ModuleNode) => {
    code[`code/${qualifier(n).replaceAll('.', '/')}.py`] = new TextEncoder().encode(declaration(n, className(n), qualifier(n), options));
    const attributes: Array<[string, (w: PickleWriter) => void]> = [['training', (x) => x.bool(false)]];
    for (const [name, t] of [...n.parameters, ...n.buffers, ...n.plain]) attributes.push([name, (x) => writeTensor(x, t)]);
    for (const [name, child] of n.children) attributes.push([name, (x) => writeModule(x, child)]);
    w.scriptObject(`${qualifier(n)}.${className(n)}`, attributes);
  };
  const pickle = new PickleWriter();
  writeModule(pickle, root);
  const extra: Record<string, Uint8Array> = { 'constants.pkl': new PickleWriter().emptyTuple().bytes() };
  if (!options.withoutCode) Object.assign(extra, code);
  return archive(pickle.bytes(), storages, { name: options.name ?? 'ViT-L-14', extra });
}

function declaration(n: ModuleNode, name: string, qualifier: string, options: ScriptArchiveOptions): string {
  const list = (names: string[]) => `[${names.map((x) => `"${x}", `).join('')}]`;
  const lines = [`class ${name}(Module):`, `  __parameters__ = ${list(n.parameters.map(([k]) => k))}`];
  if (!options.withoutBuffersList) lines.push(`  __buffers__ = ${list(n.buffers.map(([k]) => k))}`);
  lines.push('  training : bool');
  for (const [k] of [...n.parameters, ...n.buffers, ...n.plain]) lines.push(`  ${k} : Tensor`);
  for (const [k, child] of n.children) lines.push(`  ${k} : __torch__.model.___torch_mangle_${child.id}.Module${child.id}`);
  lines.push(`  def forward(self: ${qualifier}.${name},`, '    x: Tensor) -> Tensor:', '    return x', '');
  return lines.join('\n');
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i];
  }
  return strides;
}

function storageOf(tensor: HostTensor, half: boolean): { storageType: string; bytes: Uint8Array } {
  const view = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  switch (tensor.dtype) {
    case 'float32':
      return half ? { storageType: 'HalfStorage', bytes: view(Uint16Array.from(tensor.data as Float32Array, float32ToHalfBits)) } : { storageType: 'FloatStorage', bytes: view(tensor.data) };
    case 'int64':
      return { storageType: 'LongStorage', bytes: view(tensor.data) };
    default:
      throw new Error(`scriptModuleArchive: no storage type for ${tensor.dtype}`);
  }
}

/** IEEE binary16 bits of a float32, rounding to nearest even (what `tensor.half()` does). */
export function float32ToHalfBits(value: number): number {
  const bits = new Uint32Array(Float32Array.of(value).buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}
