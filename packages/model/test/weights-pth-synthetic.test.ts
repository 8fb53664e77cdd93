/**
 * torch.save archives built by hand (a tiny pickle writer + fflate's zipSync), to cover what
 * the reference fixtures do not: non-contiguous views, storage offsets, shared storages, every
 * storage dtype, big-endian archives, deflated entries and malformed archives.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import {
  type HostTensor,
  WeightsError,
  extractGeneratorStateDict,
  readGeneratorStateDict,
  readStateDict,
  readTorchCheckpoint,
  toFloat32,
} from '../src/weights/index.ts';
import { PickleWriter, archive } from './support/pickle-writer.ts';

/**
 * A stored zip in zip64 form (sizes/offsets in the zip64 extra field, zip64 end records), the
 * layout PyTorch writes for checkpoints over 4 GiB; fflate cannot write zip64 itself. CRCs are
 * left 0 because the reader does not check them.
 */
function zip64Archive(files: Record<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const chunk = (size: number, fill: (dv: DataView) => void): Uint8Array => {
    const b = new Uint8Array(size);
    fill(new DataView(b.buffer));
    return b;
  };
  const u64 = (dv: DataView, at: number, v: number): void => dv.setBigUint64(at, BigInt(v), true);
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = new TextEncoder().encode(name);
    const local = chunk(30 + nameBytes.length, (dv) => {
      dv.setUint32(0, 0x04034b50, true);
      dv.setUint32(18, data.length, true);
      dv.setUint32(22, data.length, true);
      dv.setUint16(26, nameBytes.length, true);
    });
    local.set(nameBytes, 30);
    central.push(
      (() => {
        const c = chunk(46 + nameBytes.length + 28, (dv) => {
          dv.setUint32(0, 0x02014b50, true);
          dv.setUint16(6, 45, true);
          dv.setUint32(20, 0xffffffff, true);
          dv.setUint32(24, 0xffffffff, true);
          dv.setUint16(28, nameBytes.length, true);
          dv.setUint16(30, 28, true);
          dv.setUint32(42, 0xffffffff, true);
          const x = 46 + nameBytes.length;
          dv.setUint16(x, 1, true);
          dv.setUint16(x + 2, 24, true);
          u64(dv, x + 4, data.length);
          u64(dv, x + 12, data.length);
          u64(dv, x + 20, offset);
        });
        c.set(nameBytes, 46);
        return c;
      })(),
    );
    parts.push(local, data);
    offset += local.length + data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const count = central.length;
  const eocd64 = chunk(56, (dv) => {
    dv.setUint32(0, 0x06064b50, true);
    u64(dv, 4, 44);
    u64(dv, 24, count);
    u64(dv, 32, count);
    u64(dv, 40, cdSize);
    u64(dv, 48, cdOffset);
  });
  const locator = chunk(20, (dv) => {
    dv.setUint32(0, 0x07064b50, true);
    u64(dv, 8, cdOffset + cdSize);
    dv.setUint32(16, 1, true);
  });
  const eocd = chunk(22, (dv) => {
    dv.setUint32(0, 0x06054b50, true);
    dv.setUint16(8, 0xffff, true);
    dv.setUint16(10, 0xffff, true);
    dv.setUint32(12, 0xffffffff, true);
    dv.setUint32(16, 0xffffffff, true);
  });
  return concatBytes([...parts, ...central, eocd64, locator, eocd]);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Naive strided read, the definition materialisation must match. */
function gather(storage: Float32Array, offset: number, size: number[], stride: number[]): number[] {
  const out: number[] = [];
  const walk = (d: number, at: number): void => {
    if (d === size.length) out.push(storage[at]);
    else for (let i = 0; i < size[d]; i++) walk(d + 1, at + i * stride[d]);
  };
  walk(0, offset);
  return out;
}

const iota = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i * 1.5 - 7);

describe('readStateDict on hand-built torch.save archives', () => {
  const storage = iota(24);
  const views: Array<{ name: string; offset: number; size: number[]; stride: number[] }> = [
    { name: 'contiguous', offset: 0, size: [2, 3, 4], stride: [12, 4, 1] },
    { name: 'transposed', offset: 0, size: [4, 6], stride: [1, 4] },
    { name: 'permuted_with_offset', offset: 1, size: [3, 2, 3], stride: [1, 12, 4] },
    { name: 'slice_with_offset', offset: 5, size: [2, 2], stride: [4, 1] },
    { name: 'column', offset: 2, size: [6, 1], stride: [4, 7] },
    { name: 'expanded', offset: 8, size: [3, 4], stride: [0, 1] },
    { name: 'scalar', offset: 23, size: [], stride: [] },
    { name: 'empty', offset: 3, size: [0, 5], stride: [5, 1] },
  ];
  const pkl = new PickleWriter()
    .dict(views.map((v) => [v.name, (w) => w.tensor({ storageType: 'FloatStorage', key: '0', numel: 24, ...v })]))
    .bytes();

  for (const level of [0, 6] as const) {
    it(`materialises strided views of one shared storage (${level === 0 ? 'stored' : 'deflated'} entries)`, () => {
      const sd = readStateDict(archive(pkl, { '0': bytesOf(storage) }, { level }));
      expect([...sd.keys()]).toEqual(views.map((v) => v.name));
      for (const v of views) {
        const t = sd.get(v.name)!;
        expect(t.dtype).toBe('float32');
        expect(t.shape).toEqual(v.size);
        expect(Array.from(t.data as Float32Array), v.name).toEqual(gather(storage, v.offset, v.size, v.stride));
      }
      // Each tensor owns its memory: writing to one view must not leak into another.
      (sd.get('contiguous')!.data as Float32Array)[0] = 1234;
      expect((sd.get('transposed')!.data as Float32Array)[0]).toBe(storage[0]);
    });
  }

  it('decodes every storage dtype', () => {
    const f64 = Float64Array.from([Math.PI, -1e300, 0.5]);
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00]); // 1,-2,65504,2^-24,-0,inf
    const bf16 = Uint16Array.from([0x3f80, 0xc049, 0x0000]); // 1, -3.140625, 0
    const i64 = BigInt64Array.from([-5n, 2n ** 62n + 1n, 0n]);
    const i32 = Int32Array.from([-2147483648, 7]);
    const i16 = Int16Array.from([-300, 300]);
    const i8 = Int8Array.from([-128, 127]);
    const u8 = Uint8Array.from([0, 200, 255]);
    const b = Uint8Array.from([1, 0, 1]);
    const cases: Array<[string, string, ArrayBufferView & { length: number }]> = [
      ['f64', 'DoubleStorage', f64],
      ['f16', 'HalfStorage', f16],
      ['bf16', 'BFloat16Storage', bf16],
      ['i64', 'LongStorage', i64],
      ['i32', 'IntStorage', i32],
      ['i16', 'ShortStorage', i16],
      ['i8', 'CharStorage', i8],
      ['u8', 'ByteStorage', u8],
      ['b', 'BoolStorage', b],
    ];
    const pickle = new PickleWriter()
      .dict(cases.map(([name, type, data]) => [name, (w) => w.tensor({ storageType: type, key: name, numel: data.length, offset: 0, size: [data.length], stride: [1] })]))
      .bytes();
    const sd = readStateDict(archive(pickle, Object.fromEntries(cases.map(([name, , data]) => [name, bytesOf(data)]))));
    const get = (k: string): HostTensor => sd.get(k)!;
    expect(get('f64')).toMatchObject({ dtype: 'float64', data: f64 });
    expect(get('f16').dtype).toBe('float16');
    expect(Array.from(toFloat32(get('f16')).data)).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity]);
    expect(Object.is(toFloat32(get('f16')).data[4], -0)).toBe(true);
    expect(Array.from(toFloat32(get('bf16')).data)).toEqual([1, -3.140625, 0]);
    expect(get('i64')).toMatchObject({ dtype: 'int64', data: i64 });
    expect(get('i32')).toMatchObject({ dtype: 'int32', data: i32 });
    expect(get('i16')).toMatchObject({ dtype: 'int16', data: i16 });
    expect(get('i8')).toMatchObject({ dtype: 'int8', data: i8 });
    expect(get('u8')).toMatchObject({ dtype: 'uint8', data: u8 });
    expect(get('b')).toMatchObject({ dtype: 'bool', data: b });
  });

  it('byte-swaps archives written on big-endian machines', () => {
    const values = Float32Array.from([1.5, -2.25, 3e-5, 6]);
    const be = new Uint8Array(16);
    const dv = new DataView(be.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, false));
    const pickle = new PickleWriter()
      .dict([['t', (w) => w.tensor({ storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, size: [2, 2], stride: [1, 2] })]])
      .bytes();
    const t = readStateDict(archive(pickle, { '0': be }, { byteorder: 'big' })).get('t')!;
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, 3e-5, -2.25, 6].map(Math.fround));
  });

  it('reads zip64 archives (checkpoints over 4 GiB)', () => {
    const pickle = new PickleWriter()
      .dict([['w', (w) => w.tensor({ storageType: 'FloatStorage', key: '0', numel: 3, offset: 0, size: [3], stride: [1] })]])
      .bytes();
    const file = zip64Archive({ 'big/data.pkl': pickle, 'big/data/0': bytesOf(Float32Array.from([7, 8, 9])) });
    expect(Array.from(readStateDict(file).get('w')!.data as Float32Array)).toEqual([7, 8, 9]);
  });

  it('unwraps nn.Parameter and OrderedDict state dicts', () => {
    const w = new PickleWriter();
    w.orderedDict().mark().str('p');
    w.global('torch._utils', '_rebuild_parameter').mark();
    w.tensor({ storageType: 'FloatStorage', key: '0', numel: 2, offset: 0, size: [2], stride: [1] });
    w.bool(true).orderedDict().tuple().reduce();
    w.setitems();
    const sd = readStateDict(archive(w.bytes(), { '0': bytesOf(Float32Array.from([4, 5])) }));
    expect(Array.from(sd.get('p')!.data as Float32Array)).toEqual([4, 5]);
  });
});

describe('selecting the generator state dict', () => {
  const storages = { '0': bytesOf(Float32Array.from([1, 2])), '1': bytesOf(Float32Array.from([3, 4])) };
  const t = (key: string) => (w: PickleWriter) =>
    w.tensor({ storageType: 'FloatStorage', key, numel: 2, offset: 0, size: [2], stride: [1] });
  const sub = (key: string) => (w: PickleWriter) => w.dict([['weight', t(key)]]);

  it('prefers generator_smooth over generator', () => {
    const pkl = new PickleWriter().dict([['generator', sub('0')], ['generator_smooth', sub('1')], ['step', (w) => w.int(7)]]).bytes();
    const file = archive(pkl, storages);
    expect(Array.from(readGeneratorStateDict(file).get('weight')!.data as Float32Array)).toEqual([3, 4]);
    expect(Array.from(extractGeneratorStateDict(readTorchCheckpoint(file)).get('weight')!.data as Float32Array)).toEqual([3, 4]);
  });

  it('falls back to generator, then to a bare state dict', () => {
    const withGenerator = archive(new PickleWriter().dict([['generator', sub('0')], ['discriminator', sub('1')]]).bytes(), storages);
    expect(Array.from(readGeneratorStateDict(withGenerator).get('weight')!.data as Float32Array)).toEqual([1, 2]);
    const bare = archive(new PickleWriter().dict([['a', t('0')], ['b', t('1')]]).bytes(), storages);
    expect([...readGeneratorStateDict(bare).keys()]).toEqual(['a', 'b']);
  });

  it('names the keys it found when there is no generator', () => {
    const pkl = new PickleWriter().dict([['discriminator', sub('0')], ['step', (w) => w.int(7)], ['note', (w) => w.none()]]).bytes();
    const file = archive(pkl, storages);
    for (const read of [() => readGeneratorStateDict(file), () => extractGeneratorStateDict(readTorchCheckpoint(file))]) {
      expect(read).toThrowError(WeightsError);
      expect(read).toThrowError(
        "checkpoint has neither a 'generator_smooth' nor a 'generator' entry and is not itself a state dict; keys found: 'discriminator' (a dict of 1 tensors), 'step' (number 7), 'note' (None)",
      );
    }
  });

  it('reads only the selected tensors', () => {
    // The discriminator uses a storage type we cannot decode: selecting the generator must not touch it.
    const pkl = new PickleWriter()
      .dict([
        ['generator', sub('0')],
        ['discriminator', (w) => w.dict([['weight', (x) => x.tensor({ storageType: 'ComplexFloatStorage', key: '1', numel: 1, offset: 0, size: [1], stride: [1] })]])],
      ])
      .bytes();
    const file = archive(pkl, storages);
    expect(readGeneratorStateDict(file).size).toBe(1);
    expect(() => readTorchCheckpoint(file)).toThrowError('tensor storage type torch.ComplexFloatStorage is not supported');
  });

  it('reports a missing entry path with the keys that exist', () => {
    const file = archive(new PickleWriter().dict([['generator', sub('0')]]).bytes(), storages);
    expect(() => readStateDict(file, { entry: ['generator', 'ema'] })).toThrowError(
      "checkpoint has no entry 'ema' under 'generator'; keys found: 'weight' (a float32 tensor [2])",
    );
    expect([...readStateDict(file, { entry: ['generator'] }).keys()]).toEqual(['weight']);
  });
});

describe('malformed archives give WeightsErrors, not library stack traces', () => {
  const expectError = (bytes: Uint8Array, message: string | RegExp): void => {
    let caught: unknown;
    try {
      readStateDict(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WeightsError);
    expect((caught as Error).message).toMatch(message);
  };

  it('zip without data.pkl', () => {
    expectError(zipSync({ 'readme.txt': new TextEncoder().encode('hi') }), 'zip archive is not a torch.save checkpoint: it has no data.pkl (entries: readme.txt)');
  });

  it('storage entry missing', () => {
    const pkl = new PickleWriter().dict([['w', (w) => w.tensor({ storageType: 'FloatStorage', key: '9', numel: 1, offset: 0, size: [1], stride: [1] })]]).bytes();
    expectError(archive(pkl, {}), 'storage "9" is referenced by data.pkl but archive/data/9 is missing');
  });

  it('view reaching past its storage', () => {
    const pkl = new PickleWriter().dict([['w', (w) => w.tensor({ storageType: 'FloatStorage', key: '0', numel: 4, offset: 2, size: [3], stride: [1] })]]).bytes();
    expectError(archive(pkl, { '0': new Uint8Array(16) }), /reaches past the end of storage "0"/);
  });

  it('garbage pickle', () => {
    expectError(archive(Uint8Array.from([0x80, 2, 0xff, 0xfe]), {}), /archive\/data\.pkl could not be unpickled: Unsupported opcode/);
  });

  it('legacy torch.save format', () => {
    expectError(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]), /legacy \(pre-PyTorch-1\.6\) torch\.save format/);
  });
});
