/**
 * TorchScript archives (torch.jit.save), the format of OpenAI's released CLIP `.pt` files: the
 * reader must return what `module.state_dict()` would, not every tensor it finds.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { textTowerStateDict } from '../src/node/read-weights.ts';
import { type HostTensor, type StateDict, WeightsError, createTensor, readGeneratorStateDict, readStateDict, readTorchCheckpoint, toFloat32 } from '../src/weights/index.ts';
import { PickleWriter, archive } from './support/pickle-writer.ts';
import { scriptModuleArchive } from './support/torchscript-archive.ts';

let counter = 0;
/** A float tensor with distinct, non-round values, so a mixed-up key cannot go unnoticed. */
function tensor(...shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = ++counter;
  return createTensor('float32', shape, Float32Array.from({ length: n }, (_, i) => Math.sin(base * 100 + i) * 0.37));
}
const long = (v: number): HostTensor => createTensor('int64', [], BigInt64Array.of(BigInt(v)));

/** The parameter and buffer layout of OpenAI's CLIP, two text blocks and a stub vision tower. */
function clipLike(): { stateDict: StateDict; buffers: Set<string>; plain: Map<string, HostTensor> } {
  const width = 8;
  const sd: StateDict = new Map([
    ['positional_embedding', tensor(5, width)],
    ['text_projection', tensor(width, 4)],
    ['logit_scale', tensor()],
    ['input_resolution', long(224)],
    ['context_length', long(5)],
    ['vocab_size', long(50)],
    ['visual.conv1.weight', tensor(2, 3, 2, 2)],
  ]);
  const plain = new Map<string, HostTensor>();
  for (const b of [0, 1]) {
    const p = `transformer.resblocks.${b}.`;
    sd.set(`${p}attn.in_proj_weight`, tensor(3 * width, width));
    sd.set(`${p}attn.in_proj_bias`, tensor(3 * width));
    sd.set(`${p}attn.out_proj.weight`, tensor(width, width));
    sd.set(`${p}attn.out_proj.bias`, tensor(width));
    sd.set(`${p}ln_1.weight`, tensor(width));
    sd.set(`${p}ln_1.bias`, tensor(width));
    sd.set(`${p}mlp.c_fc.weight`, tensor(4 * width, width));
    sd.set(`${p}mlp.c_fc.bias`, tensor(4 * width));
    sd.set(`${p}mlp.c_proj.weight`, tensor(width, 4 * width));
    sd.set(`${p}mlp.c_proj.bias`, tensor(width));
    sd.set(`${p}ln_2.weight`, tensor(width));
    sd.set(`${p}ln_2.bias`, tensor(width));
    // The causal mask is a plain tensor attribute of each block, not a parameter or a buffer.
    plain.set(`${p}attn_mask`, createTensor('float32', [5, 5], new Float32Array(25).fill(-Infinity)));
  }
  sd.set('token_embedding.weight', tensor(50, width));
  sd.set('ln_final.weight', tensor(width));
  sd.set('ln_final.bias', tensor(width));
  return { stateDict: sd, buffers: new Set(['input_resolution', 'context_length', 'vocab_size']), plain };
}

/** state_dict() order: each module's parameters, then its buffers, then its submodules. */
function stateDictOrder(keys: Iterable<string>, buffers: ReadonlySet<string>): string[] {
  const all = [...keys];
  const parent = (k: string) => k.slice(0, Math.max(0, k.lastIndexOf('.')));
  const out: string[] = [];
  const visit = (prefix: string) => {
    const own = all.filter((k) => parent(k) === prefix);
    out.push(...own.filter((k) => !buffers.has(k)), ...own.filter((k) => buffers.has(k)));
    const children: string[] = [];
    for (const k of all) {
      if (!(prefix === '' || k.startsWith(`${prefix}.`))) continue;
      const rest = prefix === '' ? k : k.slice(prefix.length + 1);
      const child = rest.includes('.') ? (prefix === '' ? '' : `${prefix}.`) + rest.split('.')[0] : null;
      if (child !== null && !children.includes(child)) children.push(child);
    }
    for (const c of children) visit(c);
  };
  visit('');
  return out;
}

function expectSameTensors(actual: StateDict, expected: StateDict): void {
  for (const [key, t] of expected) {
    const got = actual.get(key);
    expect(got, key).toBeDefined();
    expect(got!.shape, key).toEqual(t.shape);
    expect(got!.dtype, key).toBe(t.dtype);
    expect(Array.from(got!.data as ArrayLike<number | bigint>), key).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
  }
}

describe('TorchScript archives', () => {
  it("read as the module's state dict: parameters and buffers in state_dict order, plain tensor attributes left out", () => {
    const { stateDict, buffers, plain } = clipLike();
    const file = scriptModuleArchive(stateDict, { buffers, plain, location: 'cuda:0' });
    const sd = readStateDict(file);
    expect([...sd.keys()]).toEqual(stateDictOrder(stateDict.keys(), buffers));
    expect([...sd.keys()].some((k) => k.endsWith('attn_mask'))).toBe(false);
    expectSameTensors(sd, stateDict);
    // What convert keeps of it: the text tower alone.
    const text = textTowerStateDict(sd);
    expect([...text.keys()].filter((k) => !k.startsWith('transformer.'))).toEqual(['positional_embedding', 'text_projection', 'token_embedding.weight', 'ln_final.weight', 'ln_final.bias']);
    expect(text.size).toBe(5 + 24);
  });

  it('decode float16 storages (OpenAI ships its jit models in half precision)', () => {
    const { stateDict, buffers, plain } = clipLike();
    const sd = readStateDict(scriptModuleArchive(stateDict, { buffers, plain, half: true }));
    const weight = sd.get('token_embedding.weight')!;
    expect(weight.dtype).toBe('float16');
    const original = stateDict.get('token_embedding.weight')!.data as Float32Array;
    const decoded = toFloat32(weight).data;
    for (let i = 0; i < original.length; i++) {
      // Half precision keeps 11 significant bits; values here are above the subnormal range or tiny.
      expect(Math.abs(decoded[i] - original[i]), `element ${i}`).toBeLessThanOrEqual(Math.max(Math.abs(original[i]) * 2 ** -11, 2 ** -24));
    }
  });

  it('fall back to every tensor attribute when the archive does not say which are parameters', () => {
    const { stateDict, buffers, plain } = clipLike();
    for (const options of [{ withoutCode: true }, { withoutBuffersList: true }]) {
      const sd = readStateDict(scriptModuleArchive(stateDict, { buffers, plain, ...options }));
      expectSameTensors(sd, stateDict);
      expect(sd.has('transformer.resblocks.1.attn_mask'), JSON.stringify(options)).toBe(true);
      expect(sd.size).toBe(stateDict.size + plain.size);
    }
  });

  it('skip objects of non-Module script classes and None parameters', () => {
    const w = new PickleWriter();
    const t = (key: string) => (x: PickleWriter) => x.tensor({ storageType: 'FloatStorage', key, numel: 2, offset: 0, size: [2], stride: [1] });
    w.scriptObject('__torch__.net.Net', [
      ['training', (x) => x.bool(false)],
      ['weight', t('0')],
      ['bias', (x) => x.none()],
      ['helper', (x) => x.scriptObject('__torch__.net.Helper', [['cache', t('1')]])],
      ['lin', (x) => x.scriptObject('__torch__.net.___torch_mangle_7.Linear', [['weight', t('2')], ['training', (y) => y.bool(false)]])],
    ]);
    const code = {
      'code/__torch__/net.py': new TextEncoder().encode(
        [
          'class Net(Module):',
          '  __parameters__ = ["weight", "bias", ]',
          '  __buffers__ = []',
          '  weight : Tensor',
          '  bias : Optional[Tensor]',
          '  helper : __torch__.net.Helper',
          'class Helper:',
          '  cache : Tensor',
          '  def __init__(self: __torch__.net.Helper) -> NoneType:',
          '    return None',
          '',
        ].join('\n'),
      ),
      'code/__torch__/net/___torch_mangle_7.py': new TextEncoder().encode('class Linear(Module):\n  __parameters__ = ["weight", ]\n  __buffers__ = []\n'),
    };
    const storage = (v: number) => new Uint8Array(Float32Array.of(v, -v).buffer);
    const file = archive(w.bytes(), { '0': storage(1), '1': storage(2), '2': storage(3) }, { extra: code, name: 'net' });
    const sd = readStateDict(file);
    expect([...sd.keys()]).toEqual(['weight', 'lin.weight']);
    expect(Array.from(sd.get('lin.weight')!.data as Float32Array)).toEqual([3, -3]);
    // readTorchCheckpoint and the generator reader see the same flat dict.
    expect([...(readTorchCheckpoint(file) as Map<string, unknown>).keys()]).toEqual(['weight', 'lin.weight']);
    expect([...readGeneratorStateDict(file).keys()]).toEqual(['weight', 'lin.weight']);
  });

  it('name the legacy TorchScript format instead of failing obscurely', () => {
    // What torch < 1.4 wrote: model.json + attributes.pkl, tensors under tensors/.
    const legacy = zipSync({ 'old/model.json': new TextEncoder().encode('{}'), 'old/attributes.pkl': new PickleWriter().emptyTuple().bytes() });
    expect(() => readStateDict(legacy)).toThrow(WeightsError);
    expect(() => readStateDict(legacy)).toThrow(/legacy TorchScript file \(PyTorch < 1\.4/);
  });
});
