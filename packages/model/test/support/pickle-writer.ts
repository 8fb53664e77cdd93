/**
 * A tiny pickle writer emitting the protocol-2 opcodes torch.save and torch.jit.save use, and
 * zips in their layout (fflate's zipSync), for archives the reference fixtures do not cover.
 */
import { type Zippable, zipSync } from 'fflate';

/** Emits the protocol-2 opcodes torch.save uses. */
export class PickleWriter {
  private readonly out: number[] = [0x80, 2];
  private op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  setitems(): this {
    return this.op(0x75);
  }
  reduce(): this {
    return this.op(0x52);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    return this.op(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) */
  tensor(t: { storageType: string; key: string; numel: number; offset: number; size: number[]; stride: number[]; location?: string }): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', t.storageType).str(t.key).str(t.location ?? 'cpu').int(t.numel).tuple().binpersid();
    this.int(t.offset).ints(t.size).ints(t.stride).bool(false).orderedDict();
    return this.tuple().reduce();
  }
  /** Writes a dict: `entries` each push one value. */
  dict(entries: Array<[string, (w: this) => void]>): this {
    this.emptyDict().mark();
    for (const [key, value] of entries) {
      this.str(key);
      value(this);
    }
    return this.setitems();
  }
  newobj(): this {
    return this.op(0x81);
  }
  build(): this {
    return this.op(0x62);
  }
  /**
   * A TorchScript object as torch.jit.save pickles it: the class global, NEWOBJ with no
   * arguments, then BUILD with a dict of every attribute.
   */
  scriptObject(qualifiedName: string, attributes: Array<[string, (w: this) => void]>): this {
    const at = qualifiedName.lastIndexOf('.');
    this.global(qualifiedName.slice(0, at), qualifiedName.slice(at + 1)).emptyTuple().newobj();
    return this.dict(attributes).build();
  }
  bytes(): Uint8Array {
    return new Uint8Array([...this.out, 0x2e]);
  }
}

export interface ArchiveOptions {
  byteorder?: string;
  level?: 0 | 6;
  /** Folder name inside the zip; torch uses the file's stem. */
  name?: string;
  /** More entries, by path under the folder (TorchScript's code/ and constants.pkl). */
  extra?: Record<string, Uint8Array>;
}

export function archive(pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: ArchiveOptions = {}): Uint8Array {
  const level = opts.level ?? 0;
  const name = opts.name ?? 'archive';
  const files: Zippable = { [`${name}/data.pkl`]: [pkl, { level }] };
  for (const [file, data] of Object.entries(opts.extra ?? {})) files[`${name}/${file}`] = [data, { level }];
  if (opts.byteorder) files[`${name}/byteorder`] = [new TextEncoder().encode(opts.byteorder), { level }];
  for (const [key, data] of Object.entries(storages)) files[`${name}/data/${key}`] = [data, { level }];
  files[`${name}/version`] = [new TextEncoder().encode('3\n'), { level }];
  return zipSync(files);
}

